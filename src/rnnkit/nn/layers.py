"""``Recurrent``: run any cell over a sequence — stacked, bidirectional, variable lengths, streaming.

Shapes: T steps, B sequences, I input features, H hidden units, L layers, D = 2 if bidirectional else 1.
Parameters are named exactly like ``torch.nn.RNN/LSTM/GRU`` (``weight_ih_l0``, ``bias_hh_l1_reverse``,
…), so ``layer.load_state_dict(torch.nn.LSTM(...).state_dict())`` works, and the reverse.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn import cpu_infer
from rnnkit.nn.cells import RecurrentCell, State, Trace, get_cell, init_parameters
from rnnkit.nn.fused import flatten_for_cudnn, fused_step, run_fused
from rnnkit.nn.native import NATIVE_KERNELS, NATIVE_STEPS

BACKENDS = ("auto", "reference", "fused", "native")
COMPILED_CELLS = ("rnn", "rnn-relu", "lstm", "gru", "gru-reset-before")  # cells csrc/infer.cpp implements
# Whole-sequence inference with the compiled loop: faster than nn.GRU / the native kernel at every batch
# measured (T=128, H=128/256, B=1..64, 2 threads: 1.3-7x), since its gates are squashed by one vectorised
# call per block. LSTM and Elman stay on oneDNN, which is as fast or faster.
COMPILED_SEQUENCE_CELLS = ("gru", "gru-reset-before")


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (T, B, …) within its own length; padding stays where it is."""
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    n = lengths.to(x.device).unsqueeze(0)  # (1, B)
    idx = torch.where(t < n, n - 1 - t, t)  # (T, B)
    return x.gather(0, idx.view(T, -1, *([1] * (x.dim() - 2))).expand_as(x))


def _map_state(fn, *states: State) -> State:
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states, strict=True))  # type: ignore[return-value]
    return fn(*states)


def _hidden(state: State) -> Tensor:
    return state[0] if isinstance(state, tuple) else state


class Recurrent(nn.Module):
    """A recurrent layer: ``cell`` run over time, ``num_layers`` deep, optionally in both directions.

    Args:
        cell: ``"rnn"``, ``"rnn-relu"``, ``"lstm"``, ``"gru"`` (reset-after, = ``torch.nn.GRU``) or
            ``"gru-reset-before"`` (the lecture's GRU), or a :class:`RecurrentCell` subclass.
        dropout: dropout on the outputs of every layer but the last (as ``torch.nn``).
        batch_first: inputs and outputs are (B, T, ·) instead of (T, B, ·); states stay (L*D, B, H).
        backend: ``"reference"`` (the Python loop over :meth:`RecurrentCell.step`), ``"fused"``
            (the ``torch.nn`` kernel, only for cells it computes exactly), ``"native"`` (rnnkit's own
            sequence kernel with hand-written BPTT, for cells no library computes: the reset-before GRU)
            or ``"auto"`` (fused, else native, else reference). The chosen one is ``self.backend``.
        forget_bias: initial LSTM forget-gate bias (Jozefowicz et al. 2015).
    """

    def __init__(self, cell: str | type[RecurrentCell], input_size: int, hidden_size: int,
                 num_layers: int = 1, *, bidirectional: bool = False, dropout: float = 0.0,
                 batch_first: bool = False, bias: bool = True, backend: str = "auto",
                 forget_bias: float = 1.0) -> None:
        super().__init__()
        self.cell = get_cell(cell)
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout acts between layers; with num_layers=1 it has no effect", stacklevel=2)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.batch_first, self.bias = bidirectional, batch_first, bias
        self.dropout = dropout
        self.num_directions = 2 if bidirectional else 1
        self.backend = self._resolve_backend(backend)

        self._weight_names: list[list[str]] = []  # per (layer, direction), in torch's flat order
        gates = self.cell.num_gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                names = []
                for kind, shape in shapes.items():
                    self.register_parameter(kind + suffix, nn.Parameter(torch.empty(shape)))
                    names.append(kind + suffix)
                self._weight_names.append(names)
        self.forget_bias = forget_bias
        self._transposed = cpu_infer.TransposedWeights()
        self.reset_parameters()

    def _resolve_backend(self, backend: str) -> str:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
        if backend == "fused" and self.cell.fused_mode is None:
            raise ValueError(f"the {self.cell.name!r} cell has no fused kernel: torch.nn/cuDNN compute a "
                             "different function; use backend='native' or 'reference' (or 'auto')")
        if backend == "native" and self.cell.name not in NATIVE_KERNELS:
            raise ValueError(f"the {self.cell.name!r} cell has no native kernel (cells with one: "
                             f"{', '.join(NATIVE_KERNELS)}); use 'fused' or 'reference' (or 'auto')")
        if backend == "auto":
            if self.cell.fused_mode is not None:
                return "fused"
            return "native" if self.cell.name in NATIVE_KERNELS else "reference"
        return backend

    def reset_parameters(self) -> None:
        for names in self._weight_names:
            w = [getattr(self, n) for n in names] + [None, None]
            init_parameters(self.cell, self.hidden_size, w[0], w[1], w[2] if self.bias else None,
                            w[3] if self.bias else None, forget_bias=self.forget_bias)
        self._flatten()

    def _weights(self, index: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        w = [getattr(self, n) for n in self._weight_names[index]]
        return (w[0], w[1], w[2], w[3]) if self.bias else (w[0], w[1], None, None)

    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for names in self._weight_names for n in names]

    def _flatten(self) -> None:
        if self.backend == "fused":
            flatten_for_cudnn(self.cell.fused_mode, self._flat_weights(), has_bias=self.bias,
                              input_size=self.input_size,
                              hidden_size=self.hidden_size, num_layers=self.num_layers,
                              bidirectional=self.bidirectional)

    def _apply(self, fn, recurse=True):  # noqa: ANN001 - torch's signature
        result = super()._apply(fn, recurse)
        self._flatten()
        return result

    # ------------------------------------------------------------------ states

    def zero_state(self, batch: int, like: Tensor | None = None) -> State:
        """Zeros shaped like the state ``forward`` returns: (L*D, B, H), or a pair for LSTM."""
        ref = like if like is not None else self.weight_hh_l0
        h = ref.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
        return (h, h.clone()) if self.cell.has_cell_state else h

    def _check_state(self, state: State, batch: int) -> None:
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        parts = state if isinstance(state, tuple) else (state,)
        if self.cell.has_cell_state and not (isinstance(state, tuple) and len(state) == 2):
            raise ValueError(f"the {self.cell.name} state is a pair (h, c) of tensors {expected}")
        if not self.cell.has_cell_state and isinstance(state, tuple):
            raise ValueError(f"the {self.cell.name} state is one tensor {expected}, not a tuple")
        for part in parts:
            if not isinstance(part, Tensor) or tuple(part.shape) != expected:
                shape = tuple(part.shape) if isinstance(part, Tensor) else type(part).__name__
                raise ValueError(f"initial state must have shape {expected} (layers*directions, batch, "
                                 f"hidden), got {shape}")

    def _check_lengths(self, lengths: Tensor | list[int], T: int, B: int) -> Tensor:
        lengths = torch.as_tensor(lengths)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.shape != (B,):
            raise ValueError(f"lengths must be {B} integers (one per sequence), got {lengths.dtype} of shape "
                             f"{tuple(lengths.shape)}")
        lengths = lengths.to("cpu", torch.int64)
        if bool((lengths < 1).any()) or bool((lengths > T).any()):
            raise ValueError(f"every length must be in [1, {T}] (the sequence has {T} steps), got "
                             f"min {int(lengths.min())}, max {int(lengths.max())}")
        return lengths

    # ----------------------------------------------------------------- forward

    def forward(self, x: Tensor, state: State | None = None, *, lengths: Tensor | list[int] | None = None,
                record: bool = False) -> tuple[Tensor, State] | tuple[Tensor, State, Trace]:
        """Run the layer over a (padded) batch of sequences.

        Args:
            x: (T, B, I), or (B, T, I) if ``batch_first``.
            state: initial state (L*D, B, H) — a pair for LSTM — or ``None`` for zeros.
            lengths: (B,) true lengths in [1, T]; outputs past a length are zero and the final state
                is the state at that sequence's own last step (in the reverse direction: its first).
            record: also return a trace ``{"l0.f": (T, B, H), "l0_reverse.c": …}`` of every gate and
                state per step (zero past each length). Recording runs the reference loop, which
                computes the same function as the fused and native kernels.

        Returns:
            ``(out, state)`` — out: (T, B, D*H) (or batch-first), state like ``torch.nn`` — and the
            trace when ``record`` is set.
        """
        if x.dim() != 3:
            raise ValueError(f"expected a 3-D input {'(B, T, I)' if self.batch_first else '(T, B, I)'}, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected input size {self.input_size} (last dimension), got {x.shape[-1]}")
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        if T == 0 or B == 0:
            raise ValueError(f"empty input: {T} steps, batch of {B}")
        if lengths is not None:
            lengths = self._check_lengths(lengths, T, B)
            if bool((lengths == T).all()):  # nothing is padded: the same function without packing, which on
                lengths = None  # CPU sends torch's GRU/RNN (and uneven LSTM) batches to kernels 10-90x slower
        if state is None:
            state = self.zero_state(B, like=x)
        else:
            self._check_state(state, B)

        trace: Trace | None = {} if record else None
        if (not record and lengths is None and self.backend != "reference"
                and self.cell.name in COMPILED_SEQUENCE_CELLS and cpu_infer.usable(x, self._flat_weights())):
            out, final = self._forward_compiled(x, state)
        elif self.backend == "fused" and not record:
            out, final = run_fused(self.cell.fused_mode, x, state, self._flat_weights(), has_bias=self.bias,
                                   num_layers=self.num_layers, dropout=self.dropout, training=self.training,
                                   bidirectional=self.bidirectional, lengths=lengths)
        else:
            out, final = self._forward_reference(x, state, lengths, trace)
        if self.batch_first:
            out = out.transpose(0, 1)
        return (out, final, trace) if record else (out, final)

    def _forward_reference(self, x: Tensor, state: State, lengths: Tensor | None,
                           trace: Trace | None) -> tuple[Tensor, State]:
        T = x.shape[0]
        steps = T if lengths is None else int(lengths.max())
        mask = None
        if lengths is not None:
            dev_lengths = lengths.to(x.device)
            mask = (torch.arange(steps, device=x.device).unsqueeze(1) < dev_lengths).unsqueeze(2)  # (T', B, 1)
        else:
            dev_lengths = None
        layer_input = x[:steps]
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                s0 = _map_state(lambda s, i=index: s[i], state)
                inp = reverse_padded(layer_input, dev_lengths) if direction else layer_input
                name = f"l{layer}" + ("_reverse" if direction else "")
                if self.backend == "native" and trace is None:
                    out, final = NATIVE_KERNELS[self.cell.name](inp, s0, *self._weights(index), mask)
                else:
                    out, final = self._run_direction(inp, s0, self._weights(index), mask, trace, name)
                if direction:
                    out = reverse_padded(out, dev_lengths)
                    if trace is not None:
                        for key in [k for k in trace if k.startswith(name + ".")]:
                            trace[key] = reverse_padded(trace[key], dev_lengths)
                outputs.append(out)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            if self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        out = layer_input
        if steps < T:
            out = torch.cat([out, out.new_zeros(T - steps, *out.shape[1:])])
            if trace is not None:
                for key, value in trace.items():
                    trace[key] = torch.cat([value, value.new_zeros(T - steps, *value.shape[1:])])
        return out, _map_state(lambda *parts: torch.stack(parts), *finals)

    def _forward_compiled(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Inference of the GRUs with the compiled loop (``cpu_infer``): same function, no lengths."""
        layer_input, finals = x, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                inp = layer_input.flip(0) if direction else layer_input
                out, final = cpu_infer.gru_sequence(self.cell.name, inp, state[index], self._weights(index),
                                                    self._transposed)
                outputs.append(out.flip(0) if direction else out)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            if self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        return layer_input, torch.stack(finals)

    def _run_direction(self, x: Tensor, state: State, weights, mask: Tensor | None, trace: Trace | None,
                       name: str) -> tuple[Tensor, State]:
        """The BPTT unroll of one direction of one layer: x (T, B, I) -> outputs (T, B, H), final state."""
        outputs, records = [], []
        for t in range(x.shape[0]):
            step_trace: Trace | None = {} if trace is not None else None
            new = self.cell.step(x[t], state, *weights, trace=step_trace)
            if mask is not None:  # past its length a sequence keeps its state and outputs zeros
                m = mask[t]
                new = _map_state(lambda n, s, m=m: torch.where(m, n, s), new, state)
                outputs.append(_hidden(new) * m)
                if step_trace is not None:
                    step_trace = {k: v * m for k, v in step_trace.items()}
            else:
                outputs.append(_hidden(new))
            if step_trace is not None:
                records.append(step_trace)
            state = new
        if trace is not None:
            for key in records[0]:
                trace[f"{name}.{key}"] = torch.stack([r[key] for r in records])
        return torch.stack(outputs), state

    # --------------------------------------------------------------- streaming

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Advance every layer by one input, for streaming. x: (B, I) -> (out (B, H), state).

        ``step`` applied T times gives the same outputs and state as ``forward`` on the sequence.
        Only for unidirectional layers (the reverse direction needs the whole sequence).
        """
        if self.bidirectional:
            raise ValueError("step() streams one input at a time; a bidirectional layer needs the whole "
                             "sequence — call the layer on it instead")
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"step() expects input of shape (B, {self.input_size}), got {tuple(x.shape)}")
        if state is None:
            state = self.zero_state(x.shape[0], like=x)
        else:
            self._check_state(state, x.shape[0])
        compiled = self.backend != "reference" and self.cell.name in COMPILED_CELLS
        if compiled and (self.dropout == 0 or not self.training) and cpu_infer.usable(x, self._flat_weights()):
            weights = cpu_infer.stack_weights([self._weights(i) for i in range(self.num_layers)], self._transposed)
            return cpu_infer.stack_step(self.cell.name, x, state, weights)
        if self.backend == "fused":
            mode = self.cell.fused_mode
            step = lambda inp, s, *w: fused_step(mode, inp, s, *w)  # noqa: E731
        elif self.backend == "native":
            step = NATIVE_STEPS[self.cell.name]
        else:
            step = self.cell.step
        new_states = []
        inp = x
        for layer in range(self.num_layers):
            s = step(inp, _map_state(lambda p, i=layer: p[i], state), *self._weights(layer))
            new_states.append(s)
            inp = _hidden(s)
            if self.dropout > 0 and layer < self.num_layers - 1:
                inp = F.dropout(inp, self.dropout, self.training)
        return inp, _map_state(lambda *parts: torch.stack(parts), *new_states)

    def extra_repr(self) -> str:
        extras = [f"{self.cell.name!r}", f"{self.input_size}", f"{self.hidden_size}",
                  f"num_layers={self.num_layers}", f"backend={self.backend!r}"]
        if self.bidirectional:
            extras.append("bidirectional=True")
        if self.dropout:
            extras.append(f"dropout={self.dropout}")
        if self.batch_first:
            extras.append("batch_first=True")
        return ", ".join(extras)
