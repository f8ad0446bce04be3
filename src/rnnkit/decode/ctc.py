"""Decoding CTC outputs: greedy (best path) and prefix beam search with an optional character bigram LM.

A CTC model emits, per frame t, log-probabilities over C classes: class 0 is the *blank*, classes
1..C-1 are characters. A frame-level path maps to a label sequence by collapsing repeats and then
dropping blanks (``a a - a b -`` → ``a a b``). Greedy decoding takes the most probable class at every
frame; prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous speech
recognition using bi-directional recurrent DNNs") keeps the ``beam`` best *label prefixes*, each
scored by the total probability of all paths that yield it, split into paths ending in a blank
(``p_b``) and in a character (``p_nb``) so that repeats are merged correctly:

    extend prefix ℓ by c at frame t:   c = blank     → p_b(ℓ)   += (p_b + p_nb)(ℓ) · y_t(blank)
                                        c = last(ℓ)   → p_nb(ℓ)  += p_nb(ℓ) · y_t(c)        (repeat, merged)
                                                        p_nb(ℓc) += p_b(ℓ) · y_t(c) · P_lm(c | last)^α
                                        otherwise     → p_nb(ℓc) += (p_b + p_nb)(ℓ) · y_t(c) · P_lm(c | last)^α

Prefixes are ranked by log p(ℓ) + β·|ℓ| (β, the insertion bonus, offsets the LM's pull towards short
outputs). With α = 0 the search needs no LM; with ``beam=1`` it is greedy decoding of the best prefix
(not always equal to best-path decoding, but it is on peaked outputs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BLANK = 0
NEG_INF = -math.inf


def greedy_decode(log_probs: np.ndarray, blank: int = BLANK) -> list[int]:
    """Best-path decoding of one utterance: (T, C) → labels (collapse repeats, drop blanks)."""
    best = np.asarray(log_probs).argmax(axis=1)
    out, previous = [], blank
    for k in best.tolist():
        if k != previous and k != blank:
            out.append(k)
        previous = k
    return out


class CharBigramLM:
    """log P(c | previous character) with add-k smoothing; ``previous = 0`` means start of utterance.

    Classes are CTC classes (1..C-1 characters); row 0 of the table is the start context. Trained on
    label sequences with :meth:`fit`, stored in a model directory as nested lists (:meth:`to_dict`)."""

    def __init__(self, log_probs: np.ndarray) -> None:
        self.log_probs = np.asarray(log_probs, dtype=np.float64)  # (C, C): [previous, next]

    @classmethod
    def fit(cls, sequences: Sequence[Sequence[int]], num_classes: int, k: float = 0.5) -> CharBigramLM:
        counts = np.full((num_classes, num_classes), k)
        counts[:, BLANK] = 0.0  # the blank is never a character
        for seq in sequences:
            for prev, nxt in zip([BLANK, *seq[:-1]], seq, strict=True):
                counts[prev, nxt] += 1
        with np.errstate(divide="ignore"):
            return cls(np.log(counts / counts.sum(axis=1, keepdims=True)))

    def __call__(self, previous: int, c: int) -> float:
        return float(self.log_probs[previous, c])

    def to_dict(self) -> dict:
        return {"log_probs": [[round(v, 5) if math.isfinite(v) else -1e9 for v in row]
                              for row in self.log_probs.tolist()]}

    @classmethod
    def from_dict(cls, data: dict) -> CharBigramLM:
        return cls(np.array(data["log_probs"], dtype=np.float64))


def _logsumexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, *, lm: CharBigramLM | None = None,
                       lm_weight: float = 0.0, insertion_bonus: float = 0.0, prune: float = -12.0,
                       blank: int = BLANK) -> list[int]:
    """CTC prefix beam search over one utterance's (T, C) log-probabilities → the best label sequence.

    Args:
        beam: prefixes kept after every frame (1: the single best prefix).
        lm, lm_weight: a character LM and its weight α (ignored when α = 0 or no LM).
        insertion_bonus: β, added per emitted character when ranking prefixes.
        prune: characters with log-probability below this at a frame are not tried there (speed).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    lp = np.asarray(log_probs, dtype=np.float64)
    use_lm = lm is not None and lm_weight != 0.0
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}  # prefix → (log p_b, log p_nb)
    def score(prefix: tuple[int, ...], probs: tuple[float, float] | list[float]) -> float:
        return _logsumexp(probs[0], probs[1]) + insertion_bonus * len(prefix)

    for t in range(lp.shape[0]):
        row = lp[t]
        chars = [c for c in np.flatnonzero(row >= prune).tolist() if c != blank]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_b, p_nb) in beams.items():
            total = _logsumexp(p_b, p_nb)
            same = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            same[0] = _logsumexp(same[0], total + row[blank])
            last = prefix[-1] if prefix else blank  # the LM's start context is the blank class
            for c in chars:
                p = row[c]
                lm_score = lm_weight * lm(last, c) if use_lm else 0.0  # type: ignore[misc]
                extended = nxt.setdefault(prefix + (c,), [NEG_INF, NEG_INF])
                if c == last:
                    same[1] = _logsumexp(same[1], p_nb + p)  # the repeat merges into the same character
                    extended[1] = _logsumexp(extended[1], p_b + p + lm_score)  # a blank separated them
                else:
                    extended[1] = _logsumexp(extended[1], total + p + lm_score)
        ranked = sorted(nxt.items(), key=lambda item: score(*item), reverse=True)[:beam]
        beams = {prefix: (v[0], v[1]) for prefix, v in ranked}
    return list(max(beams.items(), key=lambda item: score(*item))[0])


__all__ = ["BLANK", "CharBigramLM", "greedy_decode", "prefix_beam_search"]
