"""What a cell declares it can do, besides its equations: the kernels that compute it, and its ONNX operator.

A cell class (:mod:`rnnkit.nn.cells`) sets ``kernels = Kernels(...)`` and, where one of ONNX's own operators
computes it, ``onnx = OnnxMapping(...)``. Nothing else names cells: the backend table
(:mod:`rnnkit.nn.backends`), the ONNX export (:mod:`rnnkit.nn.onnx`), the speed harness and the gate traces
read these declarations, and ``tests/test_backends.py`` runs every kernel declared here against the cell's
reference loop. A new cell with none of them runs on the reference loop (``cell.step`` over time), which is
the definition the kernels are held to.

A *sequence kernel* runs one direction of one layer: ``kernel(x (T, B, I), state, weight_ih, weight_hh,
bias_ih, bias_hh, *extra_parameters, mask (T, B, 1) | None) -> (out (T, B, H), final state)``, the interface
of :meth:`rnnkit.nn.layers.Recurrent.run_directions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kernels:
    """The fast paths that compute a cell's function exactly (the reference loop runs every cell).

    Each field is one backend of :data:`rnnkit.nn.backends.TABLE` (which adds where it runs: device, dtype,
    gradients, padded batches); ``None`` means that backend cannot run the cell.
    """

    fused: str | None = field(default=None, metadata={"help": (
        "backend `fused`: the torch.nn mode that computes *exactly* this function (RNN_TANH, RNN_RELU, LSTM, GRU), "
        "run with the layer's own parameters")})
    cpp: str | None = field(default=None, metadata={"help": (
        "backend `cpp`, step(): the cell's name in the C++ inference loop (kernels/csrc/infer.cpp), which advances "
        "the whole stack in one call")})
    cpp_sequence: Callable[..., Any] | None = field(default=None, metadata={"help": (
        "backend `cpp`, whole unpadded sequences: a sequence kernel around the C++ loop (CPU inference)")})
    cpp_sequence_batch_one: Callable[..., Any] | None = field(default=None, metadata={"help": (
        "backend `cpp` at batch 1 only: a sequence kernel around the C++ loop for a cell whose fused kernel is the "
        "faster one at larger batches (CPU inference)")})
    bptt: Callable[..., Any] | None = field(default=None, metadata={"help": (
        "backend `bptt`: a sequence kernel with the input projection of all steps in one GEMM, the loop under "
        "no_grad and a hand-written backward pass (any device)")})
    bptt_regularizes: bool = field(default=False, metadata={"help": (
        "`bptt` applies zoneout and variational dropout itself (it takes zoneout_p, dropout_p, training); "
        "without it such calls run the reference loop")})
    triton: Callable[..., Any] | None = field(default=None, metadata={"help": (
        "backend `triton`: `bptt` on Triton kernels (CUDA, float32)")})
    triton_graphed: Callable[..., Any] | None = field(default=None, metadata={"help": (
        "backend `triton-graph`: `triton` replayed from CUDA graphs (opt-in: RNNKIT_CUDA_GRAPHS=1)")})

    @property
    def own(self) -> bool:
        """rnnkit has a kernel of its own that trains this cell (what ``backend="native"`` asks for)."""
        return self.bptt is not None


@dataclass(frozen=True)
class OnnxMapping:
    """A cell as one of ONNX's own recurrent operators (operator spec, "Equations"), one node per layer.

    ``gate_order[k]`` is the cell's gate index of ONNX's k-th gate: the weight blocks are reordered, nothing
    else changes. ``attributes`` are the operator's (``activations`` are per direction: given once here).
    """

    operator: str = field(metadata={"help": "RNN, LSTM or GRU"})
    gate_order: tuple[int, ...] = field(metadata={"help": "for each of ONNX's gates, in ONNX's order, the cell's "
                                                          "gate index"})
    attributes: dict[str, Any] = field(default_factory=dict, metadata={"help": "the operator's attributes"})
