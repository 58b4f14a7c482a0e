"""The from-scratch numpy networks and optimizers against torch autograd (values and gradients, float64) and
by gradient checking (C2W1: relative difference < 1e-7 at epsilon = 1e-7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.scratch import network as nn
from pipelines.scratch import optimizers
from pipelines.scratch.gradcheck import gradient_check

# (name, layer dims, hidden, output, L2 lambda, keep_prob): Course 1's three networks, Course 2's
# regularized ones and a softmax output
CASES = [
    ("logistic_regression", [5, 1], "relu", "sigmoid", 0.0, 1.0),
    ("one_hidden_layer_tanh", [3, 4, 1], "tanh", "sigmoid", 0.0, 1.0),
    ("l_layer_relu", [6, 5, 4, 1], "relu", "sigmoid", 0.0, 1.0),
    ("l_layer_l2", [6, 5, 4, 1], "relu", "sigmoid", 0.7, 1.0),
    ("l_layer_dropout", [6, 5, 4, 1], "relu", "sigmoid", 0.0, 0.8),
    ("softmax_output", [4, 6, 3], "tanh", "softmax", 0.1, 1.0),
]


def case_data(dims, output, seed=0, m=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    if output == "sigmoid":
        Y = (rng.random((1, m)) > 0.5).astype(float)
    else:
        Y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], m)]
    params = nn.initialize(dims, "xavier", seed=seed)
    for key in params:  # non-zero biases, so their gradients are tested too
        if key.startswith("b"):
            params[key] = rng.standard_normal(params[key].shape) * 0.1
    return X, Y, params


def run(params, X, Y, hidden, output, lambd, keep_prob):
    rng = np.random.default_rng(123) if keep_prob < 1 else None
    AL, caches = nn.forward(params, X, hidden, output, keep_prob, rng)
    return AL, caches, nn.cost(AL, Y, params, lambd)


def torch_cost(params, X, Y, caches, hidden, output, lambd, keep_prob):
    """The same network in torch: its cost and autograd gradients (dropout masks taken from ``caches``)."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    A, L, m = torch.tensor(X), len(params) // 2, X.shape[1]
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[hidden]
    for layer in range(1, L + 1):
        Z = t[f"W{layer}"] @ A + t[f"b{layer}"]
        if layer < L:
            A = act(Z)
            mask = caches[layer - 1][3]
            if mask is not None:
                A = A * torch.tensor(mask, dtype=torch.float64) / keep_prob
        else:
            A = torch.sigmoid(Z) if output == "sigmoid" else torch.softmax(Z, dim=0)
    Yt = torch.tensor(Y)
    if output == "sigmoid":
        cost = -(Yt * torch.log(A + 1e-12) + (1 - Yt) * torch.log(1 - A + 1e-12)).sum() / m
    else:
        cost = -(Yt * torch.log(A + 1e-12)).sum() / m
    cost = cost + lambd / (2 * m) * sum((t[f"W{i}"] ** 2).sum() for i in range(1, L + 1))
    cost.backward()
    return float(cost.detach()), {f"d{k}": v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("name, dims, hidden, output, lambd, keep_prob", CASES, ids=[c[0] for c in CASES])
def test_forward_cost_and_backward_match_torch_autograd(name, dims, hidden, output, lambd, keep_prob):
    X, Y, params = case_data(dims, output)
    AL, caches, cost = run(params, X, Y, hidden, output, lambd, keep_prob)
    grads = nn.backward(AL, Y, caches, params, hidden, lambd, keep_prob)
    expected_cost, expected = torch_cost(params, X, Y, caches, hidden, output, lambd, keep_prob)
    assert cost == pytest.approx(expected_cost, rel=1e-12)
    assert sorted(grads) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("name, dims, hidden, output, lambd, keep_prob", CASES, ids=[c[0] for c in CASES])
def test_gradient_check(name, dims, hidden, output, lambd, keep_prob):
    X, Y, params = case_data(dims, output, seed=1)
    AL, caches, _ = run(params, X, Y, hidden, output, lambd, keep_prob)
    grads = nn.backward(AL, Y, caches, params, hidden, lambd, keep_prob)
    difference = gradient_check(lambda p: run(p, X, Y, hidden, output, lambd, keep_prob)[2], params, grads)
    assert difference < 1e-7


def test_gradient_check_catches_a_wrong_gradient():
    X, Y, params = case_data([3, 4, 1], "sigmoid")
    AL, caches, _ = run(params, X, Y, "tanh", "sigmoid", 0.0, 1.0)
    grads = nn.backward(AL, Y, caches, params, "tanh")
    grads["dW1"] = grads["dW1"] * 1.05  # 5 % off in one layer
    assert gradient_check(lambda p: run(p, X, Y, "tanh", "sigmoid", 0.0, 1.0)[2], params, grads) > 1e-3


def test_initializations():
    assert all(not v.any() for v in nn.initialize([4, 3, 1], "zeros").values())
    he = nn.initialize([1000, 400], "he", seed=3)["W1"]
    assert he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert nn.initialize([1000, 400], "random", seed=3, scale=10)["W1"].std() == pytest.approx(10, rel=0.02)
    assert nn.initialize([2, 3], "he", seed=5)["W1"].tolist() == nn.initialize([2, 3], "he", seed=5)["W1"].tolist()
    with pytest.raises(ValueError, match="choose one of"):
        nn.initialize([2, 1], "orthogonal")


def descend(opt_name, torch_cls=None, steps=6, **settings):
    """Six updates of the same parameters with the same gradient sequence, numpy and (if given) torch."""
    rng = np.random.default_rng(4)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal((3, 1))}
    grads = [{f"d{k}": rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(steps)]
    ours = {k: v.copy() for k, v in params.items()}
    opt = optimizers.make(opt_name, ours, **settings)
    for g in grads:
        opt.update(ours, g)
    if torch_cls is None:
        return params, grads, ours, None
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    topt = torch_cls(list(t.values()))
    for g in grads:
        for k, v in t.items():
            v.grad = torch.tensor(g[f"d{k}"])
        topt.step()
    return params, grads, ours, {k: v.detach().numpy() for k, v in t.items()}


def test_adam_matches_torch_adam():
    _, _, ours, theirs = descend("adam", lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
                                 lr=0.01)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-14)


def test_rmsprop_matches_torch_rmsprop():
    _, _, ours, theirs = descend("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8),
                                 lr=0.01, beta2=0.99)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-14)


def test_gradient_descent_and_momentum_follow_their_formulas():
    params, grads, ours, _ = descend("gd", lr=0.1)
    for k in params:
        np.testing.assert_allclose(ours[k], params[k] - 0.1 * sum(g[f"d{k}"] for g in grads))
    # momentum (the course's exponentially weighted form, v starting at 0): v_t = sum (1-b) b^(t-i) g_i
    params, grads, ours, _ = descend("momentum", lr=0.1, beta=0.9)
    for k in params:
        v, expected = np.zeros_like(params[k]), params[k].copy()
        for g in grads:
            v = 0.9 * v + 0.1 * g[f"d{k}"]
            expected -= 0.1 * v
        np.testing.assert_allclose(ours[k], expected, rtol=1e-12)
    # torch's SGD momentum with dampening = beta is the same recursion except at its first step (v = g there)
    with pytest.raises(ValueError, match="choose one of"):
        optimizers.make("lion", {}, lr=0.1)


def test_learning_rate_decay_is_the_course_s():
    assert optimizers.decayed_lr(0.5, 2, decay_rate=1) == pytest.approx(0.5 / 3)
    assert optimizers.decayed_lr(0.5, 100, decay_rate=1, time_interval=1000) == 0.5
    assert optimizers.decayed_lr(0.5, 2500, decay_rate=0.3, time_interval=1000) == pytest.approx(0.5 / 1.6)


def test_predict_shapes():
    X, Y, params = case_data([4, 6, 3], "softmax")
    assert nn.predict(params, X, "tanh", "softmax").shape == (7,)
    X, Y, params = case_data([5, 1], "sigmoid")
    assert set(np.unique(nn.predict(params, X))) <= {0, 1}
