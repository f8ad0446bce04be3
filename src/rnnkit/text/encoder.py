"""Text → ids: one Hugging Face ``tokenizers`` pipeline, saved as ``tokenizer.json``, for datasets and prediction.

:class:`TextEncoder` is the one object a model directory needs to turn raw text into the ids the model
was trained on. Its :attr:`~TextEncoder.hf` is the whole pipeline — rnnkit's normaliser, the word / char /
BPE cut, a model over rnnkit's vocabulary ids (specials ``<pad> <unk> <bos> <eos>`` at 0–3, unknown → 1),
``<bos>``/``<eos>`` and ``max_len`` — and the model directory saves it as ``tokenizer.json``, so
``tokenizers.Tokenizer.from_file("tokenizer.json").encode(text).ids`` are the ids rnnkit feeds its model
(a BPE token the vocabulary lacks has an id ≥ ``len(vocab)`` there and reads as ``<unk>``:
:mod:`rnnkit.text.bpe`). At prediction time an empty text is an error; in datasets empty texts are
dropped with a counted warning, and overlong ones truncated with a counted warning.

Older model directories (a ``vocab_file`` in their config, and for BPE an HF file with the BPE's own ids)
load unchanged: the same pipeline is built from their vocabulary and settings, in memory.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import processors
from torch.utils.data import Dataset

from rnnkit.files import MAX_DEPTH, TOKENIZER_BYTES, json_depth, read_text, write_text
from rnnkit.text.tokenize import Tokenizer, TokenizerKind, build_tokenizer, tokenizer_from_config
from rnnkit.text.vocab import BOS, BOS_TOKEN, EOS, EOS_TOKEN, SPECIALS, UNK, Vocab

TOKENIZER_FILE = "tokenizer.json"  # the pipeline, Hugging Face's format: Tokenizer.from_file loads it
VOCAB_FILE = "rnnkit-vocab.json"  # older directories: rnnkit's vocabulary (read, no longer written)


class EmptyTextError(ValueError):
    """Text ``index`` of a batch has no tokens (it is empty or whitespace only)."""

    def __init__(self, index: int, text: str) -> None:
        super().__init__(f"cannot encode an empty text (no tokens after normalisation): {text[:40]!r}")
        self.index = index


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
    """Tokenizer + vocabulary (+ optional ``max_len``, BOS/EOS) as one HF pipeline, :attr:`hf`.

    Args:
        tokenizer: any :class:`~rnnkit.text.tokenize.Tokenizer` (its normaliser and cut).
        vocab: the ids of its tokens.
        max_len: cut longer id sequences (with a warning), keeping ``<bos>``/``<eos>``; ``None`` keeps
            everything.
        add_bos, add_eos: wrap each sequence in ``<bos>`` … ``<eos>`` (counted in ``max_len``).
        pipeline: the saved ``tokenizer.json`` of a model directory (loaded), used as it is; by default
            the pipeline is built from ``tokenizer`` and ``vocab``.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        *,
        max_len: int | None = None,
        add_bos: bool = False,
        add_eos: bool = False,
        pipeline: HFTokenizer | None = None,
    ) -> None:
        if max_len is not None and max_len < 1 + add_bos + add_eos:
            raise ValueError(f"max_len={max_len} leaves no room for a token")
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.max_len = max_len
        self.add_bos = add_bos
        self.add_eos = add_eos
        self.hf = pipeline if pipeline is not None else tokenizer.pipeline(vocab)
        _set_specials_and_length(self.hf, add_bos, add_eos, max_len)
        self.num_ids = max(self.hf.get_vocab().values()) + 1  # ids the pipeline gives: len(vocab), BPE more
        self._fold = self.num_ids > len(vocab)  # a BPE token the vocabulary lacks (id >= len(vocab)) reads as <unk>
        # tokenizers >= 0.21 can skip the character offsets, which rnnkit never reads (~15 % less work)
        self._encode_batch = getattr(self.hf, "encode_batch_fast", self.hf.encode_batch)

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

    # ------------------------------------------------------------------------------------ encoding
    def _run(self, texts: Sequence[str]) -> list[tuple[list[int], int]]:
        """Each text through the pipeline: (ids, tokens cut by ``max_len``; 0 when nothing was cut)."""
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"a text must be str, got {type(text).__name__}")
        try:
            encodings = self._encode_batch(list(texts)) if len(texts) > 1 else [self.hf.encode(t) for t in texts]
        except TypeError:  # every input is a str: one holds a lone surrogate, which is no Unicode text
            raise ValueError("a text holds a lone surrogate code point (U+D800-U+DFFF): it is not valid Unicode "
                             "text; decode the input with errors='replace'") from None
        specials = int(self.add_bos) + int(self.add_eos)
        out = []
        for enc in encodings:
            ids = enc.ids
            if self._fold:
                n = len(self.vocab)
                ids = [i if i < n else UNK for i in ids]
            cut = sum(len(more.ids) - specials for more in enc.overflowing) if self.max_len is not None else 0
            out.append((ids, cut))
        return out

    def _is_empty(self, text: str, ids: list[int]) -> bool:
        # Whitespace-only text counts as empty even for a char tokenizer that keeps spaces.
        return not text.strip() or len(ids) == int(self.add_bos) + int(self.add_eos)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text as the pipeline gives them: no check, no warning (id streams of a corpus)."""
        return [ids for ids, _ in self._run(texts)]

    def encode(self, text: str) -> list[int]:
        """One text → ids, shape (T,) with 1 ≤ T ≤ max_len.

        Raises:
            ValueError: the text is empty or whitespace only (no tokens).
        """
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Texts → ids, one list (T_i,) per text, 1 ≤ T_i ≤ max_len (one warning counts the cut ones).

        Raises:
            EmptyTextError: a text is empty or whitespace only (``.index``: the first such).
        """
        encoded = self._run(texts)
        for i, (text, (ids, _)) in enumerate(zip(texts, encoded, strict=True)):
            if self._is_empty(text, ids):
                raise EmptyTextError(i, text)
        cut = [len(ids) + n for ids, n in encoded if n]
        if len(cut) == 1 and len(texts) == 1:
            warnings.warn(f"text of {cut[0]} tokens truncated to max_len={self.max_len}", UserWarning, stacklevel=3)
        elif cut:
            warnings.warn(f"truncated {len(cut)} of {len(texts)} texts to max_len={self.max_len} tokens",
                          UserWarning, stacklevel=2)
        return [ids for ids, _ in encoded]

    def encode_dataset(self, examples: Iterable[LabelledText]) -> EncodedDataset:
        """Encode labelled examples; 0-token texts are dropped and long ones cut, each with one warning."""
        examples = list(examples)
        ids: list[list[int]] = []
        labels: list[int] = []
        kept: list[int] = []
        n_cut = 0
        for i, (ex, (seq, cut)) in enumerate(zip(examples, self._run([ex.text for ex in examples]), strict=True)):
            if self._is_empty(ex.text, seq):
                continue
            ids.append(seq)
            labels.append(int(ex.label))
            kept.append(i)
            n_cut += bool(cut)
        dropped = len(examples) - len(kept)
        if dropped:
            warnings.warn(f"dropped {dropped} of {len(examples)} examples with no tokens", UserWarning, stacklevel=2)
        if n_cut:
            warnings.warn(f"truncated {n_cut} of {len(ids)} sequences to max_len={self.max_len} tokens",
                          UserWarning, stacklevel=2)
        return EncodedDataset(ids, labels, kept, num_dropped=dropped, num_truncated=n_cut)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids → text (specials dropped; exact for char/BPE, approximate spacing for words)."""
        return self.tokenizer.detokenize(self.vocab.decode(ids, skip_specials=True))

    # -------------------------------------------------------------------------------- persistence
    def to_config(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer.to_config(),
            "tokenizer_file": TOKENIZER_FILE,
            "vocab_size": len(self.vocab),
            "max_len": self.max_len,
            "add_bos": self.add_bos,
            "add_eos": self.add_eos,
        }

    def save(self, directory: str | os.PathLike[str], name: str = TOKENIZER_FILE) -> dict[str, Any]:
        """Write the pipeline as ``directory / name`` (atomically); return the config dict that names it."""
        write_text(Path(directory) / name, self.hf.to_str(pretty=True))
        return {**self.to_config(), "tokenizer_file": name}

    @classmethod
    def from_config(cls, config: dict[str, Any], directory: str | os.PathLike[str]) -> TextEncoder:
        """Rebuild from :meth:`save`'s config and the directory it wrote into (or an older directory's
        ``vocab_file`` + tokenizer settings); nothing is written."""
        try:
            settings = {"max_len": config["max_len"], "add_bos": config["add_bos"], "add_eos": config["add_eos"]}
            if "tokenizer_file" not in config:  # older directories: the vocabulary file and the settings
                tok = tokenizer_from_config(config["tokenizer"], directory)
                return cls(tok, Vocab.load(Path(directory) / config["vocab_file"]), **settings)
            path = Path(directory) / config["tokenizer_file"]
            pipeline = read_pipeline(path)
            vocab = _pipeline_vocab(pipeline, config["vocab_size"], path)
            tok = tokenizer_from_config(config["tokenizer"], front=pipeline)
            return cls(tok, vocab, pipeline=pipeline, **settings)
        except KeyError as err:
            raise ValueError(f"text encoder config lacks key {err.args[0]!r}: {json.dumps(config)[:200]}") from None


def read_pipeline(path: Path) -> HFTokenizer:
    """A ``tokenizer.json``; a missing or unreadable file is a one-line ``ValueError``."""
    if not path.exists():
        raise ValueError(f"{path} is missing: the model directory is incomplete")
    text = read_text(path, TOKENIZER_BYTES, "tokenizer file")  # a regular file of bounded size
    if json_depth(text) > MAX_DEPTH:
        raise ValueError(f"{path} nests deeper than {MAX_DEPTH} levels; it is not a tokenizer file")
    try:
        return HFTokenizer.from_str(text)
    except Exception as err:  # tokenizers raises a bare Exception for a malformed file
        raise ValueError(f"{path}: not a Hugging Face tokenizer file ({str(err)[:80]})") from None


def _pipeline_vocab(pipeline: HFTokenizer, size: Any, path: Path) -> Vocab:
    """The vocabulary of a saved pipeline: its tokens of ids 0 … size−1, the specials first."""
    if not isinstance(size, int) or isinstance(size, bool) or size < len(SPECIALS):
        raise ValueError(f"vocab_size must be an integer >= {len(SPECIALS)}, got {size!r:.40}")
    itos = [pipeline.id_to_token(i) for i in range(size)]
    if tuple(itos[: len(SPECIALS)]) != SPECIALS or None in itos:
        raise ValueError(f"{path} does not give rnnkit's ids: ids 0-{size - 1} must be {', '.join(SPECIALS)} "
                         "and then the vocabulary (retrain, or restore the file)")
    return Vocab(itos[len(SPECIALS):])


def _set_specials_and_length(hf: HFTokenizer, add_bos: bool, add_eos: bool, max_len: int | None) -> None:
    """``<bos>``/``<eos>`` around every text (a post-processor) and the cut at ``max_len`` (truncation)."""
    if add_bos or add_eos:
        template = " ".join([BOS_TOKEN] * add_bos + ["$A"] + [EOS_TOKEN] * add_eos)
        hf.post_processor = processors.TemplateProcessing(single=template,
                                                          special_tokens=[(BOS_TOKEN, BOS), (EOS_TOKEN, EOS)])
    else:
        hf.post_processor = None
    if max_len is not None:
        hf.enable_truncation(max_len)
    else:
        hf.no_truncation()
