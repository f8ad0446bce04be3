"""The lecture's recurrent cells: one time step each, written like the equations.

Every cell is a pure function of the input, the previous state and four parameter tensors laid out
exactly like ``torch.nn`` (so weights of ``torch.nn.RNN/LSTM/GRU`` mean the same thing here):

=========  =====  ==============  =========================================
cell       gates  gate order      state
=========  =====  ==============  =========================================
rnn        1      (h)             h
lstm       4      i, f, g, o      (h, c)
gru        3      r, z, n         h
=========  =====  ==============  =========================================

``weight_ih``: (G*H, I), ``weight_hh``: (G*H, H), ``bias_ih``/``bias_hh``: (G*H,).

Shapes in this module: ``x`` is (B, I), ``h`` and ``c`` are (B, H).

Each cell class is also an ``nn.Module`` owning its own four parameters (like ``torch.nn.LSTMCell``),
while the :class:`~rnnkit.nn.layers.Recurrent` layer owns ``weight_ih_l{k}`` … and calls the same
static :meth:`RecurrentCell.step` with them. The two GRU variants differ only in where the reset gate
acts; see ``docs/cells.md``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

# A state is h for Elman/GRU and (h, c) for LSTM, as in torch.nn.
State = Tensor | tuple[Tensor, Tensor]
Trace = dict[str, Tensor]


class RecurrentCell(nn.Module):
    """Base class: one time step ``(x_t, state_{t-1}) -> state_t``.

    Subclasses set the class attributes and implement :meth:`step`. ``fused_mode`` names the
    ``torch.nn`` kernel that computes *exactly* the same function (``None`` if none does).
    """

    name: ClassVar[str]
    num_gates: ClassVar[int]
    gate_names: ClassVar[tuple[str, ...]]
    has_cell_state: ClassVar[bool] = False
    fused_mode: ClassVar[str | None] = None
    equation: ClassVar[str]

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size}, {hidden_size}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        g = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(g)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_parameters(type(self), self.hidden_size, self.weight_ih, self.weight_hh, self.bias_ih,
                        self.bias_hh)

    @classmethod
    def step(cls, x: Tensor, state: State, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, trace: Trace | None = None) -> State:
        """Advance one step. If ``trace`` is a dict, the gate activations are stored in it."""
        raise NotImplementedError

    @classmethod
    def zero_state(cls, batch: int, hidden_size: int, like: Tensor) -> State:
        """The zero state for ``batch`` sequences, on ``like``'s device and dtype."""
        h = like.new_zeros(batch, hidden_size)
        return (h, h.clone()) if cls.has_cell_state else h

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """x: (B, I); state: h (B, H), or (h, c) for LSTM; ``None`` means zeros."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{self.name} cell expects input of shape (B, {self.input_size}), "
                             f"got {tuple(x.shape)}")
        if state is None:
            state = self.zero_state(x.shape[0], self.hidden_size, x)
        return self.step(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return F.linear(x, weight, bias)


class ElmanCell(RecurrentCell):
    """Elman RNN: h_t = tanh(V x_t + W h_{t-1} + b_h).

    In torch's names V = ``weight_ih``, W = ``weight_hh``, b_h = ``bias_ih + bias_hh``.
    """

    name = "rnn"
    num_gates = 1
    gate_names = ("h",)
    fused_mode = "RNN_TANH"
    equation = "h_t = tanh(V x_t + W h_{t-1} + b_h)"
    activation: ClassVar = staticmethod(torch.tanh)

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None):
        h = cls.activation(_affine(x, weight_ih, bias_ih) + _affine(state, weight_hh, bias_hh))
        if trace is not None:
            trace["h"] = h
        return h


class ElmanReLUCell(ElmanCell):
    """Elman RNN with ReLU: h_t = relu(V x_t + W h_{t-1} + b_h)."""

    name = "rnn-relu"
    fused_mode = "RNN_RELU"
    equation = "h_t = relu(V x_t + W h_{t-1} + b_h)"
    activation: ClassVar = staticmethod(torch.relu)


class LSTMCell(RecurrentCell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    i = σ(W_ii x + b_ii + W_hi h + b_hi)        input gate
    f = σ(W_if x + b_if + W_hf h + b_hf)        forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)     candidate
    o = σ(W_io x + b_io + W_ho h + b_ho)        output gate
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

    The forget-gate bias starts at 1 (Jozefowicz et al. 2015), so the cell remembers by default.
    """

    name = "lstm"
    num_gates = 4
    gate_names = ("i", "f", "g", "o")
    has_cell_state = True
    fused_mode = "LSTM"
    equation = "c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)"

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None):
        h, c = state
        # ┌ i ┐
        # │ f │ = W_i x + b_i + W_h h + b_h, stacked in torch's gate order
        # │ g │
        # └ o ┘
        i, f, g, o = (_affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        if trace is not None:
            trace.update(i=i, f=f, g=g, o=o, c=c, h=h)
        return h, c


class GRUCell(RecurrentCell):
    """Gated recurrent unit, *reset-after* form: the function of ``torch.nn.GRU``, cuDNN and Keras.

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      ← reset applied *after* the matmul
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

    Applying r after W_hn h lets a kernel compute W_h h for all three gates in one GEMM per step,
    which is why cuDNN fuses this variant. The lecture's GRU is :class:`GRUResetBeforeCell`.
    """

    name = "gru"
    num_gates = 3
    gate_names = ("r", "z", "n")
    fused_mode = "GRU"
    equation = "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn));  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}"

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None):
        h = state
        xr, xz, xn = _affine(x, weight_ih, bias_ih).chunk(3, dim=1)
        hr, hz, hn = _affine(h, weight_hh, bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        if trace is not None:
            trace.update(r=r, z=z, n=n, h=h)
        return h


class GRUResetBeforeCell(RecurrentCell):
    """Gated recurrent unit as the lecture writes it (Cho et al. 2014), *reset-before* form.

    r = σ(W_xr x + W_hr h + b_r)
    z = σ(W_xz x + W_hz h + b_z)
    h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h)              ← reset applied to h *before* the matmul
    h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃

    Same parameter names and shapes as :class:`GRUCell` (gate order r, z, n; b = b_ih + b_hh), but a
    different function: W_hn (r ⊙ h) depends on r, so the recurrent matmul of the candidate cannot be
    batched with those of r and z. No library kernel computes it; the ``reference`` backend runs it.
    """

    name = "gru-reset-before"
    num_gates = 3
    gate_names = ("r", "z", "n")
    fused_mode = None
    equation = "h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h);  h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃"

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None):
        h = state
        H = h.shape[1]
        xr, xz, xn = _affine(x, weight_ih, bias_ih).chunk(3, dim=1)
        # r and z read h through the first 2H rows of W_hh; the candidate reads r ⊙ h through the last H.
        hr, hz = _affine(h, weight_hh[: 2 * H], None if bias_hh is None else bias_hh[: 2 * H]).chunk(2, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + _affine(r * h, weight_hh[2 * H:], None if bias_hh is None else bias_hh[2 * H:]))
        h = z * h + (1 - z) * n
        if trace is not None:
            trace.update(r=r, z=z, n=n, h=h)
        return h


CELLS: dict[str, type[RecurrentCell]] = {}


def register_cell(cls: type[RecurrentCell]) -> type[RecurrentCell]:
    """Add a cell class to the registry under ``cls.name``; a duplicate name is an error."""
    if cls.name in CELLS:
        raise ValueError(f"a cell named {cls.name!r} is already registered ({CELLS[cls.name].__name__})")
    CELLS[cls.name] = cls
    return cls


for _cls in (ElmanCell, ElmanReLUCell, LSTMCell, GRUCell, GRUResetBeforeCell):
    register_cell(_cls)


def get_cell(name: str | type[RecurrentCell]) -> type[RecurrentCell]:
    """The cell class for a name such as ``"lstm"``; unknown names raise ``ValueError`` listing the valid ones."""
    if isinstance(name, type) and issubclass(name, RecurrentCell):
        return name
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cell {name!r}; valid cells: {', '.join(CELLS)}") from None


def init_parameters(cell: type[RecurrentCell], hidden_size: int, weight_ih: Tensor, weight_hh: Tensor,
                    bias_ih: Tensor | None, bias_hh: Tensor | None, *, forget_bias: float = 1.0) -> None:
    """torch.nn's initialisation, U(−1/√H, 1/√H) for every tensor, then the LSTM forget bias.

    For the LSTM the effective forget bias ``b_if + b_hf`` is set to ``forget_bias`` (1 by default,
    Jozefowicz et al. 2015): ``bias_ih``'s forget slice holds it and ``bias_hh``'s is zero.
    """
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in (weight_ih, weight_hh, bias_ih, bias_hh):
            if p is not None:
                p.uniform_(-bound, bound)
        if cell.has_cell_state and bias_ih is not None and bias_hh is not None:
            H = hidden_size
            bias_ih[H: 2 * H].fill_(forget_bias)
            bias_hh[H: 2 * H].zero_()
