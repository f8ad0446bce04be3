"""Batching variable-length sequences: length buckets, padding, truncation.

An RNN over a padded batch spends work on every pad position, so batches group examples of similar
length. :class:`BucketBatchSampler` yields lists of example indices; :class:`PadCollator` turns the
examples of one batch into a padded (B, T_max) ``LongTensor`` plus their true lengths::

    tokens   ┌ 5 9 2 7 ┐   lengths ┌ 4 ┐   (PAD = 0 after each sequence's end)
             │ 8 3 0 0 │           │ 2 │
             └ 6 1 4 0 ┘           └ 3 ┘
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import Sampler

from rnnkit.text.vocab import PAD


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of examples with similar lengths, reproducible for a seed, split across ranks.

    With ``shuffle=True`` the indices are permuted, cut into pools of ``batch_size * pool_factor``,
    each pool is sorted by length and cut into batches, and the batch order is shuffled — batches are
    near-uniform in length yet differ between epochs. With ``shuffle=False`` all indices are sorted by
    length (stable), which minimises padding for evaluation.

    For distributed training pass ``num_replicas`` (world size W) and ``rank``: the batches are those of
    one process with ``batch_size`` W·B (the *global batch*), and each rank takes a strided slice of B of
    every one (``global[rank::W]``; strided, so every rank gets a similar mix of lengths)::

        global batch i (W·B, length-sorted)   a b c d e f g h      W = 2, B = 4
        rank 0                                a   c   e   g
        rank 1                                  b   d   f   h

    Every rank runs the same number of steps and the slices of a batch are equal, so DDP's average of the
    ranks' mean gradients is the mean gradient of the global batch: W processes with batch size B train as
    one process with W·B. The one short batch of an epoch (N mod W·B examples), when W does not divide
    it, is padded with its own first examples to a multiple of W (as ``DistributedSampler`` pads), and
    there the two differ by those few repeats; ``drop_last`` drops it.

    Args:
        lengths: length of every example, shape (N,).
        batch_size: examples per batch and rank (the last batch of an epoch may be smaller unless
            ``drop_last``).
        shuffle: randomise (training) or sort (evaluation).
        seed: base seed; epoch ``e`` uses ``seed + e`` (call :meth:`set_epoch`).
        pool_factor: pool size in global batches; larger pools give tighter length buckets, less randomness.
        drop_last: drop the one short batch.
        num_replicas, rank: world size and this process's rank.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        pool_factor: int = 50,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be >= 1, got {pool_factor}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas=}, {rank=}")
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_factor = pool_factor
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for a new epoch (every rank must call it with the same epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches this rank yields per epoch: the number of global batches."""
        n, bs = len(self.lengths), self.batch_size * self.num_replicas
        return n // bs if self.drop_last else math.ceil(n / bs)

    def global_batches(self) -> list[list[int]]:
        """All batches of this epoch (``batch_size`` × ``num_replicas`` examples each), before the split
        across ranks."""
        n, bs = len(self.lengths), self.batch_size * self.num_replicas
        by_length = self.lengths.__getitem__
        if not self.shuffle:
            order = sorted(range(n), key=by_length)
            batches = [order[i : i + bs] for i in range(0, n, bs)]
        else:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            perm = torch.randperm(n, generator=g).tolist()
            pool = bs * self.pool_factor
            batches = []
            for start in range(0, n, pool):
                chunk = sorted(perm[start : start + pool], key=by_length)
                batches.extend(chunk[i : i + bs] for i in range(0, len(chunk), bs))
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        if self.drop_last:
            batches = [b for b in batches if len(b) == bs]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        world = self.num_replicas
        for batch in self.global_batches():
            wanted = world * math.ceil(len(batch) / world)  # equal slices: pad a short batch with its start
            padded = (batch * math.ceil(wanted / len(batch)))[:wanted]
            yield padded[self.rank :: world]


@dataclass
class Batch:
    """A padded batch.

    Attributes:
        tokens: (B, T_max) int64 token ids, padded with ``pad_id`` after each sequence.
        lengths: (B,) int64 true lengths (≥ 1), on CPU as ``pack_padded_sequence`` requires.
        labels: (B,) int64 class ids, or ``None`` for unlabelled input.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        """Move tokens and labels to ``device`` (lengths stay on CPU)."""
        labels = self.labels.to(device) if self.labels is not None else None
        return Batch(self.tokens.to(device), self.lengths, labels)

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


def truncate(sequences: Sequence[Sequence[int]], max_len: int) -> tuple[list[list[int]], int]:
    """Cut every sequence to at most ``max_len`` ids (keeping the start).

    Returns:
        The cut sequences and how many were longer than ``max_len``. Callers must report that count.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    out = [list(s[:max_len]) for s in sequences]
    return out, sum(len(s) > max_len for s in sequences)


class PadCollator:
    """``collate_fn`` for a ``DataLoader``: pads a list of examples into a :class:`Batch`.

    Each example is ``(ids, label)`` or just ``ids``. With ``max_len``, longer sequences are cut; the
    first batch that needs it raises one ``UserWarning`` with the count, and :attr:`num_truncated` keeps
    counting afterwards (truncation is never silent, but it does not flood the log either).
    """

    def __init__(self, pad_id: int = PAD, max_len: int | None = None) -> None:
        if max_len is not None and max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        self.pad_id = pad_id
        self.max_len = max_len
        self.num_truncated = 0
        self._warned = False

    def __call__(self, examples: Sequence[tuple[Sequence[int], int] | Sequence[int]]) -> Batch:
        if not examples:
            raise ValueError("cannot collate an empty batch")
        labelled = isinstance(examples[0], tuple)
        seqs: list[Sequence[int]] = [ex[0] if labelled else ex for ex in examples]  # type: ignore[misc]
        if self.max_len is not None:
            seqs, n_cut = truncate(seqs, self.max_len)
            if n_cut:
                self.num_truncated += n_cut
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"truncated {n_cut} of {len(seqs)} sequences in a batch to max_len={self.max_len} "
                        "tokens; further truncations are counted in PadCollator.num_truncated",
                        UserWarning,
                        stacklevel=2,
                    )
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        if bool((lengths == 0).any()):
            raise ValueError(
                f"cannot collate empty sequences (positions {(lengths == 0).nonzero().flatten().tolist()}); "
                "drop 0-token examples before batching"
            )
        tokens = torch.full((len(seqs), int(lengths.max())), self.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            tokens[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        labels = torch.tensor([ex[1] for ex in examples], dtype=torch.long) if labelled else None  # type: ignore[index]
        return Batch(tokens, lengths, labels)


def collate(examples: Sequence[tuple[Sequence[int], int] | Sequence[int]], *, pad_id: int = PAD) -> Batch:
    """Pad one batch without truncation (see :class:`PadCollator` for ``max_len``)."""
    return PadCollator(pad_id)(examples)
