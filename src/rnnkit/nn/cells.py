"""The lecture's recurrent cells: one time step each, written like the equations.

Every cell is a pure function of the input, the previous state and four parameter tensors laid out
exactly like ``torch.nn`` (so weights of ``torch.nn.RNN/LSTM/GRU`` mean the same thing here):

================  =====  ==============  =========================================
cell              gates  gate order      state
================  =====  ==============  =========================================
rnn, rnn-relu     1      (h)             h
lstm              4      i, f, g, o      (h, c)
gru               3      r, z, n         h       (reset-after, = torch.nn.GRU)
gru-reset-before  3      r, z, n         h       (the lecture's GRU)
lstm-layernorm    4      i, f, g, o      (h, c)  (+ layer-norm gains: ``extra_parameters``)
================  =====  ==============  =========================================

``weight_ih``: (G*H, I), ``weight_hh``: (G*H, H), ``bias_ih``/``bias_hh``: (G*H,).

Shapes in this module: ``x`` is (B, I), ``h`` and ``c`` are (B, H).

Each cell class is also an ``nn.Module`` owning its own four parameters (like ``torch.nn.LSTMCell``),
while the :class:`~rnnkit.nn.layers.Recurrent` layer owns ``weight_ih_l{k}`` … and calls the same
static :meth:`RecurrentCell.step` with them (the ``reference`` backend; faster backends compute the
same function, see :mod:`rnnkit.nn.backends`). The two GRU variants differ only in where the reset gate
acts; see ``docs/cells.md``.

Besides its equations a cell class declares what it can do, and no table elsewhere lists cells by name to
say it: ``kernels`` (the fast paths that compute it, :class:`~rnnkit.nn.capabilities.Kernels`), ``onnx`` (the
ONNX operator that computes it, or ``None`` and ``onnx_missing`` saying why not), ``trace_titles`` /
``trace_names`` / ``picture_gates`` (how a gate trace names and pictures what ``step`` records) and
``torch_twin`` (the ``torch.nn`` layer its speed is compared with). A new cell is its class (here, or in a
module of its own, imported by ``rnnkit/nn/__init__.py``), its tests and one :func:`register_cell` line; with
no kernels it runs on the reference loop.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn.capabilities import Kernels, OnnxMapping
from rnnkit.nn.kernels import bptt_gru, bptt_lstm, cpp
from rnnkit.nn.layernorm import LN_EPS, block_layer_norm
from rnnkit.nn.state import State

Trace = dict[str, Tensor]


class RecurrentCell(nn.Module):
    """Base class: one time step ``(x_t, state_{t-1}) -> state_t``.

    Subclasses set the class attributes and implement :meth:`step`; the defaults below are those of a cell
    that only the reference loop runs, with no ONNX operator and nothing recorded but h.
    """

    name: ClassVar[str]
    num_gates: ClassVar[int]
    gate_names: ClassVar[tuple[str, ...]]  # the weight blocks, in torch's order
    has_cell_state: ClassVar[bool] = False
    equation: ClassVar[str]
    # Parameters beyond the four of torch.nn: (name, size in units of H, initial value), each a vector.
    extra_parameters: ClassVar[tuple[tuple[str, int, float], ...]] = ()
    # The fast paths that compute this function (rnnkit.nn.backends turns them into rows of its table).
    kernels: ClassVar[Kernels] = Kernels()
    # ONNX's operator for this cell (rnnkit.nn.onnx), or None and why not.
    onnx: ClassVar[OnnxMapping | None] = None
    onnx_missing: ClassVar[str] = "none of ONNX's RNN, LSTM and GRU operators computes it"
    # What step() records besides h, as a gate trace names it → its title in pictures, in the order recorded.
    trace_titles: ClassVar[dict[str, str]] = {}
    # A recorded key → the name a gate trace gives it, where the lecture writes it differently.
    trace_names: ClassVar[dict[str, str]] = {}
    # The sigmoid gates, in [0, 1], that a picture of a trace shows (in this order); none: it shows h.
    picture_gates: ClassVar[tuple[str, ...]] = ()
    # The torch.nn layer ("RNN_TANH", "LSTM", "GRU", …) its speed is compared with: ``kernels.fused`` if set,
    # else this one, the nearest layer a user would reach for (it computes a different function).
    torch_twin: ClassVar[str] = "LSTM"

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
        for name, units, _ in self.extra_parameters:
            self.register_parameter(name, nn.Parameter(torch.empty(units * hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_parameters(type(self), self.hidden_size, self.weight_ih, self.weight_hh, self.bias_ih,
                        self.bias_hh)
        with torch.no_grad():
            for name, _, value in self.extra_parameters:
                getattr(self, name).fill_(value)

    @classmethod
    def step(cls, x: Tensor, state: State, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, trace: Trace | None = None, h_in: Tensor | None = None) -> State:
        """Advance one step. If ``trace`` is a dict, the gate activations are stored in it.

        ``h_in`` (B, H) is the h_{t-1} that the recurrent weights read, ``None`` for h itself; variational
        dropout passes h ⊙ m (Gal & Ghahramani 2016) while the state carried forward stays h. Cells with
        :attr:`extra_parameters` take them after ``bias_hh``, in that order.
        """
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
        extra = [getattr(self, name) for name, _, _ in self.extra_parameters]
        return self.step(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, *extra)

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
    equation = "h_t = tanh(V x_t + W h_{t-1} + b_h)"
    kernels = Kernels(fused="RNN_TANH", cpp="rnn")
    onnx = OnnxMapping("RNN", (0,), {"activations": ["Tanh"]})
    activation: ClassVar = staticmethod(torch.tanh)

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None, h_in=None):
        h_read = state if h_in is None else h_in
        h = cls.activation(_affine(x, weight_ih, bias_ih) + _affine(h_read, weight_hh, bias_hh))
        if trace is not None:
            trace["h"] = h
        return h


class ElmanReLUCell(ElmanCell):
    """Elman RNN with ReLU: h_t = relu(V x_t + W h_{t-1} + b_h)."""

    name = "rnn-relu"
    equation = "h_t = relu(V x_t + W h_{t-1} + b_h)"
    kernels = Kernels(fused="RNN_RELU", cpp="rnn-relu")
    onnx = OnnxMapping("RNN", (0,), {"activations": ["Relu"]})
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
    equation = "c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)"
    # Whole sequences at batch 1 run the C++ loop (its GEMV beats oneDNN's and onnxruntime's there:
    # benchmarks/onnx_speed.py); larger batches stay on torch.nn's kernel, faster from batch 2 on. ``bptt`` runs
    # zoneout and variational dropout, which torch.nn's kernel cannot apply.
    kernels = Kernels(fused="LSTM", cpp="lstm", cpp_sequence_batch_one=cpp.lstm_sequence, bptt=bptt_lstm.lstm_sequence,
                      bptt_regularizes=True)
    onnx = OnnxMapping("LSTM", (0, 3, 1, 2))  # ONNX's gate order i, o, f, c
    trace_titles = {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o",
                    "c": "cell state c"}
    picture_gates = ("f", "i", "o")

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None, h_in=None):
        h, c = state
        h_read = h if h_in is None else h_in
        # ┌ i ┐
        # │ f │ = W_i x + b_i + W_h h + b_h, stacked in torch's gate order
        # │ g │
        # └ o ┘
        i, f, g, o = (_affine(x, weight_ih, bias_ih) + _affine(h_read, weight_hh, bias_hh)).chunk(4, dim=1)
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
    equation = "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn));  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}"
    # The C++ loop runs whole sequences too: faster than nn.GRU at every batch measured (T=128, H=128/256,
    # B=1..64, 2 threads: 1.3-7x), since its gates are squashed by one vectorised call per block.
    kernels = Kernels(fused="GRU", cpp="gru", cpp_sequence=cpp.gru_sequence)
    onnx = OnnxMapping("GRU", (1, 0, 2), {"linear_before_reset": 1})  # ONNX's gate order z, r, h
    trace_titles = {"r": "reset gate r", "z": "update gate z", "n": "candidate n"}
    picture_gates = ("r", "z")

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None, h_in=None):
        h = state
        h_read = h if h_in is None else h_in  # what W_h reads; the carry z ⊙ h keeps h itself
        xr, xz, xn = _affine(x, weight_ih, bias_ih).chunk(3, dim=1)
        hr, hz, hn = _affine(h_read, weight_hh, bias_hh).chunk(3, dim=1)
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
    batched with those of r and z. Keras ``GRU(reset_after=False)`` computes it step by step, but no
    fused cuDNN/oneDNN kernel does: rnnkit's ``bptt`` kernel (hand-written BPTT; ``triton`` on CUDA)
    trains it and its ``cpp`` loop runs CPU inference, all held to this ``step`` by the tests.
    """

    name = "gru-reset-before"
    num_gates = 3
    gate_names = ("r", "z", "n")
    equation = "h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h);  h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃"
    kernels = Kernels(cpp="gru-reset-before", cpp_sequence=cpp.gru_reset_before_sequence,
                      bptt=bptt_gru.gru_reset_before_sequence, triton=bptt_gru.triton_sequence,
                      triton_graphed=bptt_gru.graphed_sequence)
    onnx = OnnxMapping("GRU", (1, 0, 2), {"linear_before_reset": 0})  # ONNX's GRU with the reset before R_h
    trace_titles = {"r": "reset gate r", "z": "update gate z", "h~": "candidate h̃"}
    trace_names = {"n": "h~"}  # the lecture writes the candidate h̃; step records it under its weight name n
    picture_gates = ("r", "z")
    torch_twin = "GRU"

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, trace=None, h_in=None):
        h = state
        h_read = h if h_in is None else h_in  # what W_hh reads; the carry z ⊙ h keeps h itself
        H = h.shape[1]
        xr, xz, xn = _affine(x, weight_ih, bias_ih).chunk(3, dim=1)
        # r and z read h through the first 2H rows of W_hh; the candidate reads r ⊙ h through the last H.
        hr, hz = _affine(h_read, weight_hh[: 2 * H], None if bias_hh is None else bias_hh[: 2 * H]).chunk(2, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + _affine(r * h_read, weight_hh[2 * H:], None if bias_hh is None else bias_hh[2 * H:]))
        h = z * h + (1 - z) * n
        if trace is not None:
            trace.update(r=r, z=z, n=n, h=h)
        return h


class LayerNormLSTMCell(RecurrentCell):
    """LSTM with layer normalisation (Ba, Kiros & Hinton 2016, "Layer Normalization", §3.1 / Appendix).

    With LN_γ(v) = γ ⊙ (v − μ(v)) / √(σ²(v) + ε) taken over the H units of one gate block (ε = 1e-5):

    a_k = LN_{γx_k}(W_ik x) + LN_{γh_k}(W_hk h) + b_ik + b_hk      for each gate block k ∈ (i, f, g, o)
    i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(LN_{γc}(c_t) + β_c)

    The input and recurrent pre-activations are normalised separately (their scales differ), per gate
    block (each gate gets its own statistics, as in TensorFlow's ``LayerNormBasicLSTMCell``; Ba et al.
    write one LN over the 4H vector), and the biases b = b_ih + b_hh act as the shift of both, so the
    extra parameters are the gains γx = ``ln_weight_ih`` (4H), γh = ``ln_weight_hh`` (4H), γc =
    ``ln_weight_c`` (H), all starting at 1, and β_c = ``ln_bias_c`` (H), starting at 0. The forget bias
    starts at 1 as in :class:`LSTMCell`. No library fuses it: it trains on rnnkit's ``bptt`` kernel and runs
    CPU inference on the ``cpp`` loop, both held to this ``step`` by the tests.
    """

    name = "lstm-layernorm"
    num_gates = 4
    gate_names = ("i", "f", "g", "o")
    has_cell_state = True
    equation = "a = LN(W_i x) + LN(W_h h) + b;  c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(LN(c_t))"
    extra_parameters = (("ln_weight_ih", 4, 1.0), ("ln_weight_hh", 4, 1.0), ("ln_weight_c", 1, 1.0),
                        ("ln_bias_c", 1, 0.0))
    kernels = Kernels(cpp="lstm-layernorm", cpp_sequence=cpp.lstm_layernorm_sequence, bptt=bptt_lstm.lstm_sequence,
                      bptt_regularizes=True)
    onnx_missing = "ONNX's LSTM operator has no layer normalisation"
    trace_titles = LSTMCell.trace_titles
    picture_gates = LSTMCell.picture_gates

    @classmethod
    def step(cls, x, state, weight_ih, weight_hh, bias_ih, bias_hh, ln_weight_ih, ln_weight_hh, ln_weight_c,
             ln_bias_c, trace=None, h_in=None):
        h, c = state
        h_read = h if h_in is None else h_in
        a = block_layer_norm(F.linear(x, weight_ih), ln_weight_ih, 4)  # LN_{γx}(W_i x)   (B, 4H)
        a = a + block_layer_norm(F.linear(h_read, weight_hh), ln_weight_hh, 4)  # + LN_{γh}(W_h h)
        if bias_ih is not None:
            a = a + bias_ih + bias_hh  # + b_i + b_h
        i, f, g, o = a.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(F.layer_norm(c, (c.shape[1],), ln_weight_c, ln_bias_c, LN_EPS))
        if trace is not None:
            trace.update(i=i, f=f, g=g, o=o, c=c, h=h)
        return h, c


CELLS: dict[str, type[RecurrentCell]] = {}


def register_cell(cls: type[RecurrentCell]) -> type[RecurrentCell]:
    """Add a cell class to the registry under ``cls.name``; a duplicate name is an error."""
    if cls.name in CELLS:
        raise ValueError(f"a cell named {cls.name!r} is already registered ({CELLS[cls.name].__name__})")
    CELLS[cls.name] = cls
    return cls


for _cls in (ElmanCell, ElmanReLUCell, LSTMCell, GRUCell, GRUResetBeforeCell, LayerNormLSTMCell):
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
