"""Who runs a :class:`~rnnkit.nn.layers.Recurrent` call: one table, :data:`TABLE`, read top to bottom by :func:`pick`.

A row is a backend — a kernel of :mod:`rnnkit.nn.kernels` and where it may run (device, dtype, gradients,
padded batches, ``torch.export``, zoneout and variational dropout). Which cells a row runs is not written
here: each cell declares its kernels on its class (``cell.kernels``, :class:`~rnnkit.nn.capabilities.Kernels`),
and a row runs the cells that declare its kernel. The names say what runs:

================  ===========================================================================================
``cpp``           a C++ loop (``kernels/csrc/infer.cpp``): CPU float32 inference, whole unpadded sequences (for
                  some cells at batch 1 only) and ``step()`` of the whole stack
``triton-graph``  ``triton`` replayed from CUDA graphs (opt-in: ``RNNKIT_CUDA_GRAPHS=1``)
``triton``        Triton kernels of the ``bptt`` loop (CUDA, float32)
``fused``         ``torch.nn``'s own kernel (cuDNN, oneDNN/ATen) with the layer's parameters
``bptt``          a Python loop under ``no_grad`` with the input projection of all steps in one GEMM before it,
                  and a hand-written backward pass (BPTT) — any device; the LSTMs' applies zoneout and dropout
``cuda-graph``    ``step()`` replayed from a CUDA graph per batch size (opt-in: ``RNNKIT_CUDA_GRAPHS=1``)
``reference``     the Python loop over ``cell.step`` under autograd: the readable definition, every cell
================  ===========================================================================================

(Until issue 25 ``cpp`` was called ``compiled``, and ``bptt`` was ``native`` for the reset-before GRU and
``hoisted`` for the LSTMs; the results in ``benchmarks/results/*.json`` recorded before keep those names.)

The layer's ``backend`` setting says which rows it may use: ``"reference"`` the last; ``"fused"``: cpp, fused,
bptt, cuda-graph, reference; ``"native"`` (rnnkit's own kernels, never torch.nn's): cpp, triton-graph, triton,
bptt, cuda-graph, reference. The first row that fits the call runs it, and ``layer.last_backend`` names it.
Every row computes the same function (``tests/test_backends.py`` holds each (cell, row) pair the cells declare
to the reference loop), so the choice changes speed, never results. The reasons are in ``docs/cells.md``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

from rnnkit.nn.cells import CELLS, RecurrentCell
from rnnkit.nn.kernels import cpp, cuda_graphs, fused

BACKENDS = ("auto", "reference", "fused", "native")  # the settings of a layer (Recurrent(backend=...))
HAVE_TRITON = importlib.util.find_spec("triton") is not None


# What a row runs. forward: run(layer, x (T, B, I), state, lengths (B,) | None, trace | None) -> (out, state);
# step: run(layer, x (B, I), state) -> (out (B, H), state). Sequence kernels (one direction of one layer) go
# through the layer's loop over layers and directions (``Recurrent.run_directions``); ``None`` there is the
# reference loop.

def _reference(layer, x, state, lengths, trace):
    return layer.run_directions(x, state, lengths, None, trace)


def _sequence(kernel: str) -> Callable:
    """A row that runs the sequence kernel the cell declares as ``cell.kernels.<kernel>``."""
    def run(layer, x, state, lengths, trace):
        return layer.run_directions(x, state, lengths, getattr(layer.cell.kernels, kernel))

    return run


def _bptt_regularized(layer, x, state, lengths, trace):
    kernel = partial(layer.cell.kernels.bptt, zoneout_p=layer.zoneout, dropout_p=layer.recurrent_dropout,
                     training=layer.training)
    return layer.run_directions(x, state, lengths, kernel)


def _reference_step(layer, x, state):
    return layer.step_layers(x, state, layer.cell.step)


def _fused_step(layer, x, state):
    return layer.step_layers(x, state, partial(fused.fused_step, layer.cell.kernels.fused))


def _graphed_step(layer, x, state):
    if layer.backend == "fused":
        return cuda_graphs.graphed_step(layer, x, state, partial(fused.fused_step, layer.cell.kernels.fused))
    return cuda_graphs.graphed_step(layer, x, state, layer.cell.step)


def _declares(kernel: str) -> Callable[[type[RecurrentCell]], bool]:
    """The cells whose ``kernels.<kernel>`` is set."""
    return lambda cell: getattr(cell.kernels, kernel) is not None


def _bptt_with(regularizes: bool) -> Callable[[type[RecurrentCell]], bool]:
    """The cells with a ``bptt`` kernel that applies zoneout and variational dropout itself, or one that does not."""
    return lambda cell: cell.kernels.bptt is not None and cell.kernels.bptt_regularizes == regularizes


@dataclass(frozen=True)
class Backend:
    """One row: which calls it may run, and the function that runs them. The defaults are "no limit",
    except ``regularized``: only rows that say so run zoneout or variational dropout."""

    name: str
    call: str  # "forward" (a whole sequence) or "step" (one input, streaming)
    requested: tuple[str, ...]  # the layer settings that allow this row
    cells: Callable[[type[RecurrentCell]], bool] | None  # which cells' declarations it reads; None: every cell
    run: Callable
    device: str | None = None  # "cpu" or "cuda"; None for any
    float32_only: bool = False
    grad: bool = True  # computes gradients
    lengths: bool = True  # runs padded batches
    exportable: bool = True  # traceable by torch.export
    dropout: bool = True  # applies dropout between layers in training
    batch_one: bool = False  # runs batch 1 only (where another row is faster at larger batches)
    available: Callable[[], bool] = lambda: True  # the kernel can run here (built, installed)
    regularized: bool = False  # runs zoneout and (in training) variational dropout

    def runs(self, cell: type[RecurrentCell]) -> bool:
        """``cell`` declares this row's kernel (the reference rows run every cell)."""
        return self.cells is None or self.cells(cell)


_CPU_INFERENCE = dict(device="cpu", float32_only=True, grad=False, exportable=False, available=cpp.available)
_FAST = ("fused", "native")
# CUDA graphs (opt-in with RNNKIT_CUDA_GRAPHS=1 until a GPU session has measured them; see kernels/cuda_graphs.py).
_GRAPHS = dict(device="cuda", exportable=False)

TABLE: tuple[Backend, ...] = (
    Backend("cpp", "forward", _FAST, _declares("cpp_sequence"), _sequence("cpp_sequence"), lengths=False,
            **_CPU_INFERENCE),
    Backend("cpp", "forward", _FAST, _declares("cpp_sequence_batch_one"), _sequence("cpp_sequence_batch_one"),
            lengths=False, batch_one=True, **_CPU_INFERENCE),
    Backend("triton-graph", "forward", ("native",), _declares("triton_graphed"), _sequence("triton_graphed"),
            float32_only=True, available=lambda: HAVE_TRITON and cuda_graphs.enabled(), **_GRAPHS),
    Backend("triton", "forward", ("native",), _declares("triton"), _sequence("triton"), device="cuda",
            float32_only=True, exportable=False, available=lambda: HAVE_TRITON),
    Backend("fused", "forward", ("fused",), _declares("fused"), fused.run, exportable=False),
    # Under torch.export the lengths are symbolic: the fused kernel traces only without them.
    Backend("fused", "forward", ("fused",), _declares("fused"), fused.run, lengths=False),
    # After the fused rows, so a plain LSTM keeps torch.nn's kernel and comes here only with zoneout or
    # variational dropout; the cells torch.nn cannot run always do.
    Backend("bptt", "forward", _FAST, _bptt_with(regularizes=True), _bptt_regularized, exportable=False,
            regularized=True),
    Backend("bptt", "forward", _FAST, _bptt_with(regularizes=False), _sequence("bptt"), exportable=False),
    Backend("reference", "forward", BACKENDS, None, _reference, regularized=True),
    Backend("cpp", "step", _FAST, _declares("cpp"), cpp.stack_step, dropout=False, **_CPU_INFERENCE),
    Backend("cuda-graph", "step", _FAST, None, _graphed_step, grad=False, dropout=False,
            available=lambda: cuda_graphs.enabled(), **_GRAPHS),
    Backend("fused", "step", ("fused",), _declares("fused"), _fused_step, regularized=True),  # zoneout: in step_layers
    Backend("reference", "step", BACKENDS, None, _reference_step, regularized=True),
)


def rows_for(cell: type[RecurrentCell], call: str) -> list[Backend]:
    """The rows of :data:`TABLE` that run ``cell`` for ``call`` (``"forward"`` or ``"step"``): one per kernel, in
    table order (the fused kernel's second row, for ``torch.export``, is the same kernel and left out)."""
    rows = []
    for row in TABLE:
        if row.call == call and row.runs(cell) and all(seen.run is not row.run for seen in rows):
            rows.append(row)
    return rows


def resolve(cell: type[RecurrentCell], backend: str) -> str:
    """The layer's setting for ``backend``: ``"auto"`` → fused, else native, else reference; a setting with
    no kernel for ``cell`` is a ``ValueError`` that says which settings can run it."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    if backend == "fused" and cell.kernels.fused is None:
        raise ValueError(f"the {cell.name!r} cell has no fused kernel: torch.nn/cuDNN compute a "
                         "different function; use backend='native' or 'reference' (or 'auto')")
    if backend == "native" and not cell.kernels.own:
        own = [name for name, other in CELLS.items() if other.kernels.own]
        raise ValueError(f"the {cell.name!r} cell has no native kernel (cells with one: {', '.join(own)}); use "
                         "'fused' or 'reference' (or 'auto')")
    if backend == "auto":
        if cell.kernels.fused is not None:
            return "fused"
        return "native" if cell.kernels.own else "reference"
    return backend


@cache  # the table is fixed: each distinct call is looked up once (step() runs per input)
def pick(cell: type[RecurrentCell], device: str, needs_grad: bool, requested: str, float32: bool,
         call: str = "forward", lengths: bool = False, record: bool = False, exporting: bool = False,
         dropout: bool = False, regularized: bool = False, batch_one: bool = False) -> tuple[str, Callable]:
    """The first row of :data:`TABLE` that may run this call: its name (one of those in the module docstring)
    and its ``run`` function.

    ``device`` is ``"cpu"``/``"cuda"``/…; ``needs_grad``: autograd will differentiate the result;
    ``requested``: the layer's resolved ``backend`` setting; ``float32``: the input is float32; ``call``:
    ``"forward"`` or ``"step"``; ``lengths``: the batch is padded; ``record``: a trace of every gate is
    wanted (only the reference loop keeps one); ``exporting``: ``torch.export`` is tracing the call;
    ``dropout``: dropout between layers is active; ``regularized``: zoneout, or variational dropout in
    training, is on; ``batch_one``: the batch holds one sequence.
    """
    for row in TABLE:
        if row.call != call or requested not in row.requested or not row.runs(cell):
            continue
        if (row.device and row.device != device) or (row.float32_only and not float32):
            continue
        if (needs_grad and not row.grad) or (lengths and not row.lengths) or (dropout and not row.dropout):
            continue
        if (exporting and not row.exportable) or (record and row.name != "reference"):
            continue
        if (regularized and not row.regularized) or (row.batch_one and not batch_one):
            continue
        if row.available():
            return row.name, row.run
    raise AssertionError("unreachable: the reference rows accept every call")
