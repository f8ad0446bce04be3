"""Which units of a layer a picture shows: the few that matter most for this input, the same in every panel.

A 256-unit LSTM drawn whole is three heatmaps taller than a screen, and a panel that picks its own units per
gate cannot be read across gates. So one function ranks the units of one layer and direction, and every
picture reads it — ``rnnkit inspect --plot`` (:mod:`rnnkit.tracing.plot`) and the web page (the ``key_units``
of :meth:`rnnkit.tracing.GateTrace.to_dict`):

    score[u] = Σ_g  Var_t( g_t[u] )      g over the gates the picture shows (an Elman RNN: h), t over the tokens

the units whose gates move most over this text — the ones that react to it (LSTMVis's selection of the
cells that change). A unit that sits still reads the same whatever the text says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.nn import get_cell

KEY_UNITS = 8  # units a picture shows by default: 8 rows per gate fit a laptop screen beside the text
CRITERION = "variance over the tokens, summed over the gates shown"


def shown_gates(cell: str, gate_names: Sequence[str]) -> list[str]:
    """The gates a picture shows: the cell's sigmoid gates (in its declared order) that the trace holds, else
    ``["h"]`` (an Elman RNN has no gate)."""
    names = [name for name in get_cell(cell).picture_gates if name in gate_names]
    return names or ["h"]


def unit_scores(gates: dict[str, np.ndarray], h: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """score[u] = Σ over ``names`` of the variance over the tokens of unit u; arrays (T, H) → scores (H,)."""
    total = np.zeros(h.shape[1], dtype=np.float64)
    for name in names:
        values = h if name == "h" else gates[name]  # (T, H)
        total += values.astype(np.float64).var(axis=0)
    return total


def key_units(gates: dict[str, np.ndarray], h: np.ndarray, names: Sequence[str], k: int = KEY_UNITS) -> list[int]:
    """The ``k`` units with the highest :func:`unit_scores`, best first (ties: the lower unit first); every
    unit, ranked, when the layer has at most ``k``."""
    if k < 1:
        raise ValueError(f"the number of units to show must be at least 1, got {k}")
    scores = unit_scores(gates, h, names)
    order = np.argsort(-scores, kind="stable")  # stable: equal scores keep unit order
    return [int(u) for u in order[:k]]
