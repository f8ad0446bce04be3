"""Text → ids: a tokenizer and a vocabulary bound together, for datasets and for prediction.

:class:`TextEncoder` is the one object a model directory needs to turn raw text into the ids the model
was trained on. At prediction time an empty text is an error; in datasets empty texts are dropped with a
counted warning, and overlong ones truncated with a counted warning.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from torch.utils.data import Dataset

from rnnkit.text.batching import truncate
from rnnkit.text.tokenize import (
    Tokenizer,
    TokenizerKind,
    build_tokenizer,
    save_tokenizer,
    tokenizer_from_config,
)
from rnnkit.text.vocab import Vocab

VOCAB_FILE = "rnnkit-vocab.json"  # rnnkit's own format, not HF's vocab.json (older directories name theirs in config)


class LabelledText(Protocol):
    """Anything with ``text`` and ``label`` (e.g. :class:`rnnkit.data.Example`)."""

    text: str
    label: int


class EncodedDataset(Dataset[tuple[list[int], int]]):
    """Encoded examples: item ``i`` is ``(ids_i, label_i)`` with ``len(ids_i) ≥ 1``.

    Attributes:
        ids: N id lists.
        labels: N labels.
        source_index: for each kept example, its index in the input list (empty ones were dropped).
        num_dropped, num_truncated: how many inputs were dropped (0 tokens) or cut to ``max_len``.
    """

    def __init__(
        self,
        ids: list[list[int]],
        labels: list[int],
        source_index: list[int],
        num_dropped: int = 0,
        num_truncated: int = 0,
    ) -> None:
        if not len(ids) == len(labels) == len(source_index):
            raise ValueError("ids, labels and source_index must have the same length")
        self.ids = ids
        self.labels = labels
        self.source_index = source_index
        self.num_dropped = num_dropped
        self.num_truncated = num_truncated

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[list[int], int]:
        return self.ids[i], self.labels[i]

    @property
    def lengths(self) -> list[int]:
        """Length of every sequence, shape (N,) — feed it to ``BucketBatchSampler``."""
        return [len(s) for s in self.ids]


class TextEncoder:
    """Tokenizer + vocabulary (+ optional ``max_len``, BOS/EOS).

    Args:
        tokenizer: any :class:`~rnnkit.text.tokenize.Tokenizer`.
        vocab: maps its tokens to ids.
        max_len: cut longer id sequences (with a warning); ``None`` keeps everything.
        add_bos, add_eos: wrap each sequence in ``<bos>`` … ``<eos>`` (counted in ``max_len``).
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        *,
        max_len: int | None = None,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> None:
        if max_len is not None and max_len < 1 + add_bos + add_eos:
            raise ValueError(f"max_len={max_len} leaves no room for a token")
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.max_len = max_len
        self.add_bos = add_bos
        self.add_eos = add_eos

    @classmethod
    def build(
        cls,
        train_texts: Sequence[str],
        *,
        tokenizer: TokenizerKind = "word",
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        bpe_vocab_size: int = 8000,
        bpe_fallback: Literal["byte", "unk"] = "byte",
        max_len: int | None = None,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> TextEncoder:
        """Fit a tokenizer (BPE learns merges) and a vocabulary on the **training** texts only."""
        tok = build_tokenizer(
            tokenizer,
            lowercase=lowercase,
            texts=train_texts if tokenizer == "bpe" else None,
            vocab_size=bpe_vocab_size,
            fallback=bpe_fallback,
        )
        vocab = Vocab.build((tok.tokenize(t) for t in train_texts), min_freq=min_freq, max_size=max_size)
        return cls(tok, vocab, max_len=max_len, add_bos=add_bos, add_eos=add_eos)

    def _ids(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokenizer.tokenize(text), add_bos=self.add_bos, add_eos=self.add_eos)

    def _is_empty(self, text: str, ids: list[int]) -> bool:
        # Whitespace-only text counts as empty even for a char tokenizer that keeps spaces.
        return not text.strip() or len(ids) == int(self.add_bos) + int(self.add_eos)

    def encode(self, text: str) -> list[int]:
        """One text → ids, shape (T,) with 1 ≤ T ≤ max_len.

        Raises:
            ValueError: the text is empty or whitespace only (no tokens).
        """
        ids = self._ids(text)
        if self._is_empty(text, ids):
            raise ValueError(f"cannot encode an empty text (no tokens after normalisation): {text[:40]!r}")
        if self.max_len is not None and len(ids) > self.max_len:
            warnings.warn(f"text of {len(ids)} tokens truncated to max_len={self.max_len}", UserWarning, stacklevel=2)
            ids = ids[: self.max_len]
        return ids

    def encode_dataset(self, examples: Iterable[LabelledText]) -> EncodedDataset:
        """Encode labelled examples; 0-token texts are dropped and long ones cut, each with one warning."""
        ids: list[list[int]] = []
        labels: list[int] = []
        kept: list[int] = []
        total = 0
        for i, ex in enumerate(examples):
            total += 1
            seq = self._ids(ex.text)
            if self._is_empty(ex.text, seq):
                continue
            ids.append(seq)
            labels.append(int(ex.label))
            kept.append(i)
        dropped = total - len(kept)
        if dropped:
            warnings.warn(f"dropped {dropped} of {total} examples with no tokens", UserWarning, stacklevel=2)
        n_cut = 0
        if self.max_len is not None:
            ids, n_cut = truncate(ids, self.max_len)
            if n_cut:
                warnings.warn(
                    f"truncated {n_cut} of {len(ids)} sequences to max_len={self.max_len} tokens",
                    UserWarning,
                    stacklevel=2,
                )
        return EncodedDataset(ids, labels, kept, num_dropped=dropped, num_truncated=n_cut)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids → text (specials dropped; exact for char/BPE, approximate spacing for words)."""
        return self.tokenizer.detokenize(self.vocab.decode(ids, skip_specials=True))

    # -------------------------------------------------------------------------------- persistence
    def to_config(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer.to_config(),
            "vocab_file": VOCAB_FILE,
            "max_len": self.max_len,
            "add_bos": self.add_bos,
            "add_eos": self.add_eos,
        }

    def save(self, directory: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the vocab (and a BPE tokenizer file) into ``directory``; return the config dict."""
        directory = Path(directory)
        self.vocab.save(directory / VOCAB_FILE)
        config = self.to_config()
        config["tokenizer"] = save_tokenizer(self.tokenizer, directory)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], directory: str | os.PathLike[str]) -> TextEncoder:
        """Rebuild from :meth:`save`'s config and the directory it wrote into."""
        try:
            tok = tokenizer_from_config(config["tokenizer"], directory)
            vocab = Vocab.load(Path(directory) / config["vocab_file"])
            return cls(tok, vocab, max_len=config["max_len"], add_bos=config["add_bos"], add_eos=config["add_eos"])
        except KeyError as err:
            raise ValueError(f"text encoder config lacks key {err.args[0]!r}: {json.dumps(config)[:200]}") from None
