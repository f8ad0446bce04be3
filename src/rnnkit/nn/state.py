"""The one set of helpers over a recurrent state: ``h``, or ``(h, c)`` for the LSTM, as in torch.nn.

A layer's state is (L*D, B, H) per part, a cell's (B, H). Layers, models and tasks carry state through
these helpers instead of asking ``isinstance(state, tuple)`` themselves, so none branches on the cell.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

State = Tensor | tuple[Tensor, Tensor]


def is_pair(state: State | list[Tensor]) -> bool:
    """True for an (h, c) state (a tuple, or the list torch's kernels take)."""
    return isinstance(state, (tuple, list))


def map_state(fn: Callable[..., Tensor], *states: State) -> State:
    """``fn`` part by part: ``map_state(f, (h, c)) == (f(h), f(c))``, ``map_state(f, a, b) == (f(a_h, b_h), …)``."""
    if is_pair(states[0]):
        return tuple(fn(*parts) for parts in zip(*states, strict=True))  # type: ignore[return-value]
    return fn(*states)


def hidden(state: State) -> Tensor:
    """The hidden state h: the state itself, or the first of (h, c)."""
    return state[0] if is_pair(state) else state  # type: ignore[return-value]


def select(state: State, index: Tensor, dim: int = 1) -> State:
    """Rows ``index`` along ``dim`` of every part (dim 1: the batch of a layer's (L*D, B, H) state)."""
    return map_state(lambda s: s.index_select(dim, index), state)


def detach(state: State) -> State:
    """Every part cut from the autograd graph (truncated BPTT carries the values, not the history)."""
    return map_state(lambda s: s.detach(), state)


def stack(states: list[State]) -> State:
    """Per-layer states (B, H) stacked into a layer's state (L, B, H), part by part."""
    return map_state(lambda *parts: torch.stack(parts), *states)
