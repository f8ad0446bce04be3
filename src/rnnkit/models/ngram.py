"""The lecture's Idea 1: the previous-word model — and the unigram model below it.

Count-based next-token models on the same token ids and vocabulary as the recurrent LM, so their
perplexities compare directly. A bigram model sees exactly one previous word; the recurrent model may
use all of them. Counts are kept sparse (keys a·V + b), so a large vocabulary costs nothing extra, and are
made by streaming the ids :data:`CHUNK` at a time (a memory-mapped stream larger than memory is never read
whole); the perplexities sum the log-probabilities chunk by chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

CHUNK = 1 << 22
"""Token ids counted or scored at a time (4M: about 100 MB of temporaries)."""


def chunks(ids: Tensor | np.ndarray, size: int = CHUNK) -> Iterator[Tensor]:
    """Windows of ``ids`` (N,) as int64 tensors of at most ``size + 1`` ids, each sharing its first id with
    the previous one's last, so every pair (t-1, t) is in exactly one window. A memory map is read a window
    at a time."""
    n = len(ids)
    for start in range(0, max(n - 1, 1), size):
        window = ids[start:start + size + 1]
        yield torch.as_tensor(np.asarray(window, dtype=np.int64)) if isinstance(window, np.ndarray) else window.long()


@dataclass
class NGramCounts:
    vocab_size: int
    unigram: Tensor  # (V,) counts of each token as a *next* token
    bigram_keys: Tensor  # (K,) sorted keys a * V + b
    bigram_counts: Tensor  # (K,)
    context: Tensor  # (V,) counts of each token as a *previous* token

    @classmethod
    def fit(cls, ids: Tensor | np.ndarray, vocab_size: int) -> NGramCounts:
        """Count on a training stream of ids (N,) (a tensor, an array or a memory map), a chunk at a time."""
        unigram = torch.zeros(vocab_size, dtype=torch.double)
        context = torch.zeros(vocab_size, dtype=torch.double)
        keys = torch.zeros(0, dtype=torch.long)
        counts = torch.zeros(0, dtype=torch.double)
        for window in chunks(ids):
            unigram += torch.bincount(window[1:], minlength=vocab_size).double()
            context += torch.bincount(window[:-1], minlength=vocab_size).double()
            new_keys, new_counts = torch.unique(window[:-1] * vocab_size + window[1:], return_counts=True)
            keys, inverse = torch.unique(torch.cat([keys, new_keys]), return_inverse=True)
            counts = torch.zeros(len(keys), dtype=torch.double).index_add_(0, inverse,
                                                                          torch.cat([counts, new_counts.double()]))
        return cls(vocab_size, unigram, keys, counts, context)

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


def mean_log_prob(fn: Callable[[Tensor], Tensor], ids: Tensor | np.ndarray) -> float:
    """Mean of ``fn(window)`` (the log-probability of every next token) over ``ids`` (N,), window by window."""
    total, count = 0.0, 0
    for window in chunks(ids):
        scores = fn(window)
        total += float(scores.sum())
        count += len(scores)
    return total / count


def baseline_report(train: Tensor | np.ndarray, val: Tensor | np.ndarray, test: Tensor | np.ndarray,
                    vocab_size: int) -> dict[str, dict[str, float]]:
    """Unigram, bigram (add-k, k tuned on val) and interpolated bigram (λ tuned on val): val/test perplexity
    and bits per token. The recurrent model is evaluated on the same streams."""
    counts = NGramCounts.fit(train, vocab_size)
    report: dict[str, dict[str, float]] = {}

    def add(name: str, fn: Callable[[Tensor], Tensor], **params: float) -> None:
        v, t = mean_log_prob(fn, val), mean_log_prob(fn, test)
        report[name] = {"val_perplexity": math.exp(-v), "test_perplexity": math.exp(-t),
                        "test_bits_per_token": -t / math.log(2), **params}

    add("unigram", lambda ids: unigram_log_probs(counts, ids), k=1.0)
    best_k = min((0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                 key=lambda k: -mean_log_prob(lambda ids: bigram_log_probs(counts, ids, k), val))
    add("bigram", lambda ids: bigram_log_probs(counts, ids, best_k), k=best_k)
    best_lam = min((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                   key=lambda lam: -mean_log_prob(lambda ids: interpolated_log_probs(counts, ids, lam), val))
    add("bigram+unigram", lambda ids: interpolated_log_probs(counts, ids, best_lam), lam=best_lam)
    return report
