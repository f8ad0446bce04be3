"""Token streams on disk, prepared once: a text file → memory-mapped id arrays in the data cache.

A language model's corpus may be larger than memory (nanoGPT's ``prepare.py``, fairseq's indexed
datasets). :func:`prepare_text` tokenises the file once with the model's own Hugging Face ``tokenizers``
pipeline (batched, in Rust threads), writes each split's ids as a flat array, and every later run on the
same file and tokenizer opens them with ``np.memmap`` in the time it takes to hash the file::

    cache_dir()/tokens/
      recipes/<key>.json          (file, settings) → the stream key they built (a second run skips the vocabulary)
      <key>/                      key: sha256 of the format, the file's sha256, tokenizer.json's sha256, fractions
        tokenizer.json            the pipeline, as a model directory saves it (rnnkit's ids)
        train.bin val.bin test.bin   ids, uint16 when the vocabulary fits (≤ 65,536 ids), else uint32
        meta.json                 dtype, tokens per split, the split record, level, the encoder's config

The split and the ids are those of the corpus read whole (:func:`rnnkit.data.open.read_text_file` and
``rnnkit.tasks.lm``): the last 5 % of the characters (cut at a line end) test, the 5 % before it val; word
level ends every non-blank line with ``<eos>``, character level keeps the text as it is. The vocabulary is
counted on the training lines in one streaming pass (``WordLevelTrainer`` finds the words, the ids of that
pass give their counts); min-freq and the count-then-string order are :meth:`rnnkit.text.Vocab.build`'s.
A folder is built under a temporary name and renamed into place, so a killed preparation leaves nothing
that a later run would use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from tokenizers import trainers
from tqdm import tqdm

from rnnkit.data.fetching.packages import cache_dir
from rnnkit.data.linestream import file_sha256, line_blocks
from rnnkit.data.open import guess_level
from rnnkit.data.splits import DOC_FRACTIONS, SPLITS, positional_cut_blocks
from rnnkit.files import write_json
from rnnkit.text import EOS, SPECIALS, UNK, TextEncoder, Vocab
from rnnkit.text.tokenize import build_tokenizer

FORMAT = 1  # bump when the files' layout or the tokenisation changes: old folders are then ignored
GUESS_CHARS = 8_000_000
"""``--tokenizer auto`` guesses the level from the first this many characters of the training text."""
CHAR_LINES = 256  # character level: lines per text handed to the tokenizer (texts run in parallel)
STREAMED_KINDS = ("auto", "word", "char")


@dataclass
class TokenStreams:
    """A prepared corpus: ``ids(split)`` is a read-only memory map (N,) of the split's token ids."""

    directory: Path
    meta: dict[str, Any]

    def ids(self, split: str) -> np.ndarray:
        """The ids of ``split``, shape (N,), uint16 or uint32, mapped from disk (not read into memory)."""
        count = self.meta["tokens"][split]
        dtype = np.dtype(self.meta["dtype"])
        if count == 0:  # mmap cannot map an empty file
            return np.zeros(0, dtype=dtype)
        return np.memmap(self.directory / f"{split}.bin", dtype=dtype, mode="r", shape=(count,))

    def encoder(self) -> TextEncoder:
        """The pipeline the ids come from (its ``tokenizer.json`` in :attr:`directory`)."""
        return TextEncoder.from_config(self.meta["text"], self.directory)

    @property
    def level(self) -> str:
        return self.meta["level"]

    @property
    def split(self) -> dict[str, Any]:
        return self.meta["split"]


def prepare_text(
    path: str | os.PathLike[str],
    *,
    tokenizer: str = "auto",
    lowercase: bool = True,
    min_freq: int = 3,
    encoder: TextEncoder | None = None,
    fractions: Sequence[float] = DOC_FRACTIONS,
    root: Path | None = None,
    log: Callable[[str], None] = print,
) -> TokenStreams:
    """The token streams of the text file ``path``, prepared on the first call and opened on later ones.

    ``encoder`` (a trained model's) tokenises with its vocabulary; without it a vocabulary is counted on the
    training lines: ``tokenizer`` word or char (``auto``: the level :func:`guess_level` reads from the
    training text), ``lowercase`` and ``min_freq`` at word level (character level keeps case, every character).
    ``root``: the cache (default :func:`cache_dir`). ``log`` gets one line when the streams are prepared."""
    if tokenizer not in STREAMED_KINDS:
        raise ValueError(f"token streams on disk are word or character level, not {tokenizer!r}")
    path = Path(path)
    folder = (root if root is not None else cache_dir()) / "tokens"
    folder.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size
    with _bar(size, f"hashing {path.name}") as bar:
        sha = file_sha256(path, bar.update)
    if encoder is not None:
        key = _key(FORMAT, sha, hashlib.sha256(encoder.hf.to_str().encode()).hexdigest(), list(fractions))
        recipe = None
    else:
        recipe = folder / "recipes" / f"{_key(FORMAT, sha, tokenizer, lowercase, min_freq, list(fractions))}.json"
        key = json.loads(recipe.read_text())["key"] if recipe.is_file() else ""
    if key and (folder / key / "meta.json").is_file():
        return _open(folder / key)
    with FileLock(folder / f"{recipe.stem if recipe else key}.lock"):
        if recipe is not None and recipe.is_file():  # another process prepared it while we waited
            return _open(folder / json.loads(recipe.read_text())["key"])
        if encoder is not None and (folder / key / "meta.json").is_file():
            return _open(folder / key)
        streams = _build(path, sha, folder, tokenizer, lowercase, min_freq, encoder, fractions)
        if recipe is not None:
            write_json(recipe, {"key": streams.directory.name, "file": str(path.name), "sha256": sha})
    took = streams.meta["prepare_seconds"]
    log(f"prepared the token streams of {path.name} once ({size / 1e6:,.0f} MB in {took:.1f} s, "
        f"{size / 1e6 / max(took, 1e-9):,.1f} MB/s): {sum(streams.meta['tokens'].values()):,} tokens, "
        f"vocabulary {streams.meta['text']['vocab_size']:,}; cached in {streams.directory}")
    return streams


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _open(directory: Path) -> TokenStreams:
    return TokenStreams(directory, json.loads((directory / "meta.json").read_text()))


def _bar(total: int, desc: str) -> tqdm:
    """A byte progress bar on a terminal; nothing otherwise (the caller logs one line when done)."""
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                leave=False, disable=not sys.stderr.isatty())


def _build(path: Path, sha: str, folder: Path, tokenizer: str, lowercase: bool, min_freq: int,
           encoder: TextEncoder | None, fractions: Sequence[float]) -> TokenStreams:
    """Cut, count, encode into ``folder/.<pid>.tmp``, then rename it to its key (see the module docstring)."""
    start = time.monotonic()
    for stale in folder.glob(".*.tmp"):  # a killed preparation's leftovers (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder / f".{os.getpid()}.tmp"
    tmp.mkdir()
    try:
        size = path.stat().st_size
        a, b, n, prefix = _cuts(path, size, fractions)
        level = guess_level("\n".join(prefix[:a]))
        kind = level if tokenizer == "auto" else tokenizer
        if encoder is None:
            encoder, tokens = _fit_and_encode(path, size, tmp, (a, b), kind, lowercase, min_freq)
        else:
            kind = encoder.tokenizer.kind
            tokens, _ = _encode(path, size, tmp, (a, b), kind, encoder, _dtype(encoder))
        text = encoder.save(tmp)
        guessed = "" if len(prefix) > a else f" from its first {GUESS_CHARS:,} characters"
        split = {"method": "tail_of_each_document", "fractions": list(fractions),
                 "documents": {path.name: {"units": n, "val_start": a, "test_start": b}},
                 "level": f"{level} (guessed from the training text{guessed})"}
        meta = {"format": FORMAT, "file": path.name, "sha256": sha, "bytes": size, "level": level, "kind": kind,
                "dtype": _dtype(encoder).name, "tokens": tokens, "split": split, "text": text,
                "prepare_seconds": round(time.monotonic() - start, 3)}
        write_json(tmp / "meta.json", meta)
        key = _key(FORMAT, sha, hashlib.sha256(encoder.hf.to_str().encode()).hexdigest(), list(fractions))
        final = folder / key
        if (final / "meta.json").is_file():  # prepared meanwhile under another recipe: same files
            shutil.rmtree(tmp)
        else:
            shutil.rmtree(final, ignore_errors=True)  # a folder without meta.json is not one
            os.rename(tmp, final)
        return _open(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _cuts(path: Path, size: int, fractions: Sequence[float]) -> tuple[int, int, int, list[str]]:
    """Where the splits begin, ``(a, b)``, the number of lines ``N``, and the first lines up to
    :data:`GUESS_CHARS` characters (for the level): two passes over the file, one block of line lengths in memory
    at a time (:func:`positional_cut_blocks`), so memory does not grow with the file."""
    prefix: list[str] = []
    passes = 0

    def blocks() -> Iterator[np.ndarray]:
        nonlocal passes
        passes += 1
        kept = 0
        with _bar(size, f"reading {path.name}" + (" again" if passes > 1 else "")) as bar:
            for lines in line_blocks(path, bar.update):
                yield np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
                if passes > 1:
                    continue
                for line in lines:
                    if kept >= GUESS_CHARS:
                        break
                    prefix.append(line)
                    kept += len(line) + 1

    a, b, n = positional_cut_blocks(blocks, fractions)
    return a, b, n, prefix


def _split_blocks(path: Path, cuts: tuple[int, int],
                  progress: Callable[[int], None]) -> Iterator[tuple[str, list[str]]]:
    """(split, its lines in this block) in file order: lines ``[0, a)`` train, ``[a, b)`` val, the rest test."""
    bounds = (0, *cuts, sys.maxsize)
    start = 0
    for lines in line_blocks(path, progress):
        end = start + len(lines)
        for split, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:], strict=True):
            part = lines[max(lo, start) - start: max(min(hi, end), start) - start]
            if part:
                yield split, part
        start = end


def _texts(split_lines: Iterator[tuple[str, list[str]]], kind: str) -> Iterator[tuple[str, list[str]]]:
    """What the tokenizer reads: word level, each non-blank line (an ``<eos>`` follows each); character
    level, runs of :data:`CHAR_LINES` lines joined by ``\\n``, each after the first of a split led by the
    ``\\n`` that joins it to the one before (so the split is one text, as read whole)."""
    started: set[str] = set()
    for split, lines in split_lines:
        if kind != "char":
            yield split, [line for line in lines if line.strip()]
            continue
        texts = []
        for i in range(0, len(lines), CHAR_LINES):
            lead = "\n" if split in started else ""
            texts.append(lead + "\n".join(lines[i:i + CHAR_LINES]))
            started.add(split)
        yield split, texts


def _fit_and_encode(path: Path, size: int, tmp: Path, cuts: tuple[int, int], kind: str, lowercase: bool,
                    min_freq: int) -> tuple[TextEncoder, dict[str, int]]:
    """Find the training text's tokens (a Rust trainer), encode every split with all of them (uint32), count
    them, keep those of ``min_freq`` as :meth:`Vocab.build` would, and rewrite the ids in the vocabulary's."""
    tok = build_tokenizer(kind, lowercase=lowercase and kind == "word")
    finder = tok.pipeline(Vocab([]))  # the normaliser and cut, a fresh copy to train
    trainer = trainers.WordLevelTrainer(vocab_size=2**31 - 1, min_frequency=1, special_tokens=[],
                                        show_progress=False)
    with _bar(size, f"counting the vocabulary of {path.name}") as bar:
        train = (texts for split, texts in _texts(_split_blocks(path, cuts, bar.update), kind) if split == "train")
        finder.train_from_iterator(train, trainer=trainer)
    found = sorted((i, token) for token, i in finder.get_vocab().items() if token not in SPECIALS)
    everything = TextEncoder(tok, Vocab(token for _, token in found))
    tokens, counts = _encode(path, size, tmp, cuts, kind, everything, np.dtype(np.uint32), count=True)
    itos = everything.vocab.itos
    freq = {itos[i]: int(counts[i]) for i in range(len(SPECIALS), len(itos)) if counts[i]}
    kept = sorted((kv for kv in freq.items() if kv[1] >= (min_freq if kind == "word" else 1)),
                  key=lambda kv: (-kv[1], kv[0]))
    if freq and not kept:
        raise ValueError(f"--min-freq {min_freq} leaves only the {len(SPECIALS)} special tokens in the vocabulary "
                         f"(the most frequent token occurs {max(freq.values())} times): lower --min-freq")
    vocab = Vocab((token for token, _ in kept), counts=dict(kept))
    encoder = TextEncoder(tok, vocab)
    lut = np.full(len(itos), UNK, dtype=np.int64)  # all-token id → vocabulary id (rarer tokens: <unk>)
    lut[: len(SPECIALS)] = np.arange(len(SPECIALS))
    for token, _ in kept:
        lut[everything.vocab.token_to_id(token)] = vocab.token_to_id(token)
    _remap(tmp, tokens, lut, _dtype(encoder))
    return encoder, tokens


def _dtype(encoder: TextEncoder) -> np.dtype:
    return np.dtype(np.uint16) if len(encoder.vocab) <= 1 << 16 else np.dtype(np.uint32)


def _encode(path: Path, size: int, tmp: Path, cuts: tuple[int, int], kind: str, encoder: TextEncoder,
            dtype: np.dtype, count: bool = False) -> tuple[dict[str, int], np.ndarray]:
    """Write each split's ids to ``tmp/<split>.bin``; return the tokens per split (and, with ``count``,
    how often each id occurs in train, shape (V,))."""
    tokens = dict.fromkeys(SPLITS, 0)
    counts = np.zeros(len(encoder.vocab), dtype=np.int64)
    files = {s: open(tmp / f"{s}.bin", "wb") for s in SPLITS}
    try:
        with _bar(size, f"encoding {path.name}") as bar:
            for split, texts in _texts(_split_blocks(path, cuts, bar.update), kind):
                flat: list[int] = []
                for ids in encoder.ids(texts) if texts else []:
                    flat.extend(ids)
                    if kind != "char":
                        flat.append(EOS)
                ids = np.array(flat, dtype=dtype)
                ids.tofile(files[split])
                tokens[split] += len(ids)
                if count and split == "train":
                    counts += np.bincount(ids, minlength=len(counts))
        for f in files.values():
            f.flush()
            os.fsync(f.fileno())
    finally:
        for f in files.values():
            f.close()
    return tokens, counts


def _remap(tmp: Path, tokens: dict[str, int], lut: np.ndarray, dtype: np.dtype, chunk: int = 1 << 24) -> None:
    """Rewrite each ``tmp/<split>.bin`` (uint32 ids) through ``lut`` into ``dtype``, ``chunk`` ids at a time."""
    for split in SPLITS:
        source = tmp / f"{split}.bin"
        target = tmp / f"{split}.bin.new"
        with open(target, "wb") as out:
            if tokens[split]:
                ids = np.memmap(source, dtype=np.uint32, mode="r", shape=(tokens[split],))
                for i in range(0, len(ids), chunk):
                    lut[ids[i:i + chunk]].astype(dtype).tofile(out)
                del ids
            out.flush()
            os.fsync(out.fileno())
        os.replace(target, source)
