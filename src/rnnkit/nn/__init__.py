"""Recurrent building blocks: cells (one step, the equations) and the ``Recurrent`` layer."""

from rnnkit.nn.cells import (
    CELLS,
    ElmanCell,
    ElmanReLUCell,
    GRUCell,
    GRUResetBeforeCell,
    LSTMCell,
    RecurrentCell,
    get_cell,
    register_cell,
)
from rnnkit.nn.layers import BACKENDS, Recurrent

__all__ = [
    "BACKENDS",
    "CELLS",
    "ElmanCell",
    "ElmanReLUCell",
    "GRUCell",
    "GRUResetBeforeCell",
    "LSTMCell",
    "Recurrent",
    "RecurrentCell",
    "get_cell",
    "register_cell",
]
