"""The fairness protocol of the experiments: each arm's learning rate chosen on validation data, then seeds.

A comparison of cells is fair when no cell is held back by a learning rate that suits another: each arm
trains with the best rate of a small grid, judged on data no reported number comes from (a validation split
or a held-out set of its own), and every reported configuration runs with several seeds (weights, batch
order and, for generated data, the data), so a difference can be told from the spread of seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def choose_lr(grid: Sequence[float], score: Callable[[float], float], *, higher_is_better: bool,
              log: Callable[[str], None] = print, what: str = "") -> tuple[float, dict[str, float]]:
    """The learning rate of ``grid`` with the best validation ``score(lr)`` (ties: the smaller rate), and
    every grid point's score (keys are the rates as strings, as JSON stores them)."""
    scores: dict[float, float] = {}
    for lr in grid:
        scores[lr] = score(lr)
        log(f"{what} lr {lr:g}: validation {scores[lr]:.4f}")
    sign = -1.0 if higher_is_better else 1.0
    best = min(sorted(scores), key=lambda lr: sign * scores[lr])
    return best, {str(lr): s for lr, s in scores.items()}


def paired_wins(a: Sequence[float], b: Sequence[float]) -> tuple[int, int]:
    """Over seeds paired by index (the same seed: the same data and batch order), how often ``a`` is above
    ``b`` and how often below."""
    if len(a) != len(b):
        raise ValueError(f"paired seeds need equal counts, got {len(a)} and {len(b)}")
    above = sum(x > y for x, y in zip(a, b, strict=True))
    below = sum(x < y for x, y in zip(a, b, strict=True))
    return above, below
