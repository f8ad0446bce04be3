"""Gate traces: what every gate of every layer and direction did at every token of one input.

``Recurrent(..., record=True)`` returns its trace time-major, one (T, B, H) tensor per gate and layer —
``trace["l0.f"]``, ``trace["l1_reverse.c"]`` — zero past each sequence's length. Here that becomes one
:class:`GateTrace` per input sequence, batch-first: sequence b of the batch is ``traces[b]``, and each of
its arrays is (T_b, H), row t = token t (T_b its own length, so padding never shows), in both directions
(the backward direction's rows are in token order too: row t is the state after reading tokens T_b-1 … t).

Gates by cell, named as ``nn/cells.py`` computes them (each cell declares them: ``cell.trace_titles``, with
``cell.trace_names`` for the lecture's names):

=====================  =================================================================
LSTM                   i, f, g, o (gates and candidate), c (cell state c_t = f ⊙ c_{t-1} + i ⊙ g)
GRU (reset-after)      r, z, n   (n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)))
GRU (reset-before)     r, z, h~  (the lecture's h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h))
Elman RNN              none: h_t = tanh(V x_t + W h_{t-1} + b_h) is the whole cell
=====================  =================================================================

and for every cell the hidden state h (T, H), its norm ‖h_t‖₂ (T,) and each gate's mean over the H
units (T,) — the numbers of ``rnnkit inspect``'s table and of the web page's heatmaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.nn import Recurrent, get_cell
from rnnkit.tracing.units import CRITERION, key_units, shown_gates, unit_scores

DECIMALS = 4  # to_dict rounds to 1e-4: far below what a colour or a printed table can show


@dataclass
class LayerTrace:
    """One layer and direction. ``gates[name]`` and ``h`` are (T, H) float32 arrays, row t = token t."""

    layer: int
    direction: str  # "forward" or "backward"
    gates: dict[str, np.ndarray]
    h: np.ndarray

    @property
    def h_norm(self) -> np.ndarray:
        """‖h_t‖₂ per token, shape (T,)."""
        return np.linalg.norm(self.h, axis=1)

    @property
    def gate_means(self) -> dict[str, np.ndarray]:
        """Each gate's mean over the H units per token, shape (T,)."""
        return {name: values.mean(axis=1) for name, values in self.gates.items()}

    def to_dict(self) -> dict[str, Any]:
        """This layer and direction as plain lists for JSON: gates and h as [T][H], h_norm and the gate means
        as [T] (numbers rounded to 1e-4)."""
        return {"layer": self.layer, "direction": self.direction,
                "gates": {name: _rounded(v) for name, v in self.gates.items()},
                "h": _rounded(self.h), "h_norm": _rounded(self.h_norm),
                "gate_means": {name: _rounded(v) for name, v in self.gate_means.items()}}


@dataclass
class GateTrace:
    """The gates of one input: its T tokens (or frames) and, per layer and direction, (T, H) arrays."""

    cell: str
    tokens: list[str]
    layers: list[LayerTrace] = field(default_factory=list)

    @property
    def gate_names(self) -> list[str]:
        """The cell's gates in the order it computes them (empty for an Elman RNN)."""
        return list(self.layers[0].gates)

    def get(self, layer: int = -1, direction: str = "forward") -> LayerTrace:
        """One layer (negative counts from the top) in one direction."""
        depth = 1 + max(t.layer for t in self.layers)
        index = layer % depth if -depth <= layer < depth else None
        for t in self.layers:
            if t.layer == index and t.direction == direction:
                return t
        have = ", ".join(f"{t.layer}/{t.direction}" for t in self.layers)
        raise ValueError(f"no layer {layer} in direction {direction!r}; this trace has {have}")

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for JSON (the shape the HTTP API returns; numbers rounded to 1e-4), with what the cell
        declares a picture shows: ``titles`` (name → title of every array) and ``picture_gates``; and per
        layer the units a picture shows by default (:mod:`rnnkit.tracing.units`): ``key_units`` (best first)
        and every unit's ``unit_scores`` (H,), ranked by ``key_units_criterion`` over ``shown_gates``."""
        shown = shown_gates(self.cell, self.gate_names if self.layers else [])
        layers = []
        for part in self.layers:
            scores = unit_scores(part.gates, part.h, shown)
            layers.append({**part.to_dict(), "key_units": key_units(part.gates, part.h, shown),
                           "unit_scores": _rounded(scores)})
        return {"cell": self.cell, "tokens": list(self.tokens), "layers": layers,
                "titles": gate_titles(self.cell), "picture_gates": list(get_cell(self.cell).picture_gates),
                "shown_gates": shown, "key_units_criterion": CRITERION}


def gate_titles(cell: str) -> dict[str, str]:
    """What a picture calls each array of a ``cell``'s trace — its gates (the cell's ``trace_titles``) and h."""
    return {**get_cell(cell).trace_titles, "h": "hidden state h"}


def _rounded(values: np.ndarray) -> list:
    return np.round(values.astype(np.float64), DECIMALS).tolist()


def _token_labels(tokens: Sequence[Sequence[str]] | None, lengths: list[int]) -> list[list[str]]:
    """The caller's token strings, or step numbers 1…T where there are none (or they do not line up, as
    after a strided convolution front end)."""
    labels = []
    for b, n in enumerate(lengths):
        given = list(tokens[b]) if tokens is not None and b < len(tokens) else None
        labels.append(given if given is not None and len(given) == n else [str(t + 1) for t in range(n)])
    return labels


def split_trace(raw: dict[str, Tensor], cell: str, num_layers: int, bidirectional: bool, lengths: list[int],
                tokens: Sequence[Sequence[str]] | None = None) -> list[GateTrace]:
    """A recorded trace ``{"l0.f": (T, B, H), …}`` → B batch-first :class:`GateTrace` s cut to their lengths."""
    rename = get_cell(cell).trace_names  # e.g. the lecture's h~ for the reset-before GRU's candidate n
    labels = _token_labels(tokens, lengths)
    out = [GateTrace(cell=cell, tokens=labels[b]) for b in range(len(lengths))]
    directions = ("forward", "backward") if bidirectional else ("forward",)
    for layer in range(num_layers):
        for direction in directions:
            prefix = f"l{layer}" + ("_reverse" if direction == "backward" else "") + "."
            names = [k[len(prefix):] for k in raw if k.startswith(prefix)]
            arrays = {name: raw[prefix + name].detach().float().cpu().numpy() for name in names}  # (T, B, H)
            for b, n in enumerate(lengths):
                gates = {rename.get(name, name): arrays[name][:n, b].copy() for name in names if name != "h"}
                out[b].layers.append(LayerTrace(layer, direction, gates, arrays["h"][:n, b].copy()))
    return out


@torch.no_grad()
def trace_encoder(encoder: Recurrent, x: Tensor, state: Any = None, *, lengths: Tensor | Sequence[int] | None = None,
                  tokens: Sequence[Sequence[str]] | None = None) -> list[GateTrace]:
    """Run ``encoder`` on x — (B, T, I) if it is batch-first, else (T, B, I) — recording every gate.

    Returns B :class:`GateTrace` s; ``tokens[b]`` (T_b strings) labels sequence b's rows.
    """
    if not isinstance(encoder, Recurrent):
        raise ValueError(f"can only trace an rnnkit.nn.Recurrent layer, got {type(encoder).__name__}")
    _, _, raw = encoder(x, state, lengths=lengths, record=True)
    steps, batch = (x.shape[1], x.shape[0]) if encoder.batch_first else (x.shape[0], x.shape[1])
    sizes = [steps] * batch if lengths is None else [int(n) for n in torch.as_tensor(lengths).tolist()]
    return split_trace(raw, encoder.cell.name, encoder.num_layers, encoder.bidirectional, sizes, tokens)


@torch.no_grad()
def trace_model(model: nn.Module, encoder: Recurrent, *inputs: Any,
                tokens: Sequence[Sequence[str]] | None = None) -> tuple[Any, list[GateTrace]]:
    """``model(*inputs)`` and the gate traces of its recurrent ``encoder`` on exactly the input it saw.

    The encoder's input is caught on the way in (whatever front end — embedding, convolutions, a frame
    CNN — came before), then the encoder runs once more with ``record=True`` (the reference loop, the
    same function). Dropout is off while tracing. Returns (the model's output, B traces).
    """
    seen: dict[str, Any] = {}

    def catch(module: nn.Module, args: tuple, kwargs: dict) -> None:
        seen.setdefault("args", args)
        seen.setdefault("kwargs", kwargs)

    was_training = model.training
    model.eval()
    handle = encoder.register_forward_pre_hook(catch, with_kwargs=True)
    try:
        output = model(*inputs)
    finally:
        handle.remove()
        model.train(was_training)
    if "args" not in seen:
        raise ValueError(f"{type(model).__name__} did not run the recurrent layer it was given")
    args, kwargs = seen["args"], dict(seen["kwargs"])
    state = args[1] if len(args) > 1 else kwargs.pop("state", None)
    return output, trace_encoder(encoder, args[0], state, lengths=kwargs.get("lengths"), tokens=tokens)


def recurrent_encoder(model: nn.Module) -> Recurrent:
    """The model's recurrent layer (``model.encoder``, or ``model.sequence.encoder`` for video)."""
    for owner in (model, getattr(model, "sequence", None)):
        encoder = getattr(owner, "encoder", None)
        if isinstance(encoder, Recurrent):
            return encoder
    raise ValueError(f"a {type(model).__name__} has no recurrent layer to trace (a bag-of-words model reads "
                     "counts, not a sequence); trace a model trained with --model lstm, gru or rnn")


def trace_texts(model: nn.Module, text_encoder: Any, texts: str | Sequence[str], *,
                with_lengths: bool = True) -> GateTrace | list[GateTrace]:
    """Traces of text models (embedding → Recurrent → …): one :class:`GateTrace` for a string, a list for a list.

    ``with_lengths``: the model is called as ``model(tokens (B, T), lengths (B,))`` (classifiers); without,
    as ``model(tokens)`` (language models: padding at the end cannot change a causal model's earlier steps).
    Rows are labelled with the tokenizer's tokens (after normalisation), so an unknown word shows as written.
    """
    single = isinstance(texts, str)
    batch = [texts] if single else list(texts)
    if not batch:
        raise ValueError("give at least one text to trace")
    ids, labels = [], []
    for i, text in enumerate(batch):
        try:
            ids.append(text_encoder.encode(text))
        except ValueError:
            raise ValueError(f"text {i + 1} is empty: give a text with at least one word") from None
        words = text_encoder.tokenizer.tokenize(text)
        words = (["<bos>"] if text_encoder.add_bos else []) + words + (["<eos>"] if text_encoder.add_eos else [])
        labels.append(words[:len(ids[-1])])
    encoder = recurrent_encoder(model)
    device = next(model.parameters()).device
    lengths = torch.tensor([len(s) for s in ids])
    padded = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for b, s in enumerate(ids):
        padded[b, :len(s)] = torch.tensor(s)
    inputs = (padded.to(device), lengths) if with_lengths else (padded.to(device),)
    if not with_lengths:  # every row runs the whole padded length: label the padding steps "" until cut below
        labels = [words + [""] * (padded.shape[1] - len(words)) for words in labels]
    _, traces = trace_model(model, encoder, *inputs, tokens=labels)
    if not with_lengths:  # the model ran over the padding; cut each trace to its own text
        traces = [_cut(t, n) for t, n in zip(traces, lengths.tolist(), strict=True)]
    return traces[0] if single else traces


def _cut(trace: GateTrace, n: int) -> GateTrace:
    layers = [LayerTrace(t.layer, t.direction, {k: v[:n] for k, v in t.gates.items()}, t.h[:n]) for t in trace.layers]
    return GateTrace(trace.cell, trace.tokens[:n], layers)


def trace_ids(model: nn.Module, vocab: Any, ids: Tensor) -> GateTrace:
    """The trace of one id sequence (N,) or (1, N) exactly as a language model reads it (embedding → Recurrent →
    …), each row labelled with its vocabulary token (``<eos>`` for a line break, ``<unk>`` for an unknown word)."""
    ids = ids.reshape(1, -1)
    tokens = [vocab.id_to_token(int(i)) for i in ids[0]]
    _, traces = trace_model(model, recurrent_encoder(model), ids, tokens=[tokens])
    return traces[0]


def trace_sequences(model: nn.Module, sequences: Sequence[Tensor]) -> list[GateTrace]:
    """Traces of a sequence classifier (signals, video) on feature sequences (T_i, *F), rows labelled by frame
    number 1…T (after a strided convolution front end: by step of the recurrent layer)."""
    if not sequences:
        raise ValueError("give at least one sequence to trace")
    device = next(model.parameters()).device
    lengths = torch.tensor([len(s) for s in sequences])
    padded = nn.utils.rnn.pad_sequence([torch.as_tensor(s, dtype=torch.float32) for s in sequences], batch_first=True)
    _, traces = trace_model(model, recurrent_encoder(model), padded.to(device), lengths)
    return traces
