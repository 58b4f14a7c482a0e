"""The numpy convolution and pooling (pipelines/scratch/conv.py) against torch: values and gradients.

    python -m pytest -q tests/unit/test_conv_scratch.py
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipelines.scratch import conv


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_(True)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize("shape, f, c_out, stride, pad", [
    ((2, 5, 7, 3), 3, 4, 1, 0),
    ((2, 5, 7, 3), 3, 4, 2, 1),
    ((3, 8, 6, 2), 2, 5, 2, 0),
    ((1, 9, 9, 1), 4, 2, 3, 2),
    ((2, 4, 4, 3), 1, 3, 1, 0),
])
def test_conv_matches_torch_values_and_gradients(shape, f, c_out, stride, pad):
    rng = np.random.default_rng(sum(shape) + f + stride + pad)
    A = rng.normal(size=shape)
    W = rng.normal(size=(f, f, shape[3], c_out))
    b = rng.normal(size=(1, 1, 1, c_out))
    Z, cache = conv.conv_forward(A, W, b, stride=stride, pad=pad)
    a, w = nchw(A), torch.from_numpy(np.ascontiguousarray(W.transpose(3, 2, 0, 1))).requires_grad_(True)
    bias = torch.from_numpy(b.reshape(-1).copy()).requires_grad_(True)
    z = F.conv2d(a, w, bias, stride=stride, padding=pad)
    np.testing.assert_allclose(Z, nhwc(z), rtol=1e-10, atol=1e-10)
    assert Z.shape[1:3] == (conv.output_size(shape[1], f, stride, pad), conv.output_size(shape[2], f, stride, pad))

    dZ = rng.normal(size=Z.shape)
    dA, dW, db = conv.conv_backward(dZ, cache)
    z.backward(nchw(dZ).detach())
    np.testing.assert_allclose(dA, nhwc(a.grad), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dW, w.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, bias.grad.numpy().reshape(b.shape), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode, f, stride", [("max", 2, 2), ("max", 3, 1), ("average", 2, 2), ("average", 3, 2),
                                             ("max", 3, 2)])
def test_pooling_matches_torch_values_and_gradients(mode, f, stride):
    rng = np.random.default_rng(f * 10 + stride)
    A = rng.normal(size=(2, 7, 6, 3))
    out, cache = conv.pool_forward(A, f, stride, mode)
    a = nchw(A)
    t = F.max_pool2d(a, f, stride) if mode == "max" else F.avg_pool2d(a, f, stride)
    np.testing.assert_allclose(out, nhwc(t), rtol=1e-12)
    dA = rng.normal(size=out.shape)
    t.backward(nchw(dA).detach())
    np.testing.assert_allclose(conv.pool_backward(dA, cache), nhwc(a.grad), rtol=1e-12, atol=1e-12)


def test_max_pooling_sends_a_tied_gradient_to_one_maximum_as_torch_does():
    A = np.ones((1, 2, 2, 1))
    out, cache = conv.pool_forward(A, 2, 2, "max")
    a = nchw(A)
    F.max_pool2d(a, 2, 2).backward(torch.ones(1, 1, 1, 1, dtype=torch.float64))
    np.testing.assert_array_equal(conv.pool_backward(np.ones_like(out), cache), nhwc(a.grad))
    assert conv.pool_backward(np.ones_like(out), cache).sum() == 1


def test_output_size_formula_and_errors():
    assert conv.output_size(5, 3) == 3 and conv.output_size(5, 3, stride=2, pad=1) == 3
    assert conv.output_size(7, 2, stride=2) == 3  # the floor: the last column is left out
    with pytest.raises(ValueError, match="does not fit"):
        conv.output_size(2, 5)
    with pytest.raises(ValueError, match="stride"):
        conv.output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_forward(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 1)), np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="pooling mode"):
        conv.pool_forward(np.zeros((1, 4, 4, 1)), 2, 2, "median")


def test_zero_pad_pads_height_and_width_only():
    X = np.arange(2 * 3 * 3 * 2, dtype=float).reshape(2, 3, 3, 2)
    P = conv.zero_pad(X, 2)
    assert P.shape == (2, 7, 7, 2) and P[:, :2].sum() == 0 and P[:, :, -2:].sum() == 0
    np.testing.assert_array_equal(P[:, 2:5, 2:5], X)
