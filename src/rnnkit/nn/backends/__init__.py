"""Who runs a :class:`~rnnkit.nn.layers.Recurrent` call: one table, :data:`TABLE`, read top to bottom by :func:`pick`.

The layer's ``backend`` setting says which rows it may use (``"reference"``: the last; ``"fused"``:
compiled, fused, hoisted, reference; ``"native"``: compiled, triton, native, hoisted, reference); the
first row that fits the call (cell, device, dtype, gradients, lengths, export, zoneout or variational
dropout) runs it, and ``layer.last_backend``
names it. Every row computes the same function (the tests hold each to the reference loop), so the
choice changes speed, never results. The table with the reasons is in ``docs/cells.md``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

from rnnkit.nn.backends import compiled, cuda_graphs, fused, hoisted, native
from rnnkit.nn.cells import RecurrentCell

BACKENDS = ("auto", "reference", "fused", "native")
HAVE_TRITON = importlib.util.find_spec("triton") is not None
NATIVE_CELLS = ("gru-reset-before", "lstm-layernorm")  # cells no library runs: rnnkit's own kernels do


# What a row runs. forward: run(layer, x (T, B, I), state, lengths (B,) | None, trace | None) -> (out, state);
# step: run(layer, x (B, I), state) -> (out (B, H), state). One-direction kernels go through the layer's
# loop over layers and directions (``Recurrent.run_directions``); ``None`` there is the reference loop.

def _reference(layer, x, state, lengths, trace):
    return layer.run_directions(x, state, lengths, None, trace)


def _native(layer, x, state, lengths, trace):
    return layer.run_directions(x, state, lengths, native.gru_reset_before_sequence)


def _triton(layer, x, state, lengths, trace):
    from rnnkit.nn.backends.triton_gru import TritonGRUResetBefore

    kernel = partial(native.gru_reset_before_sequence, function=TritonGRUResetBefore)
    return layer.run_directions(x, state, lengths, kernel)


def _triton_graphed(layer, x, state, lengths, trace):
    kernel = partial(native.gru_reset_before_sequence, function=cuda_graphs.GraphedOrEager)
    return layer.run_directions(x, state, lengths, kernel)


def _hoisted(layer, x, state, lengths, trace):
    kernel = partial(hoisted.lstm_sequence, zoneout_p=layer.zoneout, dropout_p=layer.recurrent_dropout,
                     training=layer.training)
    return layer.run_directions(x, state, lengths, kernel)


def _compiled(layer, x, state, lengths, trace):
    return layer.run_directions(x, state, lengths, partial(compiled.gru_sequence, layer.cell.name))


def _compiled_layernorm(layer, x, state, lengths, trace):
    return layer.run_directions(x, state, lengths, compiled.lstm_layernorm_sequence)


def _reference_step(layer, x, state):
    return layer.step_layers(x, state, layer.cell.step)


def _fused_step(layer, x, state):
    return layer.step_layers(x, state, partial(fused.fused_step, layer.cell.fused_mode))


def _graphed_step(layer, x, state):
    if layer.backend == "fused":
        return cuda_graphs.graphed_step(layer, x, state, partial(fused.fused_step, layer.cell.fused_mode))
    return cuda_graphs.graphed_step(layer, x, state, layer.cell.step)


def _has_fused(cell: type[RecurrentCell]) -> bool:
    return cell.fused_mode is not None


def _named(*names: str) -> Callable[[type[RecurrentCell]], bool]:
    return lambda cell: cell.name in names


@dataclass(frozen=True)
class Backend:
    """One row: which calls it may run, and the function that runs them. The defaults are "no limit",
    except ``regularized``: only rows that say so run zoneout or variational dropout."""

    name: str
    call: str  # "forward" (a whole sequence) or "step" (one input, streaming)
    requested: tuple[str, ...]  # the layer settings that allow this row
    cells: Callable[[type[RecurrentCell]], bool] | None  # None: every cell
    run: Callable
    device: str | None = None  # "cpu" or "cuda"; None for any
    float32_only: bool = False
    grad: bool = True  # computes gradients
    lengths: bool = True  # runs padded batches
    exportable: bool = True  # traceable by torch.export
    dropout: bool = True  # applies dropout between layers in training
    available: Callable[[], bool] = lambda: True  # the kernel can run here (built, installed)
    regularized: bool = False  # runs zoneout and (in training) variational dropout


# Whole-sequence inference with the compiled loop: faster than nn.GRU / the native kernel at every batch
# measured (T=128, H=128/256, B=1..64, 2 threads: 1.3-7x), since its gates are squashed by one vectorised
# call per block. LSTM and Elman stay on oneDNN, which is as fast or faster.
_GRUS = _named("gru", "gru-reset-before")
# the cells csrc/infer.cpp implements
_COMPILED = _named("rnn", "rnn-relu", "lstm", "gru", "gru-reset-before", "lstm-layernorm")
_LAYERNORM = _named("lstm-layernorm")
_CPU_INFERENCE = dict(device="cpu", float32_only=True, grad=False, exportable=False, available=compiled.available)
_FAST = ("fused", "native")
_NATIVE = _named("gru-reset-before")  # the cell with a hand-written-BPTT kernel (native, Triton)
# After the fused rows, so a plain LSTM keeps torch.nn's kernel and comes here only with zoneout or
# variational dropout; the LayerNorm-LSTM, which torch.nn cannot run, always does.
_HOISTED = _named(*hoisted.CELLS)

# CUDA graphs (opt-in with RNNKIT_CUDA_GRAPHS=1 until a GPU session has measured them; see cuda_graphs.py).
_GRAPHS = dict(device="cuda", exportable=False)

TABLE: tuple[Backend, ...] = (
    Backend("compiled", "forward", _FAST, _GRUS, _compiled, lengths=False, **_CPU_INFERENCE),
    Backend("compiled", "forward", _FAST, _LAYERNORM, _compiled_layernorm, lengths=False, **_CPU_INFERENCE),
    Backend("triton-graph", "forward", ("native",), _NATIVE, _triton_graphed, float32_only=True,
            available=lambda: HAVE_TRITON and cuda_graphs.enabled(), **_GRAPHS),
    Backend("triton", "forward", ("native",), _NATIVE, _triton, device="cuda", float32_only=True, exportable=False,
            available=lambda: HAVE_TRITON),
    Backend("native", "forward", ("native",), _NATIVE, _native, exportable=False),
    Backend("fused", "forward", ("fused",), _has_fused, fused.run, exportable=False),
    Backend("fused", "forward", ("fused",), _has_fused, fused.run, lengths=False),  # torch.export: lengths are symbolic
    Backend("hoisted", "forward", _FAST, _HOISTED, _hoisted, exportable=False, regularized=True),
    Backend("reference", "forward", BACKENDS, None, _reference, regularized=True),
    Backend("compiled", "step", _FAST, _COMPILED, compiled.stack_step, dropout=False, **_CPU_INFERENCE),
    Backend("cuda-graph", "step", _FAST, None, _graphed_step, grad=False, dropout=False,
            available=lambda: cuda_graphs.enabled(), **_GRAPHS),
    Backend("fused", "step", ("fused",), _has_fused, _fused_step, regularized=True),  # zoneout: in step_layers
    Backend("reference", "step", BACKENDS, None, _reference_step, regularized=True),
)


def resolve(cell: type[RecurrentCell], backend: str) -> str:
    """The layer's setting for ``backend``: ``"auto"`` → fused, else native, else reference; a backend
    that cannot run ``cell`` is a ``ValueError`` that says which can."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    if backend == "fused" and not _has_fused(cell):
        raise ValueError(f"the {cell.name!r} cell has no fused kernel: torch.nn/cuDNN compute a "
                         "different function; use backend='native' or 'reference' (or 'auto')")
    if backend == "native" and cell.name not in NATIVE_CELLS:
        raise ValueError(f"the {cell.name!r} cell has no native kernel (cells with one: "
                         f"{', '.join(NATIVE_CELLS)}); use 'fused' or 'reference' (or 'auto')")
    if backend == "auto":
        if _has_fused(cell):
            return "fused"
        return "native" if cell.name in NATIVE_CELLS else "reference"
    return backend


@cache  # the table is fixed: each distinct call is looked up once (step() runs per input)
def pick(cell: type[RecurrentCell], device: str, needs_grad: bool, requested: str, float32: bool,
         call: str = "forward", lengths: bool = False, record: bool = False, exporting: bool = False,
         dropout: bool = False, regularized: bool = False) -> tuple[str, Callable]:
    """The first row of :data:`TABLE` that may run this call: its name and its ``run`` function.

    ``device`` is ``"cpu"``/``"cuda"``/…; ``needs_grad``: autograd will differentiate the result;
    ``requested``: the layer's resolved ``backend``; ``float32``: the input is float32; ``call``:
    ``"forward"`` or ``"step"``; ``lengths``: the batch is padded; ``record``: a trace of every gate is
    wanted (only the reference loop keeps one); ``exporting``: ``torch.export`` is tracing the call;
    ``dropout``: dropout between layers is active; ``regularized``: zoneout, or variational dropout in
    training, is on.
    """
    for row in TABLE:
        if row.call != call or requested not in row.requested or (row.cells and not row.cells(cell)):
            continue
        if (row.device and row.device != device) or (row.float32_only and not float32):
            continue
        if (needs_grad and not row.grad) or (lengths and not row.lengths) or (dropout and not row.dropout):
            continue
        if (exporting and not row.exportable) or (record and row.name != "reference"):
            continue
        if regularized and not row.regularized:
            continue
        if row.available():
            return row.name, row.run
    raise AssertionError("unreachable: the reference rows accept every call")
