"""NumPy reference of recurrent cells with hand-derived backpropagation through time (BPTT).

This module is the project's independent oracle: pure NumPy, no autograd, no torch. Every line of the
forward pass implements one equation of the cell; every line of the backward pass applies the chain
rule to exactly one of those equations, in reverse order. See ``docs/bptt.md`` for the derivation.

Notation (all arrays are row-major batches, as in PyTorch):

    T  sequence length      B  batch size      I  input size
    H  hidden size          K  number of classes (output size)
    G  gates per cell: 1 (rnn, rnn-relu), 4 (lstm: i, f, g, o), 3 (gru, gru-reset-before: r, z, n)

Parameters use exactly PyTorch's layout, so ``torch.nn.RNNCell/LSTMCell/GRUCell`` weights map 1:1:

    weight_ih (G*H, I)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)
    weight_out (K, H)    bias_out (K,)        (the lecture's U and b_y: y_hat_t = softmax(U h_t + b_y))

The gate blocks are stacked along the first axis of ``weight_ih``/``weight_hh``/biases in the order above.
For a gradient ``dX`` we always mean dL/dX, an array of the same shape as ``X``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

CELLS: tuple[str, ...] = ("rnn", "rnn-relu", "lstm", "gru", "gru-reset-before", "lstm-layernorm")
_GATES = {"rnn": 1, "rnn-relu": 1, "lstm": 4, "gru": 3, "gru-reset-before": 3, "lstm-layernorm": 4}
_WITH_C = ("lstm", "lstm-layernorm")  # cells whose state is (h, c)
PARAM_KEYS: tuple[str, ...] = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out")
# The LayerNorm-LSTM's gains and shift (name, size in units of H), as in rnnkit.nn.cells.LayerNormLSTMCell.
LN_KEYS: tuple[tuple[str, int], ...] = (("ln_weight_ih", 4), ("ln_weight_hh", 4), ("ln_weight_c", 1), ("ln_bias_c", 1))
LN_EPS = 1e-5

Params = dict[str, np.ndarray]


def _check_cell(cell: str) -> None:
    if cell not in _GATES:
        raise ValueError(f"unknown cell {cell!r}; valid cells are: {', '.join(map(repr, CELLS))}")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function: never evaluates exp of a positive number."""
    e = np.exp(-np.abs(a))  # in (0, 1]
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, via the shifted log-sum-exp: z - m - log(sum(exp(z - m)))."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    output_size: int,
    rng: np.random.Generator,
    dtype: Any = np.float64,
) -> Params:
    """PyTorch-style init: every entry ~ U(-1/sqrt(H), 1/sqrt(H)), also the output layer (fan-in H).

    Shapes: weight_ih (G*H, I), weight_hh (G*H, H), bias_ih/bias_hh (G*H,), weight_out (K, H), bias_out (K,).
    """
    _check_cell(cell)
    gh, bound = _GATES[cell] * hidden_size, 1.0 / np.sqrt(hidden_size)
    shapes = {
        "weight_ih": (gh, input_size),
        "weight_hh": (gh, hidden_size),
        "bias_ih": (gh,),
        "bias_hh": (gh,),
        "weight_out": (output_size, hidden_size),
        "bias_out": (output_size,),
    }
    params = {k: rng.uniform(-bound, bound, size=s).astype(dtype) for k, s in shapes.items()}
    if cell == "lstm-layernorm":  # gains U(0.5, 1.5), shift U(-1/sqrt(H), 1/sqrt(H)): values a test can see
        for key, units in LN_KEYS:
            low, high = (-bound, bound) if key == "ln_bias_c" else (0.5, 1.5)
            params[key] = rng.uniform(low, high, size=(units * hidden_size,)).astype(dtype)
    return params


# ---------------------------------------------------------------------------------------------------------
# One time step of each cell. Forward: (ax, h, c, p) -> (h_t, c_t, step_cache), where
# ax = x_t W_ih^T + b_ih (B, G*H) is the input projection, computed for all t at once by the caller.
# Backward: (dh, dc, step_cache, p, grads) -> (dax, dh_prev, dc_prev), where dh = dL/dh_t (total, both
# contributions), dc = dL/dc_t coming from step t+1 (lstm only), dax = dL/d(ax) (B, G*H). The recurrent
# parameter gradients (weight_hh, bias_hh) are accumulated into ``grads`` in place.
# ---------------------------------------------------------------------------------------------------------


def _elman_step(ax, h, c, p, relu):
    """Elman step: h_t = phi(a_t), phi = tanh or relu. ax (B, H), h (B, H) -> h_t (B, H)."""
    a = ax + h @ p["weight_hh"].T + p["bias_hh"]  # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh   (B, H)
    h_new = np.maximum(a, 0.0) if relu else np.tanh(a)  # h_t = phi(a_t)
    return h_new, None, (h, a, h_new)


def _elman_back(dh, dc, cache, p, grads, relu):
    """Backward of h_t = phi(a_t). dh (B, H) -> dax (B, H), dh_prev (B, H)."""
    h, a, h_new = cache
    # phi'(a): relu' = 1[a > 0] (0 at a == 0, as torch); tanh' = 1 - tanh^2 = 1 - h_t^2
    da = dh * (a > 0) if relu else dh * (1.0 - h_new**2)  # dL/da_t = dL/dh_t * phi'(a_t)
    grads["weight_hh"] += da.T @ h  # a_t is linear in W_hh:  dW_hh += da_t^T h_{t-1}
    grads["bias_hh"] += da.sum(axis=0)  # db_hh += sum over batch of da_t
    # ax enters a_t with coefficient 1, so dax = da_t; and dh_{t-1} = da_t W_hh
    return da, da @ p["weight_hh"], None


def _lstm_step(ax, h, c, p):
    """LSTM step. ax (B, 4H), h, c (B, H) -> h_t, c_t (B, H). Gate blocks in order i, f, g, o."""
    a = ax + h @ p["weight_hh"].T + p["bias_hh"]  # pre-activations of the 4 gates   (B, 4H)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)  # input, forget, cell, output gate
    c_new = f * c + i * g  # c_t = f * c_{t-1} + i * g
    tc = np.tanh(c_new)
    h_new = o * tc  # h_t = o * tanh(c_t)
    return h_new, c_new, (h, c, i, f, g, o, tc)


def _lstm_back(dh, dc, cache, p, grads):
    """dh = dL/dh_t, dc = dL/dc_t via step t+1 (B, H) -> dax (B, 4H), dL/dh_{t-1}, dL/dc_{t-1} (B, H)."""
    h, c, i, f, g, o, tc = cache
    do = dh * tc  # h_t = o * tanh(c_t)  =>  dL/do = dh * tanh(c_t)
    # c_t reaches the loss through h_t (this step) and through c_{t+1} = f_{t+1} c_t + ... (``dc``, from t+1)
    dc_t = dc + dh * o * (1.0 - tc**2)
    di, dg, df = dc_t * g, dc_t * i, dc_t * c  # c_t = f c_{t-1} + i g
    dc_prev = dc_t * f  # dL/dc_{t-1} via c_t (its path through h_{t-1} is added by step t-1)
    # through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=-1)
    grads["weight_hh"] += da.T @ h
    grads["bias_hh"] += da.sum(axis=0)
    return da, da @ p["weight_hh"], dc_prev  # a = ax + h W_hh^T + b_hh: dax = da, dh_{t-1} = da W_hh


def _gru_step(ax, h, c, p):
    """GRU step as torch.nn.GRUCell (reset after the matmul). ax (B, 3H), h (B, H) -> h_t (B, H)."""
    x_r, x_z, x_n = np.split(ax, 3, axis=-1)  # W_i* x_t + b_i*
    h_r, h_z, h_n = np.split(h @ p["weight_hh"].T + p["bias_hh"], 3, axis=-1)  # W_h* h_{t-1} + b_h*
    r = sigmoid(x_r + h_r)  # reset gate
    z = sigmoid(x_z + h_z)  # update gate
    n = np.tanh(x_n + r * h_n)  # candidate, reset applied AFTER the matmul: r * (W_hn h + b_hn)
    h_new = (1 - z) * n + z * h  # h_t = (1 - z) n + z h_{t-1}
    return h_new, None, (h, r, z, n, h_n)


def _gru_back(dh, dc, cache, p, grads):
    """dh = dL/dh_t (B, H) -> dax (B, 3H), dL/dh_{t-1} (B, H)."""
    h, r, z, n, h_n = cache
    dn, dz, dh_prev = dh * (1 - z), dh * (h - n), dh * z  # h_t = (1 - z) n + z h_{t-1}
    da_n = dn * (1 - n**2)  # n = tanh(a_n), a_n = x_n + r * h_n
    dr = da_n * h_n  # a_n = ... + r * h_n
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)  # r = sigmoid(a_r), z = sigmoid(a_z)
    dax = np.concatenate([da_r, da_z, da_n], axis=-1)  # x_r, x_z, x_n enter a_r, a_z, a_n with coefficient 1
    dhh = np.concatenate([da_r, da_z, da_n * r], axis=-1)  # ... and h_r, h_z with 1, h_n with r
    grads["weight_hh"] += dhh.T @ h  # [h_r, h_z, h_n] = h_{t-1} W_hh^T + b_hh
    grads["bias_hh"] += dhh.sum(axis=0)
    return dax, dh_prev + dhh @ p["weight_hh"], None  # dh_{t-1}: the z h_{t-1} term plus the matmul


def _gru_rb_step(ax, h, c, p):
    """The lecture's GRU (Cho et al. 2014, reset before the matmul). ax (B, 3H), h (B, H) -> h_t (B, H)."""
    x_r, x_z, x_n = np.split(ax, 3, axis=-1)
    w_r, w_z, w_n = np.split(p["weight_hh"], 3, axis=0)
    b_r, b_z, b_n = np.split(p["bias_hh"], 3)
    r = sigmoid(x_r + h @ w_r.T + b_r)  # r = sigma(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(x_z + h @ w_z.T + b_z)  # z = sigma(W_iz x + b_iz + W_hz h + b_hz)
    rh = r * h  # reset applied BEFORE the matmul (Cho et al. 2014)
    n = np.tanh(x_n + rh @ w_n.T + b_n)  # n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
    h_new = (1 - z) * n + z * h  # h_t = (1 - z) n + z h_{t-1}
    return h_new, None, (h, r, z, n, rh)


def _gru_rb_back(dh, dc, cache, p, grads):
    """dh = dL/dh_t (B, H) -> dax (B, 3H), dL/dh_{t-1} (B, H)."""
    h, r, z, n, rh = cache
    w_r, w_z, w_n = np.split(p["weight_hh"], 3, axis=0)
    dn, dz, dh_prev = dh * (1 - z), dh * (h - n), dh * z  # h_t = (1 - z) n + z h_{t-1}
    da_n = dn * (1 - n**2)  # n = tanh(a_n), a_n = x_n + (r h) W_hn^T + b_hn
    drh = da_n @ w_n  # dL/d(r h)
    dr, dh_prev = drh * h, dh_prev + drh * r  # r h = r * h_{t-1}
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
    dh_prev = dh_prev + da_r @ w_r + da_z @ w_z  # a_r, a_z contain h_{t-1} W_hr^T, h_{t-1} W_hz^T
    # weight_hh rows are [W_hr; W_hz; W_hn]: the first two multiply h_{t-1}, the last one r * h_{t-1}
    grads["weight_hh"] += np.concatenate([da_r.T @ h, da_z.T @ h, da_n.T @ rh], axis=0)
    dax = np.concatenate([da_r, da_z, da_n], axis=-1)
    grads["bias_hh"] += dax.sum(axis=0)  # each bias block enters its pre-activation with coefficient 1
    return dax, dh_prev, None


def _layer_norm(v, gain, blocks):
    """LN per block: v (B, blocks*H) -> gain * (v - mu) / s with mu, s^2 = mean, variance + eps of each block."""
    B = v.shape[0]
    u = v.reshape(B, blocks, -1)
    mu = u.mean(axis=-1, keepdims=True)
    s = np.sqrt(((u - mu) ** 2).mean(axis=-1, keepdims=True) + LN_EPS)
    xhat = (u - mu) / s  # normalised   (B, blocks, H)
    return xhat.reshape(B, -1) * gain, (xhat, s)


def _layer_norm_back(dy, gain, cache, grads, key):
    """Backward of y = gain * xhat, xhat = (v - mu) / s. dy (B, blocks*H) -> dL/dv; adds dL/dgain to grads[key]."""
    xhat, s = cache
    B, blocks, _ = xhat.shape
    grads[key] += (dy * xhat.reshape(B, -1)).sum(axis=0)  # y is linear in gain
    dxhat = (dy * gain).reshape(B, blocks, -1)
    # xhat depends on v directly, through mu (d mu / dv = 1/H) and through s (d s / dv = xhat / (H s)):
    # dv = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / s
    dv = (dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)) / s
    return dv.reshape(B, -1)


def _ln_lstm_step(ax, h, c, p):
    """LayerNorm-LSTM step (Ba et al. 2016). ax = x_t W_ih^T WITHOUT bias (B, 4H); h, c (B, H) -> h_t, c_t."""
    ux, ln_x = _layer_norm(ax, p["ln_weight_ih"], 4)  # LN_{gx}(W_i x), per gate block
    uh, ln_h = _layer_norm(h @ p["weight_hh"].T, p["ln_weight_hh"], 4)  # LN_{gh}(W_h h)
    a = ux + uh + p["bias_ih"] + p["bias_hh"]  # a = LN(W_i x) + LN(W_h h) + b_i + b_h   (B, 4H)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_new = f * c + i * g  # c_t = f * c_{t-1} + i * g
    nc, ln_c = _layer_norm(c_new, p["ln_weight_c"], 1)
    tc = np.tanh(nc + p["ln_bias_c"])  # tanh(LN_{gc}(c_t) + beta_c)
    h_new = o * tc  # h_t = o * tanh(LN(c_t))
    return h_new, c_new, (h, c, i, f, g, o, tc, ln_x, ln_h, ln_c)


def _ln_lstm_back(dh, dc, cache, p, grads):
    """dh = dL/dh_t, dc = dL/dc_t via step t+1 -> dL/d(x_t W_ih^T) (B, 4H), dL/dh_{t-1}, dL/dc_{t-1}.

    Unlike the other cells it also adds dL/dbias_ih itself (the bias is added after the layer norm)."""
    h, c, i, f, g, o, tc, ln_x, ln_h, ln_c = cache
    do = dh * tc  # h_t = o * tanh(n), n = LN(c_t) + beta_c
    dn = dh * o * (1.0 - tc**2)
    grads["ln_bias_c"] += dn.sum(axis=0)  # n is beta_c plus LN(c_t)
    dc_t = dc + _layer_norm_back(dn, p["ln_weight_c"], ln_c, grads, "ln_weight_c")  # via h_t + via c_{t+1}
    di, dg, df = dc_t * g, dc_t * i, dc_t * c  # c_t = f c_{t-1} + i g
    dc_prev = dc_t * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=-1)
    grads["bias_ih"] += da.sum(axis=0)  # a = ... + b_i + b_h: both biases enter with coefficient 1
    grads["bias_hh"] += da.sum(axis=0)
    d_wh = _layer_norm_back(da, p["ln_weight_hh"], ln_h, grads, "ln_weight_hh")  # dL/d(h W_hh^T)
    grads["weight_hh"] += d_wh.T @ h
    dax = _layer_norm_back(da, p["ln_weight_ih"], ln_x, grads, "ln_weight_ih")  # dL/d(x W_ih^T)
    return dax, d_wh @ p["weight_hh"], dc_prev


_STEP = {
    "rnn": (partial(_elman_step, relu=False), partial(_elman_back, relu=False)),
    "rnn-relu": (partial(_elman_step, relu=True), partial(_elman_back, relu=True)),
    "lstm": (_lstm_step, _lstm_back),
    "gru": (_gru_step, _gru_back),
    "gru-reset-before": (_gru_rb_step, _gru_rb_back),
    "lstm-layernorm": (_ln_lstm_step, _ln_lstm_back),
}


# ---------------------------------------------------------------------------------------------------------
# Unrolled network
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Cache:
    """Everything ``backward`` needs: the inputs and every step's intermediate values."""

    cell: str
    params: Params
    xs: np.ndarray  # (T, B, I)
    targets: np.ndarray  # (T, B) integer class indices
    hs: np.ndarray  # (T, B, H) hidden states h_1..h_T
    steps: list[tuple]  # per-step caches of the cell
    probs: np.ndarray  # (T, B, K) softmax(logits)


def _unroll(cell: str, params: Params, xs: np.ndarray, h0: np.ndarray | None, c0: np.ndarray | None):
    _check_cell(cell)
    xs = np.asarray(xs)
    if xs.ndim != 3 or not np.issubdtype(xs.dtype, np.floating):
        raise ValueError(f"xs must be a floating (T, B, I) array, got {xs.dtype} {xs.shape}")
    p = {k: np.asarray(v, dtype=xs.dtype) for k, v in params.items()}
    T, B, _ = xs.shape
    H = p["weight_hh"].shape[1]
    h = np.zeros((B, H), xs.dtype) if h0 is None else np.asarray(h0, dtype=xs.dtype)
    c = None
    if cell in _WITH_C:
        c = np.zeros((B, H), xs.dtype) if c0 is None else np.asarray(c0, dtype=xs.dtype)
    step = _STEP[cell][0]
    ax = xs @ p["weight_ih"].T  # input projections of all steps at once   (T, B, G*H)
    if cell != "lstm-layernorm":  # (the LayerNorm-LSTM adds its bias after normalising, in the step)
        ax = ax + p["bias_ih"]
    hs, steps = np.empty((T, B, H), xs.dtype), []
    for t in range(T):
        h, c, cache = step(ax[t], h, c, p)  # h_t, c_t = cell(x_t, h_{t-1}, c_{t-1})
        hs[t] = h
        steps.append(cache)
    return p, hs, h, c, steps


def run(
    cell: str, params: Params, xs: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Forward pass only. xs (T, B, I); h0, c0 (B, H), zeros if None.

    Returns hs (T, B, H) = h_1..h_T, h_T (B, H) and c_T (B, H) for lstm (None for the other cells).
    Everything is computed in xs's dtype.
    """
    _, hs, h, c, _ = _unroll(cell, params, xs, h0, c0)
    return hs, h, c


def forward(
    cell: str,
    params: Params,
    xs: np.ndarray,
    targets: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[float, Cache]:
    """Many-to-many forward pass with a softmax cross-entropy loss at every step.

    logits_t = h_t W_out^T + b_out (B, K);  y_hat_t = softmax(logits_t)  (lecture: softmax(U h_t + b_y));
    L = -(1 / (T B)) sum_{t,b} log y_hat_t[b, targets[t, b]]   (the mean over all T*B positions).
    targets: (T, B) integers in [0, K). Returns (L, cache for ``backward``).
    """
    xs, targets = np.asarray(xs), np.asarray(targets)
    p, hs, _, _, steps = _unroll(cell, params, xs, h0, c0)
    K = p["weight_out"].shape[0]
    if targets.shape != hs.shape[:2] or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be an integer (T, B) = {hs.shape[:2]} array, got {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= K):
        raise ValueError(f"targets must lie in [0, {K})")
    logp = log_softmax(hs @ p["weight_out"].T + p["bias_out"])  # (T, B, K)
    loss = -np.take_along_axis(logp, targets[..., None], axis=-1).mean()
    return float(loss), Cache(cell, p, xs, targets, hs, steps, np.exp(logp))


def backward(cache: Cache) -> dict[str, np.ndarray]:
    """Backpropagation through time. Returns dL/dX for every parameter key and for "xs", "h0" (and "c0").

    Derivation, from the loss back to the inputs:
      1. Output layer, per position: dL/dlogits_t = (y_hat_t - onehot(target_t)) / (T B).
      2. dW_out = sum_t dlogits_t^T h_t,  db_out = sum_{t,b} dlogits_t.
      3. h_t influences L through two paths: its own output logits_t, and the next step h_{t+1} (and, for
         lstm, c_t through c_{t+1}). So, going backwards in time from t = T (where there is no step T+1):
             dL/dh_t = dlogits_t W_out  +  (dL/dh_{t+1}) (dh_{t+1}/dh_t)
         where the second term is the ``dh_prev`` returned by the cell's backward step at t+1.
      4. The cell's backward step at t turns dL/dh_t (and dL/dc_t) into dL/d(pre-activations), adds the
         recurrent weight gradients and returns dL/dh_{t-1} (and dL/dc_{t-1}).
      5. Input weights are shared by all steps: dW_ih = sum_t dax_t^T x_t, db_ih = sum_{t,b} dax_t, and
         dL/dx_t = dax_t W_ih. Finally dL/dh_0 is what flows out of step 1.
    """
    p, xs, hs = cache.params, cache.xs, cache.hs
    T, B, _ = hs.shape
    back = _STEP[cache.cell][1]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    # 1. softmax + cross-entropy: d(-log softmax(z)[y])/dz = softmax(z) - onehot(y); the mean divides by T*B
    dlogits = cache.probs.copy()
    tt, bb = np.indices((T, B))
    dlogits[tt, bb, cache.targets] -= 1.0
    dlogits /= T * B
    # 2. logits_t = h_t W_out^T + b_out
    grads["weight_out"] = np.einsum("tbk,tbh->kh", dlogits, hs)
    grads["bias_out"] = dlogits.sum(axis=(0, 1))
    dh_out = dlogits @ p["weight_out"]  # contribution of the output at t to dL/dh_t   (T, B, H)
    # 3./4. backwards through time
    dax = np.empty((T, B, p["weight_ih"].shape[0]), hs.dtype)
    dh_next = np.zeros((B, hs.shape[2]), hs.dtype)  # dL/dh_t via step t+1 (nothing after the last step)
    dc_next = np.zeros_like(dh_next) if cache.cell in _WITH_C else None  # dL/dc_t via step t+1
    for t in reversed(range(T)):
        dh = dh_out[t] + dh_next  # total dL/dh_t: output at t + recurrence into t+1
        dax[t], dh_next, dc_next = back(dh, dc_next, cache.steps[t], p, grads)
    # 5. the input projection ax_t = x_t W_ih^T + b_ih, shared across time
    grads["weight_ih"] = np.einsum("tbg,tbi->gi", dax, xs)
    if cache.cell != "lstm-layernorm":  # (its step added dL/dbias_ih: the bias enters after the layer norm)
        grads["bias_ih"] = dax.sum(axis=(0, 1))
    grads["xs"] = dax @ p["weight_ih"]
    grads["h0"] = dh_next
    if cache.cell in _WITH_C:
        grads["c0"] = dc_next
    return grads


def bptt(
    cell: str,
    params: Params,
    xs: np.ndarray,
    targets: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and all gradients: ``forward`` followed by ``backward``."""
    loss, cache = forward(cell, params, xs, targets, h0, c0)
    return loss, backward(cache)
