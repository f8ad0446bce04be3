"""The lecture's Idea 1: the previous-word model — and the unigram model below it.

Count-based next-token models on the same token ids and vocabulary as the recurrent LM, so their
perplexities compare directly. A bigram model sees exactly one previous word; the recurrent model may
use all of them. Counts are kept sparse (keys a·V + b), so a large vocabulary costs nothing extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class NGramCounts:
    vocab_size: int
    unigram: Tensor  # (V,) counts of each token as a *next* token
    bigram_keys: Tensor  # (K,) sorted keys a * V + b
    bigram_counts: Tensor  # (K,)
    context: Tensor  # (V,) counts of each token as a *previous* token

    @classmethod
    def fit(cls, ids: Tensor, vocab_size: int) -> NGramCounts:
        """Count on a training stream of ids (N,)."""
        ids = ids.long()
        keys, counts = torch.unique(ids[:-1] * vocab_size + ids[1:], return_counts=True)
        return cls(vocab_size, torch.bincount(ids[1:], minlength=vocab_size).double(), keys, counts.double(),
                   torch.bincount(ids[:-1], minlength=vocab_size).double())

    def pair_counts(self, prev: Tensor, nxt: Tensor) -> Tensor:
        keys = prev.long() * self.vocab_size + nxt.long()
        idx = torch.searchsorted(self.bigram_keys, keys).clamp(max=len(self.bigram_keys) - 1)
        return torch.where(self.bigram_keys[idx] == keys, self.bigram_counts[idx], torch.zeros((), dtype=torch.double))


def unigram_log_probs(counts: NGramCounts, ids: Tensor, k: float = 1.0) -> Tensor:
    """log P(w_t) with add-k smoothing, for every t ≥ 1 of ids (N,) → (N-1,)."""
    p = (counts.unigram + k) / (counts.unigram.sum() + k * counts.vocab_size)
    return p.log()[ids[1:].long()]


def bigram_log_probs(counts: NGramCounts, ids: Tensor, k: float = 0.01) -> Tensor:
    """log P(w_t | w_{t-1}) = log (c(w_{t-1}, w_t) + k) / (c(w_{t-1}) + k·V): the add-k previous-word model."""
    num = counts.pair_counts(ids[:-1], ids[1:]) + k
    den = counts.context[ids[:-1].long()] + k * counts.vocab_size
    return (num / den).log()


def interpolated_log_probs(counts: NGramCounts, ids: Tensor, lam: float) -> Tensor:
    """log [λ P_ML(w_t | w_{t-1}) + (1 − λ) P_add-1(w_t)] (Jelinek–Mercer interpolation)."""
    ctx = counts.context[ids[:-1].long()]
    ml = torch.where(ctx > 0, counts.pair_counts(ids[:-1], ids[1:]) / ctx.clamp(min=1), torch.zeros_like(ctx))
    uni = unigram_log_probs(counts, ids).exp()
    return (lam * ml + (1 - lam) * uni).log()


def perplexity(log_probs: Tensor) -> float:
    return math.exp(-float(log_probs.mean()))


def baseline_report(train: Tensor, val: Tensor, test: Tensor, vocab_size: int) -> dict[str, dict[str, float]]:
    """Unigram, bigram (add-k, k tuned on val) and interpolated bigram (λ tuned on val): val/test perplexity
    and bits per token. The recurrent model is evaluated on the same streams."""
    counts = NGramCounts.fit(train, vocab_size)
    report: dict[str, dict[str, float]] = {}

    def add(name: str, fn, **params) -> None:
        v, t = fn(val), fn(test)
        report[name] = {"val_perplexity": perplexity(v), "test_perplexity": perplexity(t),
                        "test_bits_per_token": float(-t.mean()) / math.log(2), **params}

    add("unigram", lambda ids: unigram_log_probs(counts, ids), k=1.0)
    best_k = min((0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                 key=lambda k: -float(bigram_log_probs(counts, val, k).mean()))
    add("bigram", lambda ids: bigram_log_probs(counts, ids, best_k), k=best_k)
    best_lam = min((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                   key=lambda lam: -float(interpolated_log_probs(counts, val, lam).mean()))
    add("bigram+unigram", lambda ids: interpolated_log_probs(counts, ids, best_lam), lam=best_lam)
    return report
