"""The lecture's sparse text features: one-hot word vectors and bag-of-words counts.

With a dictionary of V words, a word is the one-hot vector e_i ∈ {0,1}^V and a text of T words is the
T × V matrix of its one-hot rows; its bag of words is the column sum, a V-vector of counts. V can be
hundreds of thousands, so these are *sparse* tensors: memory grows with the number of tokens (nnz), never
with V. A dense (T, V) float32 one-hot for T = 1,000 and V = 300,000 would take 1.2 GB; the sparse one
takes 1,000 × (2 × 8 + 4) bytes = 20 kB.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch

Bigram = tuple[int, int]


class BigramVocab:
    """Index of word-id bigrams (a, b) kept as extra bag-of-words features.

    Build it on the training split only (:meth:`build`); feature ``j`` of a bag-of-words with a base
    vocabulary of size V is bigram ``j - V``.
    """

    def __init__(self, bigrams: Iterable[Bigram]) -> None:
        self._index: dict[Bigram, int] = {}
        for pair in bigrams:
            pair = (int(pair[0]), int(pair[1]))
            if pair in self._index:
                raise ValueError(f"duplicate bigram {pair}")
            self._index[pair] = len(self._index)

    @classmethod
    def build(cls, id_lists: Iterable[Sequence[int]], *, min_freq: int = 2, max_size: int | None = None) -> BigramVocab:
        """Keep bigrams seen ≥ ``min_freq`` times, most frequent first (ties: by the pair)."""
        counter: Counter[Bigram] = Counter()
        for ids in id_lists:
            counter.update(zip(ids[:-1], ids[1:], strict=True))
        kept = sorted((kv for kv in counter.items() if kv[1] >= min_freq), key=lambda kv: (-kv[1], kv[0]))
        if max_size is not None:
            kept = kept[:max_size]
        return cls(pair for pair, _ in kept)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, pair: object) -> bool:
        return pair in self._index

    def get(self, pair: Bigram) -> int | None:
        return self._index.get(pair)

    def keys(self, vocab_size: int) -> torch.Tensor:
        """The bigrams as sorted keys a·V + b, (n,) int64: the index the bag-of-words model stores."""
        return torch.tensor(sorted(a * vocab_size + b for a, b in self._index), dtype=torch.long)

    @classmethod
    def from_keys(cls, keys: torch.Tensor, vocab_size: int) -> BigramVocab:
        """The inverse of :meth:`keys`: feature j is the j-th smallest key."""
        return cls((k // vocab_size, k % vocab_size) for k in keys.sort().values.tolist())

    def to_dict(self) -> dict[str, Any]:
        return {"format": "rnnkit.bigram-vocab", "bigrams": [list(p) for p in self._index]}

    @classmethod
    def from_dict(cls, data: Any) -> BigramVocab:
        if not isinstance(data, dict) or data.get("format") != "rnnkit.bigram-vocab":
            raise ValueError("not an rnnkit bigram vocab (expected format 'rnnkit.bigram-vocab')")
        return cls(tuple(p) for p in data["bigrams"])


def _as_ids(ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(ids, dtype=torch.long)
    if t.dim() != 1:
        raise ValueError(f"expected a 1-D sequence of token ids, got shape {tuple(t.shape)}")
    return t


def one_hot(ids: Sequence[int] | torch.Tensor, vocab_size: int, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One-hot word vectors as a sparse COO tensor.

    Args:
        ids: token ids, shape (T,).
        vocab_size: V, the dictionary size.

    Returns:
        Sparse COO tensor (T, V) with a single 1 per row: T stored values, whatever V is.
    """
    t = _as_ids(ids)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}), got range [{int(t.min())}, {int(t.max())}]")
    rows = torch.arange(t.numel(), dtype=torch.long)
    indices = torch.stack([rows, t])
    values = torch.ones(t.numel(), dtype=dtype)
    return torch.sparse_coo_tensor(indices, values, (t.numel(), vocab_size), is_coalesced=True, check_invariants=True)


def bag_of_words(
    batch: Sequence[Sequence[int]],
    vocab_size: int,
    ngram_vocab: BigramVocab | None = None,
    *,
    layout: Literal["coo", "csr"] = "coo",
    binary: bool = False,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Bag-of-words counts of a batch of texts, optionally with bigram features.

    Args:
        batch: B lists of token ids (lengths may differ).
        vocab_size: V, the word dictionary size.
        ngram_vocab: bigram features appended after the V word columns (bigrams not in it are ignored).
        layout: ``"coo"`` or ``"csr"`` (compressed rows: fast row slicing and ``@``).
        binary: presence (0/1) instead of counts.

    Returns:
        Sparse tensor (B, V') with V' = V + len(ngram_vocab); entry (b, j) counts feature j in text b.
        Stored values ≤ total number of tokens (+ bigrams) in the batch.
    """
    rows: list[torch.Tensor] = []
    cols: list[torch.Tensor] = []
    width = vocab_size + (len(ngram_vocab) if ngram_vocab is not None else 0)
    for b, seq in enumerate(batch):
        t = _as_ids(seq)
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= vocab_size):
            raise ValueError(f"text {b}: token ids must lie in [0, {vocab_size})")
        feats = [t]
        if ngram_vocab is not None and t.numel() > 1:
            ids = t.tolist()
            found = [ngram_vocab.get(p) for p in zip(ids[:-1], ids[1:], strict=True)]
            feats.append(torch.tensor([vocab_size + j for j in found if j is not None], dtype=torch.long))
        col = torch.cat(feats)
        cols.append(col)
        rows.append(torch.full((col.numel(),), b, dtype=torch.long))
    index = torch.stack([torch.cat(rows), torch.cat(cols)]) if rows else torch.zeros(2, 0, dtype=torch.long)
    values = torch.ones(index.shape[1], dtype=dtype)
    # coalesce() sums the values of repeated (b, j) entries: that sum *is* the count.
    counts = torch.sparse_coo_tensor(index, values, (len(batch), width), check_invariants=True).coalesce()
    if binary:
        counts = torch.sparse_coo_tensor(
            counts.indices(),
            torch.ones_like(counts.values()),
            counts.shape,
            is_coalesced=True,
            check_invariants=True,
        )
    if layout == "coo":
        return counts
    if layout == "csr":
        with warnings.catch_warnings():  # torch flags CSR as "beta"; the conversion itself is exact
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return counts.to_sparse_csr()
    raise ValueError(f"layout must be 'csr' or 'coo', got {layout!r}")


def sparse_nbytes(t: torch.Tensor) -> int:
    """Bytes held by a sparse (COO or CSR) tensor's index and value arrays."""
    if t.layout == torch.sparse_coo:
        parts = [t._indices(), t._values()]
    elif t.layout == torch.sparse_csr:
        parts = [t.crow_indices(), t.col_indices(), t.values()]
    else:
        raise ValueError(f"expected a sparse COO or CSR tensor, got layout {t.layout}")
    return sum(p.numel() * p.element_size() for p in parts)
