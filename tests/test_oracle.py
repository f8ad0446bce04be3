"""rnnkit's torch cells (both backends) against the independent NumPy BPTT, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.nn import CELLS, Recurrent
from rnnkit.nn import reference as ref

T, B, I, H, K = 6, 3, 4, 5, 7


@pytest.mark.parametrize("cell", ref.CELLS)  # the cells the NumPy oracle writes out (its own list: it is independent)
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_torch_layer_matches_numpy_bptt(cell, backend):
    rng = np.random.default_rng(7)
    params = ref.init_params(cell, I, H, K, rng)
    xs = rng.normal(size=(T, B, I))
    h0 = rng.normal(size=(B, H))
    c0 = rng.normal(size=(B, H)) if CELLS[cell].has_cell_state else None
    targets = rng.integers(0, K, size=(T, B))
    loss_np, grads_np = ref.bptt(cell, params, xs, targets, h0, c0)

    layer = Recurrent(cell, I, H, backend=backend).double()
    layer_params = [k for k in params if not k.endswith("_out")]  # the four of torch.nn and any ln_* gains
    with torch.no_grad():
        for name in layer_params:
            getattr(layer, f"{name}_l0").copy_(torch.from_numpy(params[name]))
    readout = torch.nn.Linear(H, K).double()
    with torch.no_grad():
        readout.weight.copy_(torch.from_numpy(params["weight_out"]))
        readout.bias.copy_(torch.from_numpy(params["bias_out"]))
    x = torch.from_numpy(xs).requires_grad_(True)
    h = torch.from_numpy(h0)[None].requires_grad_(True)
    state = (h, torch.from_numpy(c0)[None].requires_grad_(True)) if c0 is not None else h
    out, _ = layer(x, state)
    if backend == "auto" and cell == "lstm-layernorm":
        assert layer.last_backend == "bptt"
    loss = torch.nn.functional.cross_entropy(readout(out).reshape(T * B, K), torch.from_numpy(targets).reshape(-1))
    loss.backward()

    assert abs(loss.item() - loss_np) < 1e-12
    for name in layer_params:
        np.testing.assert_allclose(getattr(layer, f"{name}_l0").grad.numpy(), grads_np[name], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(readout.weight.grad.numpy(), grads_np["weight_out"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grads_np["xs"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(h.grad[0].numpy(), grads_np["h0"], rtol=1e-6, atol=1e-12)
    if c0 is not None:
        np.testing.assert_allclose(state[1].grad[0].numpy(), grads_np["c0"], rtol=1e-6, atol=1e-12)
