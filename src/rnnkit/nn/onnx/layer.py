"""A :class:`~rnnkit.nn.Recurrent` layer as ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators.

One standard node per layer (both directions in it), never an unrolled graph or a ``Loop``, so any ONNX
runtime runs it with its own fused kernel. What changes on the way is only the layout of the weights. Each cell
declares its operator on its class (``cell.onnx``, :class:`~rnnkit.nn.capabilities.OnnxMapping`; a cell without
one says why in ``cell.onnx_missing``); today:

=====================  =====================  ==================  =========================================
rnnkit cell            ONNX operator          ONNX gate order     rnnkit (torch) gate order → ONNX
=====================  =====================  ==================  =========================================
rnn, rnn-relu          RNN (Tanh / Relu)      (h)                 unchanged
lstm                   LSTM                   i, o, f, c          i, f, g, o → i, o, f, g
gru                    GRU, linear_before_    z, r, h             r, z, n → z, r, n
                       reset = 1
gru-reset-before       GRU, linear_before_    z, r, h             r, z, n → z, r, n
                       reset = 0
lstm-layernorm         none (no layer norm in ONNX's LSTM)
=====================  =====================  ==================  =========================================

ONNX's GRU (operator spec, "Equations") computes, with ``linear_before_reset = 0``,

    h̃_t = tanh(W_h x_t + R_h (r_t ⊙ h_{t-1}) + Wb_h + Rb_h)

which is the lecture's reset-before GRU (Cho et al. 2014; :class:`~rnnkit.nn.GRUResetBeforeCell`), and with
``linear_before_reset = 1``

    h̃_t = tanh(W_h x_t + r_t ⊙ (R_h h_{t-1} + Rb_h) + Wb_h)

which is torch/cuDNN's reset-after GRU (:class:`~rnnkit.nn.GRUCell`). Both then take
h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}. ``sequence_lens`` carries the lengths: outputs past a length are
zero and the final state is the one at each sequence's own last step (its first, in the reverse direction),
as in rnnkit.

Shapes: T steps, B sequences, I inputs, H hidden units, L layers, D = 2 if bidirectional else 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import torch

from rnnkit.nn.capabilities import OnnxMapping
from rnnkit.nn.cells import CELLS, RecurrentCell, get_cell
from rnnkit.nn.layers import Recurrent
from rnnkit.nn.onnx.graph import FLOAT, INT64, Graph, save_model


def mapping(cell: str | type[RecurrentCell]) -> OnnxMapping:
    """The ONNX operator a cell declares (``cell.onnx``); a cell without one is a one-line ``ValueError`` that
    says why (``cell.onnx_missing``) and which cells have one."""
    cls = get_cell(cell)
    if cls.onnx is None:
        exportable = [name for name, other in CELLS.items() if other.onnx is not None]
        raise ValueError(f"the {cls.name!r} cell has no standard ONNX operator ({cls.onnx_missing}); exportable "
                         f"cells: {', '.join(exportable)}")
    return cls.onnx


def onnx_operator(cell: str | type[RecurrentCell]) -> str:
    """The ONNX operator a cell exports to ("RNN", "LSTM", "GRU"); a cell without one is a one-line ``ValueError``."""
    return mapping(cell).operator


def _reorder(tensor: torch.Tensor, order: tuple[int, ...]) -> np.ndarray:
    """Gate blocks of a (G*H, …) tensor from rnnkit's order into ONNX's."""
    blocks = tensor.detach().to("cpu", torch.float32).numpy().reshape(len(order), -1, *tensor.shape[1:])
    return np.concatenate([blocks[i] for i in order], axis=0)


def _layer_weights(layer: Recurrent, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """W (D, G*H, I_l), R (D, G*H, H) and B (D, 2*G*H) of layer ``index`` in ONNX's gate order."""
    order = mapping(layer.cell).gate_order
    W, R, B = [], [], []
    for direction in range(layer.num_directions):
        w_ih, w_hh, b_ih, b_hh = layer._weights(index * layer.num_directions + direction)[:4]
        W.append(_reorder(w_ih, order))
        R.append(_reorder(w_hh, order))
        if b_ih is not None:
            B.append(np.concatenate([_reorder(b_ih, order), _reorder(b_hh, order)]))
    return np.stack(W), np.stack(R), (np.stack(B) if B else None)


def _layer_state(g: Graph, state: str | None, index: int, D: int, hint: str) -> str:
    """Rows [index·D, (index+1)·D) of a (L*D, B, H) state: this layer's directions; "" (zeros) if no state."""
    if state is None:
        return ""
    span = [g.ints("start", [index * D]), g.ints("end", [(index + 1) * D]), g.ints("axis", [0])]
    return g.op("Slice", [state, *span], hint)


def add_recurrent(g: Graph, layer: Recurrent, x: str, *, lengths: str | None = None, h0: str | None = None,
                  c0: str | None = None, hint: str = "rnn") -> tuple[str, str, str | None]:
    """Append ``layer`` to graph ``g``: one ONNX recurrent node per layer.

    Args:
        x: name of a (T, B, I) float tensor (time-major, whatever ``layer.batch_first`` says).
        lengths: name of a (B,) int32 tensor, or ``None`` when every sequence has T steps.
        h0, c0: names of (L*D, B, H) initial states, or ``None`` for zeros.

    Returns:
        names of y (T, B, D*H) (zero past each length), h_n (L*D, B, H) and c_n (LSTM) or ``None``.
    """
    declared = mapping(layer.cell)
    op = declared.operator
    if layer.zoneout > 0:  # evaluation mixes in h_{t-1}: not the ONNX operator's function
        raise ValueError(f"a layer with zoneout ({layer.zoneout}) has no standard ONNX operator; export a model "
                         "trained without --zoneout")
    D, H = layer.num_directions, layer.hidden_size
    attrs = dict(declared.attributes)
    if "activations" in attrs:
        attrs["activations"] = attrs["activations"] * D
    direction = "bidirectional" if D == 2 else "forward"
    finals_h, finals_c = [], []
    for index in range(layer.num_layers):
        W, R, B = _layer_weights(layer, index)
        init_h = _layer_state(g, h0, index, D, f"{hint}_h0_l{index}")
        init_c = _layer_state(g, c0, index, D, f"{hint}_c0_l{index}")
        inputs = [x, g.const(f"{hint}_W_l{index}", W), g.const(f"{hint}_R_l{index}", R),
                  g.const(f"{hint}_B_l{index}", B) if B is not None else "", lengths or "", init_h]
        if op == "LSTM":
            inputs.append(init_c)
        while inputs and inputs[-1] == "":  # trailing optional inputs are left out
            inputs.pop()
        outs = g.op(op, inputs, f"{hint}_l{index}", outputs=3 if op == "LSTM" else 2, hidden_size=H,
                    direction=direction, **attrs)
        y, h_n = outs[0], outs[1]
        finals_h.append(h_n)
        if op == "LSTM":
            finals_c.append(outs[2])
        # Y is (T, D, B, H): directions side by side per step, like torch's (T, B, D*H)
        y = g.op("Transpose", [y], f"{hint}_y", perm=[0, 2, 1, 3])
        x = g.op("Reshape", [y, g.ints("shape", [0, 0, -1])], f"{hint}_y")
    h_n = g.op("Concat", finals_h, f"{hint}_h_n", axis=0) if len(finals_h) > 1 else finals_h[0]
    c_n = None
    if finals_c:
        c_n = g.op("Concat", finals_c, f"{hint}_c_n", axis=0) if len(finals_c) > 1 else finals_c[0]
    return x, h_n, c_n


def layer_graph(layer: Recurrent, *, lengths: bool = True) -> onnx.ModelProto:
    """The ONNX model of ``layer`` with inputs x, [lengths], h0, [c0] and outputs y, h_n, [c_n].

    x and y are (T, B, ·), or (B, T, ·) if the layer is ``batch_first``; lengths (B,) int64 in [1, T];
    states (L*D, B, H). Pass zeros as h0/c0 for the zero initial state.
    """
    mapping(layer.cell)
    g = Graph(f"rnnkit_{layer.cell.name}")
    S = layer.num_layers * layer.num_directions
    time_batch = ["B", "T"] if layer.batch_first else ["T", "B"]
    x = g.input("x", FLOAT, [*time_batch, layer.input_size])
    if layer.batch_first:
        x = g.op("Transpose", [x], "x_tm", perm=[1, 0, 2])
    seq = None
    if lengths:
        seq = g.op("Cast", [g.input("lengths", INT64, ["B"])], "lengths_i32", to=onnx.TensorProto.INT32)
    h0 = g.input("h0", FLOAT, [S, "B", layer.hidden_size])
    c0 = g.input("c0", FLOAT, [S, "B", layer.hidden_size]) if layer.cell.has_cell_state else None
    y, h_n, c_n = add_recurrent(g, layer, x, lengths=seq, h0=h0, c0=c0)
    if layer.batch_first:
        y = g.op("Transpose", [y], "y_bf", perm=[1, 0, 2])
    g.output(y, "y", FLOAT, [*time_batch, layer.num_directions * layer.hidden_size])
    g.output(h_n, "h_n", FLOAT, [S, "B", layer.hidden_size])
    if c_n is not None:
        g.output(c_n, "c_n", FLOAT, [S, "B", layer.hidden_size])
    return g.model()


def export_onnx(layer: Recurrent, path: str | os.PathLike[str], *, lengths: bool = True) -> Path:
    """Write ``layer`` as an ONNX model to ``path`` (and ``path.json``: input/output names and shapes).

    Inputs: ``x`` (T, B, I) float32 (or (B, T, I) if ``batch_first``), ``lengths`` (B,) int64 (unless
    ``lengths=False``), ``h0`` (L*D, B, H) and, for the LSTM, ``c0``. Outputs: ``y`` (T, B, D*H), zero past
    each length, ``h_n`` and ``c_n`` (L*D, B, H) — the layout and values of ``layer(x, (h0, c0), lengths=…)``.
    Dropout between layers is an identity, as in ``layer.eval()``.
    """
    if not isinstance(layer, Recurrent):
        raise ValueError(f"export_onnx exports an rnnkit.nn.Recurrent layer, got {type(layer).__name__}")
    model = layer_graph(layer, lengths=lengths)
    path = Path(path)
    save_model(model, path, {"kind": "layer", "cell": layer.cell.name, "operator": onnx_operator(layer.cell),
                             "num_layers": layer.num_layers, "bidirectional": layer.bidirectional,
                             "hidden_size": layer.hidden_size, "batch_first": layer.batch_first})
    return path
