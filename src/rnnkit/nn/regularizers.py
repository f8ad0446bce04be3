"""Recurrent regularisers that act inside the time loop, for any cell: zoneout and variational dropout.

Both are options of :class:`~rnnkit.nn.layers.Recurrent` (``zoneout=p``, ``recurrent_dropout=p``), not
cells, so every cell gets them. Shapes: x_t (B, I), h and c (B, H).

**Variational (recurrent) dropout** (Gal & Ghahramani 2016, "A Theoretically Grounded Application of
Dropout in Recurrent Neural Networks", §4): one mask per sequence, the same at every step,

    m_x ~ Bernoulli(1 − p)^{B×I} / (1 − p),   m_h ~ Bernoulli(1 − p)^{B×H} / (1 − p)
    state_t = cell(x_t ⊙ m_x, state_{t-1}; the recurrent weights read h_{t-1} ⊙ m_h)

drawn afresh for each layer and direction of each forward call. Only the matrix products see the
dropped h (``RecurrentCell.step(h_in=…)``); the GRUs' carry z ⊙ h_{t-1} keeps h itself. At evaluation
the masks are 1 (their expectation), so the layer is the plain cell.

**Zoneout** (Krueger et al. 2017, "Zoneout: Regularizing RNNs by Randomly Preserving Hidden
Activations", eq. 3–4): each unit keeps its previous value with probability p, at every step,

    training:    d_t ~ Bernoulli(p)^{B×H};   h_t = d_t ⊙ h_{t-1} + (1 − d_t) ⊙ h̃_t   (and c_t likewise)
    evaluation:  h_t = p h_{t-1} + (1 − p) h̃_t                                     (the expectation)

where h̃_t (c̃_t) is what the cell computes. The gradient flows through both terms (identity where a unit
was kept), which is the point: a kept unit passes its gradient straight to the previous step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.state import State, map_state


def check_probability(name: str, p: float) -> float:
    """``p`` as a float in [0, 1), else a one-line ValueError naming the option."""
    if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


def variational_mask(batch: int, size: int, p: float, like: Tensor) -> Tensor:
    """One dropout mask per sequence: (B, size) with entries 0 or 1/(1 − p), on ``like``'s device/dtype."""
    keep = like.new_empty(batch, size).bernoulli_(1.0 - p)
    return keep / (1.0 - p)


def zoneout(new: State, old: State, p: float, training: bool) -> State:
    """Krueger et al.'s update: a random per-unit keep of ``old`` in training, the expectation otherwise.

    new, old: h (B, H) or (h, c); returns the same structure. Each part draws its own mask."""
    if training:
        def keep_some(n: Tensor, o: Tensor) -> Tensor:
            d = torch.empty_like(n).bernoulli_(p)  # 1: keep the previous value
            return torch.lerp(n, o, d)  # d ⊙ o + (1 − d) ⊙ n

        return map_state(keep_some, new, old)
    return map_state(lambda n, o: torch.lerp(n, o, p), new, old)  # p ⊙ o + (1 − p) ⊙ n


# One wording for every task's options (``--zoneout``, ``--recurrent-dropout``).
ZONEOUT_HELP = ("zoneout probability: each unit keeps its previous h (and c) at a step (Krueger et al. 2017); "
                "0: off")
RECURRENT_DROPOUT_HELP = ("variational dropout: one mask per sequence on each recurrent layer's input and on h, "
                          "the same at every step (Gal & Ghahramani 2016); 0: off")
