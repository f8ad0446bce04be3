"""``Recurrent``: run any cell over a sequence — stacked, bidirectional, variable lengths, streaming.

Shapes: T steps, B sequences, I input features, H hidden units, L layers, D = 2 if bidirectional else 1.
Parameters are named exactly like ``torch.nn.RNN/LSTM/GRU`` (``weight_ih_l0``, ``bias_hh_l1_reverse``,
…), so ``layer.load_state_dict(torch.nn.LSTM(...).state_dict())`` works, and the reverse.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn.backends import BACKENDS, pick, resolve
from rnnkit.nn.cells import RecurrentCell, Trace, get_cell, init_parameters
from rnnkit.nn.kernels.fused import flatten_for_cudnn
from rnnkit.nn.regularizers import check_probability, variational_mask, zoneout
from rnnkit.nn.state import State, hidden, is_pair, map_state, stack

__all__ = ["BACKENDS", "Recurrent", "reverse_padded"]


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (T, B, …) within its own length; padding stays where it is."""
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    n = lengths.to(x.device).unsqueeze(0)  # (1, B)
    idx = torch.where(t < n, n - 1 - t, t)  # (T, B)
    return x.gather(0, idx.view(T, -1, *([1] * (x.dim() - 2))).expand_as(x))


class Recurrent(nn.Module):
    """A recurrent layer: ``cell`` run over time, ``num_layers`` deep, optionally in both directions.

    Args:
        cell: a registered cell's name (:data:`rnnkit.nn.CELLS`: ``"rnn"``, ``"rnn-relu"``, ``"lstm"``,
            ``"gru"`` (reset-after, = ``torch.nn.GRU``), ``"gru-reset-before"`` (the lecture's GRU),
            ``"lstm-layernorm"`` (Ba et al. 2016), …) or a :class:`RecurrentCell` subclass.
        dropout: dropout on the outputs of every layer but the last (as ``torch.nn``).
        batch_first: inputs and outputs are (B, T, ·) instead of (T, B, ·); states stay (L*D, B, H).
        backend: which kernels the layer may use: ``"reference"`` (the Python loop over
            :meth:`RecurrentCell.step`), ``"fused"`` (``torch.nn``'s kernel, only for cells it computes
            exactly, and rnnkit's where it is faster or torch.nn's cannot run the call), ``"native"`` (rnnkit's
            own kernels only, never torch.nn's: for cells whose ``kernels`` declare a ``bptt`` kernel) or
            ``"auto"`` (fused, else native, else reference). The resolved setting is ``self.backend``;
            each call runs the first backend of the table in :mod:`rnnkit.nn.backends` that the setting
            allows and the call fits (e.g. the ``cpp`` loop for CPU inference without gradients), and
            ``self.last_backend`` names the one that ran.
        forget_bias: initial LSTM forget-gate bias (Jozefowicz et al. 2015).
        zoneout: probability that a unit keeps its previous h (and c) at a step (Krueger et al. 2017);
            training draws it per unit and step, evaluation uses the expectation. See
            :mod:`rnnkit.nn.regularizers`.
        recurrent_dropout: variational dropout (Gal & Ghahramani 2016): one mask per sequence on each
            layer's input x_t and on the h_{t-1} the recurrent weights read, the same at every step;
            training only.
    """

    def __init__(self, cell: str | type[RecurrentCell], input_size: int, hidden_size: int,
                 num_layers: int = 1, *, bidirectional: bool = False, dropout: float = 0.0,
                 batch_first: bool = False, bias: bool = True, backend: str = "auto",
                 forget_bias: float = 1.0, zoneout: float = 0.0, recurrent_dropout: float = 0.0) -> None:
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
        self.zoneout = check_probability("zoneout", zoneout)
        self.recurrent_dropout = check_probability("recurrent_dropout", recurrent_dropout)
        self.num_directions = 2 if bidirectional else 1
        self.backend = resolve(self.cell, backend)
        self.last_backend: str | None = None  # the backend that ran the last forward or step

        self._weight_names: list[list[str]] = []  # per (layer, direction), in torch's flat order
        self._extra_names: list[list[str]] = []  # per (layer, direction): the cell's extra_parameters
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
                extra = []
                for kind, units, _ in self.cell.extra_parameters:
                    self.register_parameter(kind + suffix, nn.Parameter(torch.empty(units * hidden_size)))
                    extra.append(kind + suffix)
                self._extra_names.append(extra)
        self.forget_bias = forget_bias
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every layer's weights as ``torch.nn`` does, U(−1/√H, 1/√H), with the LSTM's forget
        bias at ``forget_bias`` (:func:`rnnkit.nn.cells.init_parameters`)."""
        for names in self._weight_names:
            w = [getattr(self, n) for n in names] + [None, None]
            init_parameters(self.cell, self.hidden_size, w[0], w[1], w[2] if self.bias else None,
                            w[3] if self.bias else None, forget_bias=self.forget_bias)
        with torch.no_grad():
            for names in self._extra_names:
                for name, (_, _, value) in zip(names, self.cell.extra_parameters, strict=True):
                    getattr(self, name).fill_(value)
        self._flatten()

    def _weights(self, index: int) -> tuple[Tensor | None, ...]:
        """weight_ih, weight_hh, bias_ih, bias_hh (``None`` without bias), then the cell's extra parameters."""
        w = [getattr(self, n) for n in self._weight_names[index]]
        extra = tuple(getattr(self, n) for n in self._extra_names[index])
        return ((w[0], w[1], w[2], w[3]) if self.bias else (w[0], w[1], None, None)) + extra

    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for names in self._weight_names for n in names] + [
            getattr(self, n) for names in self._extra_names for n in names]

    def _flatten(self) -> None:
        if self.backend == "fused":
            flatten_for_cudnn(self.cell.kernels.fused, self._flat_weights(), has_bias=self.bias,
                              input_size=self.input_size,
                              hidden_size=self.hidden_size, num_layers=self.num_layers,
                              bidirectional=self.bidirectional)

    def _apply(self, fn, recurse=True):  # noqa: ANN001 - torch's signature
        result = super()._apply(fn, recurse)
        self._flatten()
        return result

    def _pick(self, x: Tensor, *, call: str, lengths: bool = False, record: bool = False) -> Callable:
        """The backend for this call (see :mod:`rnnkit.nn.backends`); records its name in ``last_backend``."""
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self._flat_weights()))
        device = "cpu" if x.is_cpu else x.device.type
        regularized = self.zoneout > 0 or (self.training and self.recurrent_dropout > 0)
        batch_one = call == "forward" and x.shape[1] == 1  # x (T, B, I); step() rows take any batch
        name, run = pick(self.cell, device, needs_grad, self.backend, x.dtype == torch.float32, call,
                         lengths, record, torch.compiler.is_exporting(), self.training and self.dropout > 0,
                         regularized, batch_one)
        object.__setattr__(self, "last_backend", name)  # a plain attribute: skip nn.Module's slower __setattr__
        return run

    # ------------------------------------------------------------------ states

    def zero_state(self, batch: int, like: Tensor | None = None) -> State:
        """Zeros shaped like the state ``forward`` returns: (L*D, B, H), or a pair for LSTM."""
        ref = like if like is not None else self.weight_hh_l0
        h = ref.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
        return (h, h.clone()) if self.cell.has_cell_state else h

    def _check_state(self, state: State, batch: int) -> None:
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if self.cell.has_cell_state and not (is_pair(state) and len(state) == 2):
            raise ValueError(f"the {self.cell.name} state is a pair (h, c) of tensors {expected}")
        if not self.cell.has_cell_state and is_pair(state):
            raise ValueError(f"the {self.cell.name} state is one tensor {expected}, not a tuple")
        for part in state if is_pair(state) else (state,):
            if not isinstance(part, Tensor) or part.shape != expected:
                shape = tuple(part.shape) if isinstance(part, Tensor) else type(part).__name__
                raise ValueError(f"initial state must have shape {expected} (layers*directions, batch, "
                                 f"hidden), got {shape}")

    def _check_lengths(self, lengths: Tensor | list[int], T: int, B: int) -> Tensor:
        lengths = torch.as_tensor(lengths)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.shape != (B,):
            raise ValueError(f"lengths must be {B} integers (one per sequence), got {lengths.dtype} of shape "
                             f"{tuple(lengths.shape)}")
        lengths = lengths.to("cpu", torch.int64)
        if _tracing():  # the values are symbolic: a data-dependent check cannot be traced (eager calls keep it)
            return lengths
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
                computes the same function as the other backends.

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
            # Nothing padded: the same function without packing, which on CPU sends torch's GRU/RNN (and
            # uneven LSTM) batches to kernels 10-90x slower. A traced call cannot look at the values.
            if not _tracing() and bool((lengths == T).all()):
                lengths = None
        if state is None:
            state = self.zero_state(B, like=x)
        else:
            self._check_state(state, B)

        trace: Trace | None = {} if record else None
        run = self._pick(x, call="forward", lengths=lengths is not None, record=record)
        out, final = run(self, x, state, lengths, trace)
        if self.batch_first:
            out = out.transpose(0, 1)
        return (out, final, trace) if record else (out, final)

    def run_directions(self, x: Tensor, state: State, lengths: Tensor | None, kernel: Callable | None = None,
                       trace: Trace | None = None) -> tuple[Tensor, State]:
        """Every layer, every direction, one direction at a time: x (T, B, I) → (out (T, B, D*H), state).

        ``kernel(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, mask) -> (out, final)`` runs one
        direction of one layer (a backend's sequence kernel); ``None`` runs the reference loop below,
        which also fills ``trace``. The reverse direction reads each sequence reversed within its length.
        """
        T = x.shape[0]
        steps = T if lengths is None or _tracing() else int(lengths.max())
        mask = None
        dev_lengths = None
        if lengths is not None:
            dev_lengths = lengths.to(x.device)
            mask = (torch.arange(steps, device=x.device).unsqueeze(1) < dev_lengths).unsqueeze(2)  # (T', B, 1)
        layer_input = x[:steps]
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                s0 = map_state(lambda s, i=index: s[i], state)
                inp = reverse_padded(layer_input, dev_lengths) if direction else layer_input
                name = f"l{layer}" + ("_reverse" if direction else "")
                if kernel is None:
                    out, final = self._run_direction(inp, s0, self._weights(index), mask, trace, name)
                else:
                    out, final = kernel(inp, s0, *self._weights(index), mask)
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
        return out, stack(finals)

    def _run_direction(self, x: Tensor, state: State, weights: tuple, mask: Tensor | None, trace: Trace | None,
                       name: str) -> tuple[Tensor, State]:
        """The BPTT unroll of one direction of one layer: x (T, B, I) -> outputs (T, B, H), final state."""
        outputs, records = [], []
        masks = None  # variational dropout: one mask per sequence for x_t and for the h the weights read
        if self.training and self.recurrent_dropout > 0:
            p = self.recurrent_dropout
            masks = (variational_mask(x.shape[1], x.shape[2], p, x),
                     variational_mask(x.shape[1], self.hidden_size, p, x))
        for t in range(x.shape[0]):
            step_trace: Trace | None = {} if trace is not None else None
            if masks is None:
                new = self.cell.step(x[t], state, *weights, trace=step_trace)
            else:
                new = self.cell.step(x[t] * masks[0], state, *weights, trace=step_trace, h_in=hidden(state) * masks[1])
            if self.zoneout > 0:
                new = zoneout(new, state, self.zoneout, self.training)
                if step_trace is not None:  # the trace shows the state the layer carries on
                    step_trace["h"] = hidden(new)
                    if is_pair(new):
                        step_trace["c"] = new[1]
            if mask is not None:  # past its length a sequence keeps its state and outputs zeros
                m = mask[t]
                new = map_state(lambda n, s, m=m: torch.where(m, n, s), new, state)
                outputs.append(hidden(new) * m)
                if step_trace is not None:
                    step_trace = {k: v * m for k, v in step_trace.items()}
            else:
                outputs.append(hidden(new))
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
        if self.training and self.recurrent_dropout > 0:
            raise ValueError("step() cannot keep variational dropout's per-sequence masks between calls; call "
                             "layer.eval() to stream (evaluation uses no mask), or run the whole sequence")
        if state is None:
            state = self.zero_state(x.shape[0], like=x)
        else:
            self._check_state(state, x.shape[0])
        run = self._pick(x, call="step")
        return run(self, x, state)

    def step_layers(self, x: Tensor, state: State, step: Callable) -> tuple[Tensor, State]:
        """One input through every layer with ``step(x, state, *weights) -> state`` (a cell's step, or a
        backend's kernel of it): x (B, I), state (L, B, H) or a pair → (top output (B, H), new state)."""
        new_states = []
        inp = x
        for layer in range(self.num_layers):
            old = map_state(lambda p, i=layer: p[i], state)
            s = step(inp, old, *self._weights(layer))
            if self.zoneout > 0:
                s = zoneout(s, old, self.zoneout, self.training)
            new_states.append(s)
            inp = hidden(s)
            if self.dropout > 0 and layer < self.num_layers - 1:
                inp = F.dropout(inp, self.dropout, self.training)
        return inp, stack(new_states)

    def extra_repr(self) -> str:
        extras = [f"{self.cell.name!r}", f"{self.input_size}", f"{self.hidden_size}",
                  f"num_layers={self.num_layers}", f"backend={self.backend!r}"]
        if self.bidirectional:
            extras.append("bidirectional=True")
        if self.dropout:
            extras.append(f"dropout={self.dropout}")
        if self.zoneout:
            extras.append(f"zoneout={self.zoneout}")
        if self.recurrent_dropout:
            extras.append(f"recurrent_dropout={self.recurrent_dropout}")
        if self.batch_first:
            extras.append("batch_first=True")
        return ", ".join(extras)


def _tracing() -> bool:
    """True while torch.export, torch.compile or torch.jit.trace records the call (values are symbolic)."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()
