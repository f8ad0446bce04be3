"""Labelled rows of a file larger than memory: a CSV / TSV / JSONL file → token ids on disk, split by index.

The classification counterpart of :mod:`rnnkit.data.tokenstream`: the file is parsed a row at a time (never
read whole), three times — labels (for the split), the training texts' tokens (for the vocabulary), every
text's ids — and what stays in memory is one number or two per row: its label, and where its ids start in
a flat memory map::

    cache_dir()/rows/<key>/       key: sha256 of the format, the file's sha256, the columns, seed, tokenizer
      ids.bin                     every row's token ids end to end (uint16 or uint32), not truncated
      offsets.npy                 row i's ids are ids[offsets[i]:offsets[i + 1]]  (int64, N + 1)
      labels.npy                  class id of every row (int32, N)
      tokenizer.json, meta.json   the pipeline; labels, the split record (as the in-memory split writes it)

The rows, their keys, the label names and the seeded stratified split are those of reading the file whole
(:func:`rnnkit.data.own.read_labelled` + :func:`rnnkit.data.splits.split_examples`): the same row rules
(header, blank lines skipped, empty texts dropped) and the same split function on the same keys, so
``split["keys"]`` — and the split hashes — are unchanged. A row's ids are cut to ``max_len`` when read, and
rows with no tokens are dropped from their split, as :meth:`TextEncoder.encode_dataset` does.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from tokenizers import trainers

from rnnkit.data.fetching.packages import cache_dir
from rnnkit.data.linestream import file_sha256
from rnnkit.data.readers.encoding import line_list
from rnnkit.data.readers.text import jsonl_row, map_labels, sniff_delimiter, table_rows
from rnnkit.data.splits import DEFAULT_SEED, SPLITS, Splits, stratified_split_arrays
from rnnkit.files import write_json
from rnnkit.text import SPECIALS, UNK, TextEncoder, Vocab
from rnnkit.text.tokenize import build_tokenizer

FORMAT = 1
STREAM_BYTES = 64 << 20
"""Labelled files from this size (64 MiB) are streamed; smaller ones are read whole (the same rows and split)."""
BATCH_ROWS = 4096  # texts handed to the tokenizer at a time
SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson")


class EncodedRows(Sequence[tuple[list[int], int]]):
    """The rows of one split, read from the map: item i is (ids (T,), label) with 1 ≤ T ≤ ``max_len``.

    Attributes:
        rows: the split's row numbers (R,) into the map (rows without tokens already left out).
        lengths: the length of every item (R,), truncation included — feed it to ``BucketBatchSampler``.
        num_truncated: items whose ids were cut to ``max_len``."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                 max_len: int | None) -> None:
        self.flat, self.offsets, self.labels_of, self.max_len = ids, offsets, labels, max_len
        full = offsets[rows + 1] - offsets[rows]
        self.rows = rows[full > 0]
        self.num_dropped = int((full == 0).sum())
        full = full[full > 0]
        self.lengths = np.minimum(full, max_len) if max_len is not None else full
        self.num_truncated = int((full > self.lengths).sum())

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[list[int], int]:  # type: ignore[override]
        row = int(self.rows[i])
        start = int(self.offsets[row])
        return self.flat[start:start + int(self.lengths[i])].tolist(), int(self.labels_of[row])


def streams_rows(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a labelled file large enough to be streamed (:data:`STREAM_BYTES`)."""
    path = Path(path)
    return path.is_file() and path.suffix.lower() in SUFFIXES and path.stat().st_size >= STREAM_BYTES


def rows(path: Path, text_col: str, label_col: str,
         blank: list[int] | None = None) -> Iterator[tuple[int, str, Any]]:
    """(line number, text, raw label) of every row, a row at a time, by the rules of
    :func:`rnnkit.data.readers.text.read_table` / ``read_jsonl`` (one line each for a bad row); the numbers
    of skipped blank lines are appended to ``blank``."""
    blank = [] if blank is None else blank
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        yield from _jsonl_rows(path, text_col, label_col, blank)
    else:
        yield from _table_rows(path, text_col, label_col, blank)


def _table_rows(path: Path, text_col: str, label_col: str, blank: list[int]) -> Iterator[tuple[int, str, Any]]:
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.read(1 << 16)  # the header row names the delimiter, as when the file is read whole
    delimiter = sniff_delimiter(head, path, (text_col, label_col))
    previous = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize >> 1)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            try:
                yield from table_rows(f, path, text_col, label_col, delimiter, blank)
            except UnicodeDecodeError:
                raise ValueError(f"{path}: not UTF-8; re-encode the file as UTF-8") from None
    finally:
        csv.field_size_limit(previous)


def _jsonl_rows(path: Path, text_col: str, label_col: str, blank: list[int]) -> Iterator[tuple[int, str, Any]]:
    with open(path, encoding="utf-8-sig") as f:
        number = 0
        line = ""
        try:
            for number, line in enumerate(f, start=1):  # noqa: B007 - the number names a bad line below
                if not line.strip():
                    blank.append(number)
                    continue
                row_text, raw_label = jsonl_row(line, number, path, text_col, label_col)
                yield number, row_text, raw_label
        except UnicodeDecodeError:
            raise ValueError(f"{path}: near line {number + 1}: not UTF-8; re-encode the file as UTF-8") from None
    if blank and blank[-1] == number and not line.endswith("\n"):  # as read whole: the text after the last
        blank.pop()  # line end (none after the usual final newline, here whitespace) is not a blank line


def _label_key(value: Any) -> Any:
    """A raw label as :func:`map_labels` compares it (ints stay ints, anything else its stripped text)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value).strip()


def read_labels(path: Path, text_col: str, label_col: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Pass 1: the class id of every row (N,), the label names (as :func:`map_labels` orders them), and
    which rows have text (N,) — rows with empty text are dropped, after numbering, as when read whole."""
    index: dict[Any, int] = {}
    raw = []
    has_text = []
    blank: list[int] = []
    empty: list[int] = []
    for number, text, label in rows(path, text_col, label_col, blank):
        key = _label_key(label)
        if key == "":
            raise ValueError(f"{path}: line {number}: empty label")
        raw.append(index.setdefault(key, len(index)))
        has_text.append(bool(text))
        if not text:
            empty.append(number)
    distinct = list(index)
    ids, names = map_labels(distinct, path)
    labels = np.asarray(ids, dtype=np.int32)[np.asarray(raw, dtype=np.int64)]
    kept = np.asarray(has_text, dtype=bool)
    if blank:
        warnings.warn(f"{path}: skipped {len(blank)} blank lines (lines {line_list(blank)})", UserWarning,
                      stacklevel=2)
    if not kept.all():
        warnings.warn(f"{path}: dropped {len(empty)} examples with empty text (lines {line_list(empty)})", UserWarning,
                      stacklevel=2)
    return labels, names, kept


def prepare_rows(path: str | os.PathLike[str], *, text_col: str | None = None, label_col: str | None = None,
                 seed: int = DEFAULT_SEED, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 tokenizer: str = "word", lowercase: bool = True, min_freq: int = 2,
                 encoder: TextEncoder | None = None, root: Path | None = None,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """The prepared rows of ``path`` (built on the first call, opened later): ``{"directory", "meta"}``.

    ``encoder`` (a trained model's) encodes with its vocabulary; without it one is counted on the training
    rows (``tokenizer`` word or char, ``lowercase``, ``min_freq``)."""
    path = Path(path)
    text_col, label_col = text_col or "text", label_col or "label"
    folder = (root if root is not None else cache_dir()) / "rows"
    folder.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(path)
    recipe = (encoder.hf.to_str() if encoder is not None else [tokenizer, lowercase, min_freq])
    key = hashlib.sha256(json.dumps([FORMAT, sha, text_col, label_col, seed, list(fractions),
                                     recipe]).encode()).hexdigest()[:32]
    final = folder / key
    with FileLock(folder / f"{key}.lock"):
        if not (final / "meta.json").is_file():
            start = time.monotonic()
            _build(path, final, sha, text_col, label_col, seed, fractions, tokenizer, lowercase, min_freq, encoder,
                   start)
            size = path.stat().st_size
            took = time.monotonic() - start
            log(f"prepared the rows of {path.name} once ({size / 1e6:,.0f} MB in {took:.1f} s); cached in {final}")
    return {"directory": final, "meta": json.loads((final / "meta.json").read_text())}


def _build(path: Path, final: Path, sha: str, text_col: str, label_col: str, seed: int,
           fractions: Sequence[float], tokenizer: str, lowercase: bool, min_freq: int,
           encoder: TextEncoder | None, start: float) -> None:
    tmp = final.parent / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        labels, names, kept = read_labels(path, text_col, label_col)
        kept_rows = np.flatnonzero(kept)  # an example's key is its row number among the non-blank rows
        parts = stratified_split_arrays(labels[kept], kept_rows, seed=seed, fractions=fractions)
        split_rows = {s: kept_rows[p] for s, p in zip(SPLITS, parts, strict=True)}
        split = {"method": "stratified", "seed": seed, "fractions": list(fractions),
                 "keys": {s: [str(k) for k in r.tolist()] for s, r in split_rows.items()}}
        in_train = np.zeros(len(labels), dtype=bool)
        in_train[split_rows["train"]] = True
        if encoder is None:
            encoder = _fit(path, tmp, text_col, label_col, in_train, tokenizer, lowercase, min_freq)
        else:
            _encode(path, tmp, text_col, label_col, encoder, np.dtype(np.uint32))
        np.save(tmp / "labels.npy", labels)
        for s, r in split_rows.items():
            np.save(tmp / f"{s}.npy", r)
        meta = {"format": FORMAT, "file": path.name, "sha256": sha, "labels": names, "split": split,
                "dtype": "uint32", "text": encoder.save(tmp), "rows": len(labels),
                "prepare_seconds": round(time.monotonic() - start, 3)}
        write_json(tmp / "meta.json", meta)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _texts(path: Path, text_col: str, label_col: str) -> Iterator[list[str]]:
    batch: list[str] = []
    for _, text, _ in rows(path, text_col, label_col):
        batch.append(text)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _fit(path: Path, tmp: Path, text_col: str, label_col: str, in_train: np.ndarray, tokenizer: str,
         lowercase: bool, min_freq: int) -> TextEncoder:
    """The vocabulary of the training rows, as :meth:`TextEncoder.build` counts it (see tokenstream)."""
    tok = build_tokenizer(tokenizer, lowercase=lowercase)
    finder = tok.pipeline(Vocab([]))
    trainer = trainers.WordLevelTrainer(vocab_size=2**31 - 1, min_frequency=1, special_tokens=[],
                                        show_progress=False)

    def train_texts() -> Iterator[list[str]]:
        start = 0
        for batch in _texts(path, text_col, label_col):
            mask = in_train[start:start + len(batch)]
            start += len(batch)
            yield [t for t, m in zip(batch, mask, strict=True) if m]

    finder.train_from_iterator(train_texts(), trainer=trainer)
    found = sorted((i, token) for token, i in finder.get_vocab().items() if token not in SPECIALS)
    everything = TextEncoder(tok, Vocab(token for _, token in found))
    offsets, counts = _encode(path, tmp, text_col, label_col, everything, np.dtype(np.uint32), count=in_train)
    itos = everything.vocab.itos
    freq = {itos[i]: int(counts[i]) for i in range(len(SPECIALS), len(itos)) if counts[i]}
    kept = sorted((kv for kv in freq.items() if kv[1] >= min_freq), key=lambda kv: (-kv[1], kv[0]))
    if freq and not kept:
        raise ValueError(f"--min-freq {min_freq} leaves only the {len(SPECIALS)} special tokens in the vocabulary "
                         f"(the most frequent token occurs {max(freq.values())} times): lower --min-freq")
    vocab = Vocab((token for token, _ in kept), counts=dict(kept))
    lut = np.full(len(itos), UNK, dtype=np.uint32)
    lut[: len(SPECIALS)] = np.arange(len(SPECIALS))
    for token, _ in kept:
        lut[everything.vocab.token_to_id(token)] = vocab.token_to_id(token)
    with open(tmp / "ids.new", "wb") as out:
        if offsets[-1]:
            source = np.memmap(tmp / "ids.bin", dtype=np.uint32, mode="r")
            for i in range(0, len(source), 1 << 24):
                lut[source[i:i + (1 << 24)]].tofile(out)
            del source
    os.replace(tmp / "ids.new", tmp / "ids.bin")
    return TextEncoder(tok, vocab)


def _encode(path: Path, tmp: Path, text_col: str, label_col: str, encoder: TextEncoder, dtype: np.dtype,
            count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every row's ids end to end into ``tmp/ids.bin``; their offsets (N + 1,) into ``tmp/offsets.npy``.
    Returns the offsets and, for the rows ``count`` marks (N,), how often each id occurs (V,)."""
    lengths: list[int] = []
    counts = np.zeros(len(encoder.vocab), dtype=np.int64)
    with open(tmp / "ids.bin", "wb") as out:
        for batch in _texts(path, text_col, label_col):
            encoded = encoder.ids(batch)
            start = len(lengths)
            lengths.extend(map(len, encoded))
            flat = np.asarray([i for ids in encoded for i in ids], dtype=dtype)
            flat.tofile(out)
            if count is not None:
                counted = [i for ids, m in zip(encoded, count[start:start + len(encoded)], strict=True) if m
                           for i in ids]
                counts += np.bincount(np.asarray(counted, dtype=np.int64), minlength=len(counts))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    np.save(tmp / "offsets.npy", offsets)
    return offsets, counts


def open_rows(prepared: dict[str, Any], max_len: int | None) -> dict[str, EncodedRows]:
    """The three splits of :func:`prepare_rows`' result, read from the map."""
    directory = prepared["directory"]
    offsets = np.load(directory / "offsets.npy", mmap_mode="r")
    ids = (np.memmap(directory / "ids.bin", dtype=np.uint32, mode="r") if offsets[-1]
           else np.zeros(0, dtype=np.uint32))
    labels = np.load(directory / "labels.npy", mmap_mode="r")
    return {s: EncodedRows(ids, offsets, labels, np.load(directory / f"{s}.npy"), max_len) for s in SPLITS}


def load_rows(path: str | os.PathLike[str], *, text_col: str | None, label_col: str | None, seed: int,
              tokenizer: str, lowercase: bool, min_freq: int, max_len: int | None,
              encoder: TextEncoder | None = None, root: Path | None = None,
              log: Callable[[str], None] = print) -> tuple[Splits, dict[str, EncodedRows], TextEncoder]:
    """A labelled file as :class:`Splits` whose parts are :class:`EncodedRows`, those parts, and the encoder
    (``encoder`` itself, or the one fitted on the training rows, cutting at ``max_len``)."""
    if tokenizer not in ("word", "char"):
        raise ValueError(f"a labelled file of {STREAM_BYTES >> 20} MiB or more is tokenised on disk at word or "
                         f"character level, not {tokenizer!r}: use --tokenizer word or char")
    prepared = prepare_rows(path, text_col=text_col, label_col=label_col, seed=seed, tokenizer=tokenizer,
                            lowercase=lowercase, min_freq=min_freq, encoder=encoder, root=root, log=log)
    meta = prepared["meta"]
    if encoder is None:
        encoder = TextEncoder.from_config({**meta["text"], "max_len": max_len}, prepared["directory"])
    parts = open_rows(prepared, encoder.max_len)
    if len(np.unique(np.asarray(parts["train"].labels_of))) < 2:
        raise ValueError(f"{path}: a classifier needs at least two labels; found {meta['labels'][:1]}")
    data = Splits(name=str(path), train=parts["train"], val=parts["val"], test=parts["test"],
                  labels=list(meta["labels"]), split=meta["split"])
    return data, parts, encoder
