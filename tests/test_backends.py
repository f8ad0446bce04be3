"""Every backend a cell declares, against that cell's reference loop: the declarations tied to what runs.

The cases are read from the cells' declarations (``cell.kernels``) through the backend table
(:func:`rnnkit.nn.backends.rows_for`), never from a list kept here: declaring a kernel on a cell adds its case.
Each row is called directly (not through ``pick``), under the conditions it accepts — its device; float32 if it
runs float32 only, else float64; gradients if it computes them; a padded batch if it runs one; one sequence if it
runs batch 1 only — and compared
with ``Recurrent(..., backend="reference")`` holding the same weights: outputs, final states and, where the row
computes gradients, the gradients of the input, the initial state and every parameter. The CUDA-only Triton
rows run here under Triton's interpreter, in a subprocess (``TRITON_INTERPRET`` must be set before Triton is
imported); on a machine with CUDA they run on it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.nn import CELLS, Recurrent, backends

E, H, T, B = 5, 6, 7, 3
LENGTHS = torch.tensor([7, 2, 5])
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"  # set by test_triton_rows_under_the_interpreter

CASES = [pytest.param(name, row, id=f"{name}:{row.call}:{row.name}")
         for name, cell in CELLS.items() for call in ("forward", "step") for row in backends.rows_for(cell, call)]


def _device(row: backends.Backend) -> str:
    """Where the row runs in this test; skips a CUDA row where there is no CUDA (and no interpreter for it)."""
    if row.device != "cuda" or torch.cuda.is_available():
        return row.device or "cpu"
    if row.name.startswith("triton") and INTERPRETED:
        return "cpu"  # the Triton kernels, interpreted on CPU tensors
    if row.name.startswith("triton"):
        pytest.skip("CUDA only: test_triton_rows_under_the_interpreter runs it under Triton's interpreter")
    return "cpu"  # cuda-graph: on CPU tensors it runs the step it would capture (tests/test_cuda_graphs.py: capture)


def _layers(cell: str, row: backends.Backend, **options) -> tuple[Recurrent, Recurrent]:
    """The same random weights in a layer for the row and in a reference layer (eval mode: no dropout noise)."""
    torch.manual_seed(0)
    dtype = torch.float32 if row.float32_only else torch.float64
    bidirectional = row.call == "forward"  # step() streams one direction; forward runs both
    fast = Recurrent(cell, E, H, 2, bidirectional=bidirectional, **options)
    ref = Recurrent(cell, E, H, 2, bidirectional=bidirectional, backend="reference", **options)
    with torch.no_grad():
        for name, p in fast.named_parameters():  # away from their initial values, layer-norm gains included
            p.uniform_(0.4, 1.6) if name.startswith("ln_weight") else p.uniform_(-0.6, 0.6)
    ref.load_state_dict(fast.state_dict())
    device = _device(row)
    return fast.to(device, dtype).eval(), ref.to(device, dtype).eval()


def _flat(state) -> list[torch.Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


def _run(layer: Recurrent, row: backends.Backend, x: torch.Tensor, state, lengths, direct: bool):
    """(outputs (T, B, D*H), final state) of ``row`` called directly, or of the layer's own forward / step()."""
    if row.call == "forward":
        return row.run(layer, x, state, lengths, None) if direct else layer(x, state, lengths=lengths)
    outs = []
    for t in range(x.shape[0]):  # step(): one input at a time
        out, state = row.run(layer, x[t], state) if direct else layer.step(x[t], state)
        outs.append(out)
    return torch.stack(outs), state


def _check(cell: str, row: backends.Backend, **options) -> None:
    fast, ref = _layers(cell, row, **options)
    weight = fast.weight_ih_l0
    batch = 1 if row.batch_one else B
    x = torch.randn(T, batch, E, dtype=weight.dtype, device=weight.device)
    h0 = torch.randn(fast.num_layers * fast.num_directions, batch, H, dtype=x.dtype, device=x.device)
    state = [h0, torch.randn_like(h0)] if fast.cell.has_cell_state else [h0]
    lengths = LENGTHS if row.call == "forward" and row.lengths else None
    results = []
    for layer, direct in ((fast, True), (ref, False)):
        xi = x.clone().requires_grad_(row.grad)
        si = [s.clone().requires_grad_(row.grad) for s in state]
        with torch.set_grad_enabled(row.grad):
            out, final = _run(layer, row, xi, tuple(si) if len(si) == 2 else si[0], lengths, direct)
        grads = []
        if row.grad:
            ramp = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
            loss = (out * ramp).sum() + sum((f ** 2).sum() for f in _flat(final))
            grads = torch.autograd.grad(loss, [xi, *si, *layer.parameters()])
        results.append((out, _flat(final), grads))
    tol = dict(atol=1e-5, rtol=1e-5) if row.float32_only else dict(atol=1e-10, rtol=1e-8)
    (out, final, grads), (want_out, want_final, want_grads) = results
    torch.testing.assert_close(out, want_out, **tol)
    for got, want in zip(final, want_final, strict=True):
        torch.testing.assert_close(got, want, **tol)
    names = ["x", *(f"state[{i}]" for i in range(len(state))), *(n for n, _ in fast.named_parameters())]
    for name, got, want in zip(names if row.grad else [], grads, want_grads, strict=True):
        torch.testing.assert_close(got, want, **tol, msg=lambda m, n=name: f"d/d{n}: {m}")


@pytest.mark.parametrize(("cell", "row"), CASES)
def test_row_matches_the_reference_loop(cell, row, monkeypatch):
    if torch.cuda.is_available():  # the CUDA-graph rows are opt-in: on a GPU, opt in
        monkeypatch.setenv("RNNKIT_CUDA_GRAPHS", "1")
    interpreted = INTERPRETED and row.name.startswith("triton")
    cpu_stand_in = row.name == "cuda-graph" and not torch.cuda.is_available()
    _device(row)  # skips a CUDA-only row here
    if not (row.available() or interpreted or cpu_stand_in):
        pytest.skip(f"the {row.name} kernel cannot run here (not built or not installed)")
    _check(cell, row)
    if row.regularized and row.name != "reference":  # the rows that apply zoneout themselves (its expectation)
        _check(cell, row, zoneout=0.25)


def test_every_cell_has_the_reference_rows_and_its_declared_kernels():
    """The table offers a cell exactly what it declares (plus the reference loop and CUDA graphs of step())."""
    fields = {"cpp_sequence": ("forward", "cpp"), "cpp_sequence_batch_one": ("forward", "cpp"), "cpp": ("step", "cpp"),
              "bptt": ("forward", "bptt"), "triton": ("forward", "triton"),
              "triton_graphed": ("forward", "triton-graph"), "fused": ("forward", "fused")}
    for cell in CELLS.values():
        offered = {(row.call, row.name) for call in ("forward", "step") for row in backends.rows_for(cell, call)}
        declared = {pair for field, pair in fields.items() if getattr(cell.kernels, field) is not None}
        if cell.kernels.fused:
            declared.add(("step", "fused"))
        assert offered == declared | {("forward", "reference"), ("step", "reference"), ("step", "cuda-graph")}


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the Triton rows run on it above")
def test_triton_rows_under_the_interpreter():
    pytest.importorskip("triton")
    triton_rows = [case.id for case in CASES if case.values[1].name.startswith("triton")]
    assert triton_rows, "no cell declares a Triton kernel"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(root / "src"), "OMP_NUM_THREADS": "1"}
    tests = [f"{__file__}::test_row_matches_the_reference_loop[{case_id}]" for case_id in triton_rows]
    result = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *tests],
                            capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f" {len(triton_rows)} passed in " in result.stdout, result.stdout[-2000:]  # run, none skipped
