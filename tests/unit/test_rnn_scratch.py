"""C5W1's RNN, LSTM and GRU step by step (pipelines/scratch/rnn.py) against torch's cells and autograd: values
and gradients through time, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.scratch import rnn

CASES = [(3, 4, 5, 1, 0), (5, 2, 3, 7, 1), (1, 6, 4, 2, 2), (4, 3, 1, 3, 3)]  # n_x, n_a, m, T_x, seed


def unroll(cell, x, h0, c0=None):
    """torch's cell over the steps of x (n_x, m, T) in the course layout; hidden states (n_a, m, T)."""
    hs, h, c = [], h0.T, None if c0 is None else c0.T
    for t in range(x.shape[2]):
        if c is None:
            h = cell(x[:, :, t].T, h)
        else:
            h, c = cell(x[:, :, t].T, (h, c))
        hs.append(h.T)
    return torch.stack(hs, dim=2)


def tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("n_x, n_a, m, t_x, seed", CASES)
def test_rnn_matches_torch_values_and_gradients(n_x, n_a, m, t_x, seed):
    torch.manual_seed(seed)
    cell = torch.nn.RNNCell(n_x, n_a).double()
    rng = np.random.default_rng(seed)
    x, a0, da = rng.normal(size=(n_x, m, t_x)), rng.normal(size=(n_a, m)), rng.normal(size=(n_a, m, t_x))
    p = {"Wax": cell.weight_ih.detach().numpy(), "Waa": cell.weight_hh.detach().numpy(),
         "ba": (cell.bias_ih + cell.bias_hh).detach().numpy()[:, None],
         "Wya": rng.normal(size=(2, n_a)), "by": rng.normal(size=(2, 1))}
    a, y, caches = rnn.rnn_forward(x, a0, p)
    xt, a0t = tensors(x, a0)
    h = unroll(cell, xt, a0t)
    np.testing.assert_allclose(a, h.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.sum(axis=0), 1.0)  # a softmax per example and step
    (h * torch.from_numpy(da)).sum().backward()  # J = sum(a * da): dJ/da_t is da at every step
    grads = rnn.rnn_backward(da, caches)
    for mine, theirs in ((grads["dx"], xt.grad), (grads["da0"], a0t.grad), (grads["dWax"], cell.weight_ih.grad),
                         (grads["dWaa"], cell.weight_hh.grad), (grads["dba"][:, 0], cell.bias_ih.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("n_x, n_a, m, t_x, seed", CASES)
def test_lstm_matches_torch_values_and_gradients(n_x, n_a, m, t_x, seed):
    torch.manual_seed(seed)
    cell = torch.nn.LSTMCell(n_x, n_a).double()
    rng = np.random.default_rng(seed)
    x, a0, da = rng.normal(size=(n_x, m, t_x)), rng.normal(size=(n_a, m)), rng.normal(size=(n_a, m, t_x))
    w_ih, w_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    bias = (cell.bias_ih + cell.bias_hh).detach().numpy()[:, None]
    # torch stacks the gates as input, forget, cell, output
    gate = {g: slice(i * n_a, (i + 1) * n_a) for i, g in enumerate("ifco")}
    p = {f"W{g}": np.concatenate([w_hh[s], w_ih[s]], axis=1) for g, s in gate.items()}  # on [a_prev; x_t]
    p.update({f"b{g}": bias[s] for g, s in gate.items()})
    p.update(Wy=rng.normal(size=(3, n_a)), by=rng.normal(size=(3, 1)))
    a, _, c, caches = rnn.lstm_forward(x, a0, p)
    xt, a0t = tensors(x, a0)
    h = unroll(cell, xt, a0t, torch.zeros(n_a, m, dtype=torch.float64))
    np.testing.assert_allclose(a, h.detach().numpy(), rtol=1e-10, atol=1e-12)
    (h * torch.from_numpy(da)).sum().backward()
    grads = rnn.lstm_backward(da, caches)
    np.testing.assert_allclose(grads["dx"], xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(grads["da0"], a0t.grad.numpy(), rtol=1e-9, atol=1e-11)
    for g, s in gate.items():
        theirs = np.concatenate([cell.weight_hh.grad[s].numpy(), cell.weight_ih.grad[s].numpy()], axis=1)
        np.testing.assert_allclose(grads[f"dW{g}"], theirs, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(grads[f"db{g}"][:, 0], cell.bias_ih.grad[s].numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("n_x, n_a, m, t_x, seed", CASES)
def test_gru_matches_torch_values_and_gradients(n_x, n_a, m, t_x, seed):
    torch.manual_seed(seed)
    cell = torch.nn.GRUCell(n_x, n_a).double()
    rng = np.random.default_rng(seed)
    x, a0, da = rng.normal(size=(n_x, m, t_x)), rng.normal(size=(n_a, m)), rng.normal(size=(n_a, m, t_x))
    w_ih, w_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    b_ih, b_hh = cell.bias_ih.detach().numpy()[:, None], cell.bias_hh.detach().numpy()[:, None]
    r, z, n = (slice(i * n_a, (i + 1) * n_a) for i in range(3))  # torch's order: reset, update, new
    p = {"Wr": np.concatenate([w_hh[r], w_ih[r]], axis=1), "br": b_ih[r] + b_hh[r],
         "Wz": np.concatenate([w_hh[z], w_ih[z]], axis=1), "bz": b_ih[z] + b_hh[z],
         "Wn": w_ih[n], "bn": b_ih[n], "Un": w_hh[n], "bun": b_hh[n]}
    a, caches = rnn.gru_forward(x, a0, p)
    xt, a0t = tensors(x, a0)
    h = unroll(cell, xt, a0t)
    np.testing.assert_allclose(a, h.detach().numpy(), rtol=1e-10, atol=1e-12)
    (h * torch.from_numpy(da)).sum().backward()
    grads = rnn.gru_backward(da, caches)
    wi, wh, bi, bh = cell.weight_ih.grad.numpy(), cell.weight_hh.grad.numpy(), cell.bias_ih.grad.numpy(), \
        cell.bias_hh.grad.numpy()
    expected = {"dx": xt.grad.numpy(), "da0": a0t.grad.numpy(),
                "dWr": np.concatenate([wh[r], wi[r]], axis=1), "dbr": bi[r][:, None],
                "dWz": np.concatenate([wh[z], wi[z]], axis=1), "dbz": bi[z][:, None],
                "dWn": wi[n], "dbn": bi[n][:, None], "dUn": wh[n], "dbun": bh[n][:, None]}
    for key, theirs in expected.items():
        np.testing.assert_allclose(grads[key], theirs, rtol=1e-9, atol=1e-11, err_msg=key)


def test_a_wrong_gradient_is_caught():
    """The comparison can fail: a 1 % error in one recurrent weight's gradient is far outside the tolerance."""
    rng = np.random.default_rng(0)
    p = {"Wax": rng.normal(size=(3, 2)), "Waa": rng.normal(size=(3, 3)), "ba": rng.normal(size=(3, 1)),
         "Wya": rng.normal(size=(2, 3)), "by": rng.normal(size=(2, 1))}
    x, a0, da = rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4, 3))
    good = rnn.rnn_backward(da, rnn.rnn_forward(x, a0, p)[2])["dWaa"]
    eps, numeric = 1e-6, np.zeros_like(p["Waa"])
    for idx in np.ndindex(p["Waa"].shape):  # two-sided differences of J = sum(a * da)
        for sign in (1, -1):
            q = {k: v.copy() for k, v in p.items()}
            q["Waa"][idx] += sign * eps
            numeric[idx] += sign * (rnn.rnn_forward(x, a0, q)[0] * da).sum() / (2 * eps)
    np.testing.assert_allclose(good, numeric, rtol=1e-6, atol=1e-8)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(good * 1.01, numeric, rtol=1e-6, atol=1e-8)
