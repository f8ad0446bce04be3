"""Tests of the NumPy BPTT reference (rnnkit.nn.reference): finite differences and PyTorch as oracles.

Relative error used throughout for gradients (per array, infinity-norm based):

    rel_err(a, b) = max_i |a_i - b_i| / max(max_i |a_i|, max_i |b_i|, 1e-300)

It is robust to tiny individual entries (where central differences only have absolute, not relative,
accuracy ~1e-10) yet still sensitive to a single wrong entry: any entry off by more than 1e-6 of the
array's largest gradient fails. All checks are in float64.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
import torch

from rnnkit.nn import reference as ref

T, B, I, H, K = 5, 3, 4, 5, 6
FD_STEP = 1e-5  # central differences: truncation ~ step^2, rounding ~ 1e-16 / step; both << 1e-6 here
SEED = 1  # for rnn-relu this seed keeps every pre-activation >= 6e-3 away from the kink (checked below)
TORCH_CELLS = ("rnn", "rnn-relu", "lstm", "gru")
WITH_C = ("lstm", "lstm-layernorm")


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-300))


def make_problem(cell: str, seed: int = SEED):
    """Parameters and data for a small problem: xs (T, B, I), targets (T, B), h0 (B, H), c0 (B, H) or None."""
    rng = np.random.default_rng(seed)
    params = ref.init_params(cell, I, H, K, rng)
    xs = rng.standard_normal((T, B, I))
    targets = rng.integers(0, K, size=(T, B))
    h0 = 0.5 * rng.standard_normal((B, H))
    c0 = 0.5 * rng.standard_normal((B, H)) if cell in WITH_C else None
    return params, xs, targets, h0, c0


def inputs_of(params, xs, h0, c0) -> dict[str, np.ndarray]:
    """Every array the loss is differentiated with respect to (same keys as the ``backward`` dict)."""
    arrays = dict(params, xs=xs, h0=h0)
    if c0 is not None:
        arrays["c0"] = c0
    return arrays


def finite_difference_grads(cell, params, xs, targets, h0, c0) -> dict[str, np.ndarray]:
    """dL/dX_i ~ (L(X_i + eps) - L(X_i - eps)) / (2 eps), every entry of every array (perturbed in place)."""
    grads = {}
    for key, arr in inputs_of(params, xs, h0, c0).items():
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + FD_STEP
            loss_plus, _ = ref.forward(cell, params, xs, targets, h0, c0)
            arr[idx] = old - FD_STEP
            loss_minus, _ = ref.forward(cell, params, xs, targets, h0, c0)
            arr[idx] = old
            g[idx] = (loss_plus - loss_minus) / (2 * FD_STEP)
        grads[key] = g
    return grads


def elman_preactivations(params, xs, h0) -> np.ndarray:
    """a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, recomputed here independently of the module."""
    hs, _, _ = ref.run("rnn-relu", params, xs, h0)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)
    return xs @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]


@pytest.mark.parametrize("cell", ref.CELLS)
def test_bptt_matches_finite_differences(cell: str) -> None:
    params, xs, targets, h0, c0 = make_problem(cell)
    if cell == "rnn-relu":
        # ReLU is not differentiable at 0: if a pre-activation were within reach of a +-FD_STEP perturbation
        # (which moves it by at most ~FD_STEP * a few) of 0, the difference quotient would straddle the kink.
        assert np.abs(elman_preactivations(params, xs, h0)).min() > 100 * FD_STEP
    loss, grads = ref.bptt(cell, params, xs, targets, h0, c0)
    assert np.isfinite(loss)
    numeric = finite_difference_grads(cell, params, xs, targets, h0, c0)
    assert set(grads) == set(numeric)
    errors = {key: rel_err(grads[key], numeric[key]) for key in numeric}
    assert max(errors.values()) < 1e-6, errors


def torch_reference(cell: str, params, xs, targets, h0, c0):
    """Same loss with torch.nn.*Cell looped over time + nn.Linear + mean cross-entropy, via autograd."""
    make = {
        "rnn": lambda: torch.nn.RNNCell(I, H, nonlinearity="tanh", dtype=torch.float64),
        "rnn-relu": lambda: torch.nn.RNNCell(I, H, nonlinearity="relu", dtype=torch.float64),
        "lstm": lambda: torch.nn.LSTMCell(I, H, dtype=torch.float64),
        "gru": lambda: torch.nn.GRUCell(I, H, dtype=torch.float64),
    }[cell]
    rnn_cell, out = make(), torch.nn.Linear(H, K, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(rnn_cell, name).copy_(torch.from_numpy(params[name]))
        out.weight.copy_(torch.from_numpy(params["weight_out"]))
        out.bias.copy_(torch.from_numpy(params["bias_out"]))
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in inputs_of({}, xs, h0, c0).items()}
    h, c, hs = leaves["h0"], leaves.get("c0"), []
    for t in range(T):
        if cell == "lstm":
            h, c = rnn_cell(leaves["xs"][t], (h, c))
        else:
            h = rnn_cell(leaves["xs"][t], h)
        hs.append(h)
    hs_t = torch.stack(hs)
    logits = out(hs_t).reshape(T * B, K)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets).reshape(-1))
    loss.backward()
    grads = {name: getattr(rnn_cell, name).grad for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    grads |= {"weight_out": out.weight.grad, "bias_out": out.bias.grad}
    grads |= {k: v.grad for k, v in leaves.items()}
    return loss.item(), hs_t.detach().numpy(), {k: v.numpy() for k, v in grads.items()}


def layernorm_lstm_reference(params, xs, targets, h0, c0):
    """Ba et al.'s LayerNorm-LSTM (per gate block, biases after the norm) written out with torch autograd."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x_all, h, c = (torch.tensor(v, requires_grad=True) for v in (xs, h0, c0))

    def norm(v, gain):  # (B, n*H): each block of H to zero mean, unit (biased) variance, then the gain
        u = v.reshape(B, -1, H)
        u = (u - u.mean(-1, keepdim=True)) / torch.sqrt(u.var(-1, unbiased=False, keepdim=True) + 1e-5)
        return u.reshape(B, -1) * gain

    h_prev, c_prev, hs = h, c, []
    for t in range(T):
        a = norm(x_all[t] @ p["weight_ih"].T, p["ln_weight_ih"]) + norm(h_prev @ p["weight_hh"].T, p["ln_weight_hh"])
        a = a + p["bias_ih"] + p["bias_hh"]
        i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), \
            torch.sigmoid(a[:, 3 * H:])
        c_prev = f * c_prev + i * g
        h_prev = o * torch.tanh(norm(c_prev, p["ln_weight_c"]) + p["ln_bias_c"])
        hs.append(h_prev)
    hs_t = torch.stack(hs)
    logits = hs_t @ p["weight_out"].T + p["bias_out"]
    loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, K), torch.from_numpy(targets).reshape(-1))
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in p.items()} | {"xs": x_all.grad.numpy(), "h0": h.grad.numpy(),
                                                          "c0": c.grad.numpy()}
    return loss.item(), hs_t.detach().numpy(), grads


def lecture_gru_reference(params, xs, targets, h0):
    """The lecture's GRU (reset gate before the recurrent matmul), written directly with torch autograd."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x_all, h = torch.tensor(xs, requires_grad=True), torch.tensor(h0, requires_grad=True)
    W_xr, W_xz, W_xh = p["weight_ih"].chunk(3, dim=0)
    W_hr, W_hz, W_hh = p["weight_hh"].chunk(3, dim=0)
    b_xr, b_xz, b_xh = p["bias_ih"].chunk(3)
    b_hr, b_hz, b_hh = p["bias_hh"].chunk(3)
    h_prev, hs = h, []
    for t in range(T):
        x = x_all[t]
        r = torch.sigmoid(x @ W_xr.T + b_xr + h_prev @ W_hr.T + b_hr)
        z = torch.sigmoid(x @ W_xz.T + b_xz + h_prev @ W_hz.T + b_hz)
        h_tilde = torch.tanh(x @ W_xh.T + b_xh + (r * h_prev) @ W_hh.T + b_hh)
        h_prev = z * h_prev + (1 - z) * h_tilde
        hs.append(h_prev)
    hs_t = torch.stack(hs)
    logits = hs_t @ p["weight_out"].T + p["bias_out"]
    loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, K), torch.from_numpy(targets).reshape(-1))
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in p.items()} | {"xs": x_all.grad.numpy(), "h0": h.grad.numpy()}
    return loss.item(), hs_t.detach().numpy(), grads


@pytest.mark.parametrize("cell", ref.CELLS)
def test_matches_torch(cell: str) -> None:
    """torch.nn cells for rnn/rnn-relu/lstm/gru; a hand-written lecture GRU for gru-reset-before."""
    params, xs, targets, h0, c0 = make_problem(cell)
    if cell == "gru-reset-before":
        t_loss, t_hs, t_grads = lecture_gru_reference(params, xs, targets, h0)
    elif cell == "lstm-layernorm":
        t_loss, t_hs, t_grads = layernorm_lstm_reference(params, xs, targets, h0, c0)
    else:
        t_loss, t_hs, t_grads = torch_reference(cell, params, xs, targets, h0, c0)
    hs, h_T, c_T = ref.run(cell, params, xs, h0, c0)
    np.testing.assert_allclose(hs, t_hs, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(h_T, hs[-1])
    assert (c_T is not None) == (cell in WITH_C)
    loss, grads = ref.bptt(cell, params, xs, targets, h0, c0)
    assert abs(loss - t_loss) < 1e-12
    assert set(grads) == set(t_grads)
    # Both sides are exact analytic gradients in float64 and agree to round-off (~1e-15); the bar is set far
    # below the 1e-6 required of finite differences so that even a 1e-8 relative slip in a derivative fails.
    errors = {key: rel_err(grads[key], t_grads[key]) for key in t_grads}
    assert max(errors.values()) < 1e-10, errors


def test_gru_variants_differ() -> None:
    """Guards the comparison above against the two GRU variants accidentally being the same function."""
    params, xs, _, h0, _ = make_problem("gru")
    after, _, _ = ref.run("gru", params, xs, h0)
    before, _, _ = ref.run("gru-reset-before", params, xs, h0)
    assert np.abs(after - before).max() > 1e-3


@pytest.mark.parametrize("cell", ref.CELLS)
def test_zero_initial_state_and_dtype(cell: str) -> None:
    params, xs, _, _, _ = make_problem(cell)
    zeros = np.zeros((B, H))
    hs_default, _, c_default = ref.run(cell, params, xs)
    hs_zero, _, c_zero = ref.run(cell, params, xs, zeros, zeros if cell in WITH_C else None)
    np.testing.assert_array_equal(hs_default, hs_zero)
    if cell in WITH_C:
        np.testing.assert_array_equal(c_default, c_zero)
    hs32, _, _ = ref.run(cell, params, xs.astype(np.float32))
    assert hs32.dtype == np.float32
    np.testing.assert_allclose(hs32, hs_default, rtol=0, atol=1e-5)


def test_unknown_cell_lists_valid_names() -> None:
    params, xs, targets, _, _ = make_problem("rnn")
    calls = [
        lambda: ref.run("elman", params, xs),
        lambda: ref.bptt("elman", params, xs, targets),
        lambda: ref.init_params("elman", I, H, K, np.random.default_rng(0)),
    ]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        for name in ref.CELLS:
            assert repr(name) in str(info.value), (name, str(info.value))


def test_reference_does_not_import_torch() -> None:
    tree = ast.parse(inspect.getsource(ref))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "torch" for name in imported), imported
