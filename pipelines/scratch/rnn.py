"""Course 5 week 1's "Building your Recurrent Neural Network, step by step" in numpy: the RNN, LSTM and GRU cells
and their forward and backward passes through time, in the course's layout (columns are examples: ``x`` is
``(n_x, m, T_x)``, hidden states ``(n_a, m, T_x)``). ``tests/unit/test_rnn_scratch.py`` checks every value and
gradient against ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` and autograd.

    a, y, caches = rnn_forward(x, a0, params)            # params: Wax, Waa, Wya, ba, by
    grads = rnn_backward(da, caches)                     # da: dJ/da at every step (n_a, m, T_x)
    a, y, c, caches = lstm_forward(x, a0, params)        # params: Wf, bf, Wi, bi, Wc, bc, Wo, bo, Wy, by
    grads = lstm_backward(da, caches)
    a, caches = gru_forward(x, a0, params)               # params: Wr, br, Wz, bz, Wn, bn, Un, bun
    grads = gru_backward(da, caches)

The LSTM's gates act on ``[a_prev; x_t]`` stacked, as the course writes them. The GRU is torch's (Cho et al. 2014
with the reset gate applied after the recurrent product): ``r, z = sigmoid(W [a_prev; x] + b)``,
``n = tanh(Wn x + bn + r * (Un a_prev + bun))``, ``a = (1 - z) * n + z * a_prev``; the course's lecture GRU
differs only in where the reset gate sits.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over rows (axis 0: the classes of each example's column)."""
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# --- RNN --------------------------------------------------------------------------------------------------
def rnn_cell_forward(xt, a_prev, p):
    """a_next = tanh(Waa a_prev + Wax x_t + ba), y_t = softmax(Wya a_next + by)."""
    a_next = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ xt + p["ba"])
    yt = softmax(p["Wya"] @ a_next + p["by"])
    return a_next, yt, (a_next, a_prev, xt, p)


def rnn_forward(x, a0, p):
    n_a, (_, m, t_x) = a0.shape[0], x.shape
    a = np.zeros((n_a, m, t_x))
    y = np.zeros((p["Wya"].shape[0], m, t_x))
    caches, a_next = [], a0
    for t in range(t_x):
        a_next, y[:, :, t], cache = rnn_cell_forward(x[:, :, t], a_next, p)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, y, (caches, x)


def rnn_cell_backward(da_next, cache):
    """Gradients of one step given dJ/da_next (the output layer's gradient is added by the caller)."""
    a_next, a_prev, xt, p = cache
    dz = da_next * (1 - a_next ** 2)
    return {"dxt": p["Wax"].T @ dz, "da_prev": p["Waa"].T @ dz, "dWax": dz @ xt.T, "dWaa": dz @ a_prev.T,
            "dba": dz.sum(axis=1, keepdims=True)}


def rnn_backward(da, caches):
    """Backpropagation through time: ``da`` (n_a, m, T_x) is dJ/da_t from above at each step; returns dx, da0
    and the weights' gradients."""
    caches, x = caches
    a1, _, x1, p = caches[0]
    (n_a, m), (n_x, _, t_x) = a1.shape, x.shape
    grads = {"dx": np.zeros((n_x, m, t_x)), "dWax": np.zeros_like(p["Wax"]), "dWaa": np.zeros_like(p["Waa"]),
             "dba": np.zeros_like(p["ba"])}
    da_prev = np.zeros((n_a, m))
    for t in reversed(range(t_x)):
        step = rnn_cell_backward(da[:, :, t] + da_prev, caches[t])
        grads["dx"][:, :, t], da_prev = step["dxt"], step["da_prev"]
        for k in ("dWax", "dWaa", "dba"):
            grads[k] += step[k]
    grads["da0"] = da_prev
    return grads


# --- LSTM -------------------------------------------------------------------------------------------------
def lstm_cell_forward(xt, a_prev, c_prev, p):
    """The course's LSTM cell: forget, update (input) and output gates and the candidate, on [a_prev; x_t]."""
    concat = np.concatenate([a_prev, xt], axis=0)
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    a_next = ot * np.tanh(c_next)
    yt = softmax(p["Wy"] @ a_next + p["by"])
    return a_next, c_next, yt, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p)


def lstm_forward(x, a0, p):
    n_a, (_, m, t_x) = a0.shape[0], x.shape
    a, c = np.zeros((n_a, m, t_x)), np.zeros((n_a, m, t_x))
    y = np.zeros((p["Wy"].shape[0], m, t_x))
    caches, a_next, c_next = [], a0, np.zeros_like(a0)
    for t in range(t_x):
        a_next, c_next, y[:, :, t], cache = lstm_cell_forward(x[:, :, t], a_next, c_next, p)
        a[:, :, t], c[:, :, t] = a_next, c_next
        caches.append(cache)
    return a, y, c, (caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dot = da_next * tanh_c * ot * (1 - ot)
    dc = dc_next + da_next * ot * (1 - tanh_c ** 2)
    dcct = dc * it * (1 - cct ** 2)
    dit = dc * cct * it * (1 - it)
    dft = dc * c_prev * ft * (1 - ft)
    concat = np.concatenate([a_prev, xt], axis=0)
    out = {f"dW{g}": d @ concat.T for g, d in (("f", dft), ("i", dit), ("c", dcct), ("o", dot))}
    out.update({f"db{g}": d.sum(axis=1, keepdims=True) for g, d in (("f", dft), ("i", dit), ("c", dcct), ("o", dot))})
    dconcat = p["Wf"].T @ dft + p["Wi"].T @ dit + p["Wc"].T @ dcct + p["Wo"].T @ dot
    out.update(da_prev=dconcat[:n_a], dxt=dconcat[n_a:], dc_prev=dc * ft)
    return out


def lstm_backward(da, caches):
    """Backpropagation through time for the LSTM: ``da`` (n_a, m, T_x) is dJ/da_t from above at each step."""
    caches, x = caches
    a1, p = caches[0][0], caches[0][-1]
    (n_a, m), (n_x, _, t_x) = a1.shape, x.shape
    grads = {"dx": np.zeros((n_x, m, t_x)), **{f"dW{g}": np.zeros_like(p[f"W{g}"]) for g in "fico"},
             **{f"db{g}": np.zeros_like(p[f"b{g}"]) for g in "fico"}}
    da_prev, dc_prev = np.zeros((n_a, m)), np.zeros((n_a, m))
    for t in reversed(range(t_x)):
        step = lstm_cell_backward(da[:, :, t] + da_prev, dc_prev, caches[t])
        grads["dx"][:, :, t], da_prev, dc_prev = step["dxt"], step["da_prev"], step["dc_prev"]
        for g in "fico":
            grads[f"dW{g}"] += step[f"dW{g}"]
            grads[f"db{g}"] += step[f"db{g}"]
    grads["da0"] = da_prev
    return grads


# --- GRU --------------------------------------------------------------------------------------------------
def gru_cell_forward(xt, a_prev, p):
    concat = np.concatenate([a_prev, xt], axis=0)
    rt = sigmoid(p["Wr"] @ concat + p["br"])
    zt = sigmoid(p["Wz"] @ concat + p["bz"])
    hn = p["Un"] @ a_prev + p["bun"]  # the recurrent part of the candidate, gated by r after the product
    nt = np.tanh(p["Wn"] @ xt + p["bn"] + rt * hn)
    a_next = (1 - zt) * nt + zt * a_prev
    return a_next, (a_prev, xt, rt, zt, nt, hn, p)


def gru_forward(x, a0, p):
    n_a, (_, m, t_x) = a0.shape[0], x.shape
    a = np.zeros((n_a, m, t_x))
    caches, a_next = [], a0
    for t in range(t_x):
        a_next, cache = gru_cell_forward(x[:, :, t], a_next, p)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, (caches, x)


def gru_cell_backward(da_next, cache):
    a_prev, xt, rt, zt, nt, hn, p = cache
    n_a = a_prev.shape[0]
    dn = da_next * (1 - zt) * (1 - nt ** 2)  # through the candidate's tanh
    dz = da_next * (a_prev - nt) * zt * (1 - zt)
    dr = dn * hn * rt * (1 - rt)
    dhn = dn * rt
    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = p["Wr"].T @ dr + p["Wz"].T @ dz
    return {"dWr": dr @ concat.T, "dbr": dr.sum(axis=1, keepdims=True), "dWz": dz @ concat.T,
            "dbz": dz.sum(axis=1, keepdims=True), "dWn": dn @ xt.T, "dbn": dn.sum(axis=1, keepdims=True),
            "dUn": dhn @ a_prev.T, "dbun": dhn.sum(axis=1, keepdims=True),
            "da_prev": da_next * zt + p["Un"].T @ dhn + dconcat[:n_a], "dxt": p["Wn"].T @ dn + dconcat[n_a:]}


GRU_WEIGHTS = ("Wr", "br", "Wz", "bz", "Wn", "bn", "Un", "bun")


def gru_backward(da, caches):
    """Backpropagation through time for the GRU: ``da`` (n_a, m, T_x) is dJ/da_t from above at each step."""
    caches, x = caches
    a_prev0, p = caches[0][0], caches[0][-1]
    (n_a, m), (n_x, _, t_x) = a_prev0.shape, x.shape
    grads = {"dx": np.zeros((n_x, m, t_x)), **{f"d{k}": np.zeros_like(p[k]) for k in GRU_WEIGHTS}}
    da_prev = np.zeros((n_a, m))
    for t in reversed(range(t_x)):
        step = gru_cell_backward(da[:, :, t] + da_prev, caches[t])
        grads["dx"][:, :, t], da_prev = step["dxt"], step["da_prev"]
        for k in GRU_WEIGHTS:
            grads[f"d{k}"] += step[f"d{k}"]
    grads["da0"] = da_prev
    return grads
