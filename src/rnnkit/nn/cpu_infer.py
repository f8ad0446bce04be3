"""CPU inference kernels (``csrc/infer.cpp``): the recurrence as a compiled loop when no gradient is needed.

At batch 1 a GRU step is a few microseconds of arithmetic and ~8 Python-dispatched tensor operations;
the compiled loop removes the dispatch. It is built on first use with ``torch.utils.cpp_extension``
(g++ and ninja, ~30–60 s once, cached in ``~/.cache/torch_extensions``). Without a compiler rnnkit
warns once and keeps the Python paths, which compute the same function.

Used by :class:`~rnnkit.nn.layers.Recurrent` for float32 CPU inference: ``forward`` of the GRUs (where
``torch.nn.GRU`` itself is slower at batch 1 than ``torch.nn.LSTM``) and ``step`` of every cell.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import Tensor

_SOURCE = Path(__file__).parent / "csrc" / "infer.cpp"
_module = None
_failed = False


def load():
    """The compiled module, or ``None`` (after one warning) where it cannot be built."""
    global _module, _failed
    if _module is not None or _failed:
        return _module
    if os.environ.get("RNNKIT_NO_CPP"):
        _failed = True
        return None
    try:
        from torch.utils.cpp_extension import load as build

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _module = build(name="rnnkit_cpu_infer", sources=[str(_SOURCE)], extra_cflags=["-O3"], verbose=False)
    except Exception as exc:  # no compiler, no ninja, no headers: keep the Python paths
        _failed = True
        warnings.warn(f"rnnkit's compiled CPU inference loop is unavailable ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''}); using the Python paths, which are slower "
                      "at small batch sizes. Install g++ and ninja (pip install ninja) to enable it.", stacklevel=2)
    return _module


def usable(x: Tensor, params: list[Tensor]) -> bool:
    """True when the compiled loop may run: float32 CPU tensors and no gradient needed."""
    if x.is_cuda or x.dtype != torch.float32:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
        return False
    return load() is not None


class TransposedWeights:
    """Contiguous Wᵀ copies of a layer's weights, refreshed when a weight changes (its ``_version``)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[int, int, Tensor]] = {}

    def __call__(self, weight: Tensor) -> Tensor:
        key = id(weight)
        entry = self._cache.get(key)
        if entry is None or entry[0] != weight._version or entry[1] != weight.data_ptr():
            entry = (weight._version, weight.data_ptr(), weight.detach().t().contiguous())
            self._cache[key] = entry
        return entry[2]


def _bias(bias: Tensor | None, rows: int, like: Tensor) -> Tensor:
    return bias.detach() if bias is not None else like.new_zeros(rows)


def gru_sequence(cell: str, x: Tensor, h0: Tensor, weights, transposed: TransposedWeights) -> tuple[Tensor, Tensor]:
    """x (T, B, I), h0 (B, H) → out (T, B, H), h_T: one direction of one GRU layer, no lengths."""
    w_ih, w_hh, b_ih, b_hh = weights
    T, B, _ = x.shape
    G = w_ih.shape[0]
    gi = torch.addmm(_bias(b_ih, G, x), x.reshape(T * B, -1), transposed(w_ih)).view(T, B, G)
    out, h = load().gru_sequence(gi, h0.contiguous(), transposed(w_hh), _bias(b_hh, G, x).contiguous(),
                                 cell == "gru-reset-before")
    return out, h


def stack_weights(layers, transposed: TransposedWeights) -> list[Tensor]:
    """Per layer [W_ihᵀ, b_ih, W_hhᵀ, b_hh] as the compiled step wants them (zeros for missing biases)."""
    flat = []
    for w_ih, w_hh, b_ih, b_hh in layers:
        G = w_ih.shape[0]
        flat += [transposed(w_ih), _bias(b_ih, G, w_ih).contiguous(),
                 transposed(w_hh), _bias(b_hh, G, w_ih).contiguous()]
    return flat


def stack_step(cell: str, x: Tensor, state, weights: list[Tensor]):
    """One step of every layer: x (B, I), state (L, B, H) or a pair → (top output (B, H), new state)."""
    if isinstance(state, tuple):
        out, h, c = load().stack_step(cell, x.contiguous(), state[0].contiguous(), state[1].contiguous(), weights)
        return out, (h, c)
    out, h = load().stack_step(cell, x.contiguous(), state.contiguous(), state, weights)
    return out, h
