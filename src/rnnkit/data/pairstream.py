"""Parallel text larger than memory: a ``source<TAB>target`` file, or two line-aligned files → token ids on disk.

The translation counterpart of :mod:`rnnkit.data.rowstream`. The file is read a line at a time (never
whole), five times — keep or drop each line, the source side's BPE merges, the target side's, both sides'
token counts (the vocabularies), every kept pair's ids — and what stays in memory is a few bytes per line::

    cache_dir()/pairs/<key>/      key: sha256 of the format, the files' sha256, max_words, reverse, seed,
      src.bin, tgt.bin            fractions and the tokenizers (BPE sizes, or a trained model's pipelines)
      src_offsets.npy             pair i's source ids are src.bin[src_offsets[i]:src_offsets[i + 1]] (int64,
      tgt_offsets.npy             N + 1); the target's likewise, <bos> … <eos> included
      split.npy                   split of every pair (int8, N: 0 train, 1 val, 2 test), pairs in file order
      val.tsv, test.tsv           the text of the val and test pairs (cleaned), for BLEU's references
      src/, tgt/                  each side's tokenizer.json
      meta.json                   the split record (as :func:`rnnkit.data.corpora.make_parallel` writes it)

The pairs and the split are those of reading the file whole (:func:`rnnkit.data.own.read_parallel`): the
same line rules (whitespace collapsed, a pair with an empty side skipped with one warning, a line without a
tab one error), the same length filter (both sides at most ``max_words`` words), the same dedup of exact
``(source, target)`` pairs (the first kept) and the same seeded split by source sentence, so the split
record and every pair's ids are unchanged. Memory holds no sentence for the dedup and the split, only two
8-byte hashes per pair: ``blake2b(source NUL target)`` for the dedup, and the first 8 bytes of the digest
:func:`~rnnkit.data.splits.seeded_order` sorts the sources by (so sorting the numbers is sorting the
sources). A collision of either is the only way the result can differ from the in-memory one: two
different pairs taken as one (the second dropped as a duplicate), or two different sources sent to the
same split (the first's) — for N pairs the chance is about N² / 2⁶⁵, under 3·10⁻⁶ for ten million pairs.
The BLEU references (val and test pairs, 10 % of the pairs by default) are written to the cache as text
and read from there when a model is scored, not kept in memory while it trains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from rnnkit.data.corpora import DEFAULT_MAX_WORDS, MT_FRACTIONS
from rnnkit.data.fetching.packages import cache_dir
from rnnkit.data.linestream import file_sha256, line_blocks
from rnnkit.data.readers.parallel import clean, count_mismatch, lang_of, tsv_sides, warn_skipped
from rnnkit.data.rowstream import STREAM_BYTES
from rnnkit.data.splits import SPLITS, Pair, Splits, cut_sizes, order_digest
from rnnkit.files import write_json
from rnnkit.text import SPECIALS, TextEncoder, Vocab
from rnnkit.text.tokenize import build_tokenizer

FORMAT = 1
BATCH_PAIRS = 4096  # pairs handed to the tokenizer at a time
SUFFIXES = (".tsv", ".tab")
DOMAIN = "user"  # the domain of every pair a user brings (as read_parallel names it)
DROPPED = -1  # split code of a line that is no pair (empty side, too long, duplicate)


class EncodedPairs(Sequence[tuple[list[int], list[int]]]):
    """The pairs of one split, read from the map: item i is (source ids (S,), target ids (T,)).

    Attributes:
        rows: the split's pair numbers (R,) into the map, in file order.
        src_lengths, tgt_lengths: S and T of every item (R,).
        lengths: max(S, T) of every item (R,) — the bucketing length (``BucketBatchSampler``).
    """

    domain = DOMAIN

    def __init__(self, src: tuple[np.ndarray, np.ndarray], tgt: tuple[np.ndarray, np.ndarray],
                 rows: np.ndarray) -> None:
        self.src, self.tgt, self.rows = src, tgt, rows
        self.src_lengths = src[1][rows + 1] - src[1][rows]
        self.tgt_lengths = tgt[1][rows + 1] - tgt[1][rows]
        self.lengths = np.maximum(self.src_lengths, self.tgt_lengths)

    def within(self, max_tokens: int) -> EncodedPairs:
        """The pairs with both sides at most ``max_tokens`` ids (the training filter), order kept."""
        keep = (self.src_lengths <= max_tokens) & (self.tgt_lengths <= max_tokens)
        return EncodedPairs(self.src, self.tgt, self.rows[keep])

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[list[int], list[int]]:  # type: ignore[override]
        row = int(self.rows[i])
        return _ids(self.src, row), _ids(self.tgt, row)


def _ids(side: tuple[np.ndarray, np.ndarray], row: int) -> list[int]:
    flat, offsets = side
    return flat[int(offsets[row]):int(offsets[row + 1])].tolist()


class PairTexts(Sequence[Pair]):
    """The text of the val or test pairs, read from ``val.tsv`` / ``test.tsv`` of the map when asked for."""

    domain = DOMAIN

    def __init__(self, path: Path, count: int) -> None:
        self.path, self.count = path, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Pair]:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                src, tgt = line.rstrip("\n").split("\t")
                yield Pair(src, tgt, DOMAIN)

    def __getitem__(self, i: int) -> Pair:  # type: ignore[override]
        if not 0 <= i < self.count:
            raise IndexError(i)
        for j, pair in enumerate(self):
            if j == i:
                return pair
        raise IndexError(i)


def streams_pairs(data: str | None, src: str | None = None, tgt: str | None = None) -> bool:
    """Whether the parallel text is large enough to be streamed: a ``.tsv`` / ``.tab`` file, or ``src`` and
    ``tgt`` together, of :data:`STREAM_BYTES` or more."""
    if data is not None and (src is not None or tgt is not None):
        return False  # both ways at once: the reader read whole says which to give
    if src is not None and tgt is not None:
        paths = [Path(src), Path(tgt)]
    elif data is not None and Path(data).suffix.lower() in SUFFIXES:
        paths = [Path(data)]
    else:
        return False
    return all(p.is_file() for p in paths) and sum(p.stat().st_size for p in paths) >= STREAM_BYTES


# ------------------------------------------------------------------------------------------ lines
def raw_pairs(files: Sequence[Path]) -> Iterator[tuple[int, str, str]]:
    """(line number, source, target) of every line of one TSV or two line-aligned files, raw (as the readers
    of :mod:`rnnkit.data.readers.parallel` split them: a blank TSV line is two empty sides)."""
    if len(files) == 1:
        path = files[0]
        for number, line in enumerate(chain.from_iterable(line_blocks(path)), start=1):
            yield (number, "", "") if not line.strip() else (number, *tsv_sides(path, number, line))
        return
    src, tgt = (chain.from_iterable(line_blocks(p)) for p in files)
    number = 0
    for number, a in enumerate(src, start=1):  # noqa: B007 - counts the lines
        b = next(tgt, None)
        if b is None:
            raise count_mismatch(files[0], files[1], number + sum(1 for _ in src), number - 1)
        yield number, a, b
    rest = sum(1 for _ in tgt)
    if rest:
        raise count_mismatch(files[0], files[1], number, number + rest)


def pairs(files: Sequence[Path], reverse: bool) -> Iterator[tuple[str, str]]:
    """The cleaned (source, target) of every line with both sides non-empty (``reverse``: sides swapped)."""
    for _, a, b in raw_pairs(files):
        a, b = clean(a), clean(b)
        if a and b:
            yield (b, a) if reverse else (a, b)


def _name(files: Sequence[Path]) -> str:
    return str(files[0]) if len(files) == 1 else f"{files[0]} + {files[1]}"


# ------------------------------------------------------------------------------------------ split
def split_codes(files: Sequence[Path], *, max_words: int | None, reverse: bool, seed: int,
                fractions: Sequence[float]) -> tuple[np.ndarray, dict[str, Any]]:
    """Pass 1: the split of every pair read (int8 (P,): 0/1/2, or :data:`DROPPED`) and the split record of
    :func:`~rnnkit.data.corpora.make_parallel` (the module docstring says how the hashes stand in for text)."""
    pair_hash, src_key = array("Q"), array("Q")
    skipped: list[int] = []
    long = array("b")  # 1 where a pair is longer than max_words
    for number, a, b in raw_pairs(files):
        a, b = clean(a), clean(b)
        if not (a and b):
            skipped.append(number)
            continue
        src, tgt = (b, a) if reverse else (a, b)
        too_long = max_words is not None and (len(src.split()) > max_words or len(tgt.split()) > max_words)
        long.append(int(too_long))
        pair_hash.append(int.from_bytes(hashlib.blake2b(f"{src}\0{tgt}".encode(), digest_size=8).digest(), "big"))
        src_key.append(int.from_bytes(order_digest(src, seed)[:8], "big"))
    warn_skipped(_name(files), skipped, len(long))
    too_long = np.frombuffer(long, dtype=np.int8).astype(bool)
    hashes = np.frombuffer(pair_hash, dtype=np.uint64)
    keys = np.frombuffer(src_key, dtype=np.uint64)
    candidates = np.flatnonzero(~too_long)
    _, first = np.unique(hashes[candidates], return_index=True)
    kept = np.sort(candidates[first])  # the first of each distinct pair, in file order
    sources = np.unique(keys[kept])  # ascending = seeded_order of the distinct sources
    a, b = cut_sizes(len(sources), fractions)
    codes = np.full(len(long), DROPPED, dtype=np.int8)
    rank = np.searchsorted(sources, keys[kept])
    codes[kept] = np.where(rank < a, 0, np.where(rank < b, 1, 2))
    split = {"method": "by_source_sentence", "seed": seed, "fractions": list(fractions), "max_words": max_words,
             "key_counts": dict(zip(SPLITS, (a, b - a, len(sources) - b), strict=True)),
             "pairs_read": len(long), "dropped_too_long": int(too_long.sum()),
             "dropped_duplicates": int(len(candidates) - len(kept)), "domains": {DOMAIN: len(kept)}}
    return codes, split


def _split_texts(files: Sequence[Path], codes: np.ndarray, reverse: bool,
                 wanted: int | None = None) -> Iterator[tuple[list[int], list[str], list[str]]]:
    """(splits, sources, targets) of the kept pairs (of split ``wanted`` only, if given), in batches."""
    batch: tuple[list[int], list[str], list[str]] = ([], [], [])
    for code, (src, tgt) in zip(codes.tolist(), pairs(files, reverse), strict=True):
        if code == DROPPED or (wanted is not None and code != wanted):
            continue
        batch[0].append(code)
        batch[1].append(src)
        batch[2].append(tgt)
        if len(batch[0]) == BATCH_PAIRS:
            yield batch
            batch = ([], [], [])
    if batch[0]:
        yield batch


# -------------------------------------------------------------------------------------- tokenizers
def fit_encoders(files: Sequence[Path], codes: np.ndarray, reverse: bool, src_bpe: int,
                 tgt_bpe: int) -> tuple[TextEncoder, TextEncoder]:
    """Passes 2–4: byte-level BPE per side trained on the training pairs, and each side's vocabulary (the BPE
    tokens of the training pairs, by count), as ``TextEncoder.build`` fits them on the pairs read whole."""
    merges = []
    for side, size in ((1, src_bpe), (2, tgt_bpe)):
        texts = (text for batch in _split_texts(files, codes, reverse, wanted=0) for text in batch[side])
        merges.append(build_tokenizer("bpe", texts=texts, vocab_size=size))
    finders = [tok.pipeline(Vocab([])) for tok in merges]  # every BPE token, ids past the specials
    counts = [np.zeros(f.get_vocab_size(), dtype=np.int64) for f in finders]
    for batch in _split_texts(files, codes, reverse, wanted=0):
        for side in (0, 1):
            encoded = finders[side].encode_batch(batch[side + 1], add_special_tokens=False)
            flat = np.fromiter(chain.from_iterable(e.ids for e in encoded), dtype=np.int64)
            counts[side] += np.bincount(flat, minlength=len(counts[side]))
    vocabs = []
    for finder, count in zip(finders, counts, strict=True):
        seen = {finder.id_to_token(i): int(n) for i, n in enumerate(count.tolist()) if n}
        for special in SPECIALS:
            seen.pop(special, None)
        kept = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        vocabs.append(Vocab((token for token, _ in kept), counts=dict(kept)))
    return (TextEncoder(merges[0], vocabs[0]),
            TextEncoder(merges[1], vocabs[1], add_bos=True, add_eos=True))


def _dtype(*encoders: TextEncoder) -> np.dtype:
    largest = max(e.num_ids for e in encoders)
    return np.dtype(np.uint16) if largest <= 1 << 16 else np.dtype(np.uint32)


def encode_pairs(files: Sequence[Path], codes: np.ndarray, reverse: bool, encoders: tuple[TextEncoder, TextEncoder],
                 tmp: Path) -> dict[str, int]:
    """Pass 5: every kept pair's ids into ``tmp`` (both sides), its split, and the val/test text. Returns
    the pairs per split."""
    dtype = _dtype(*encoders)
    lengths: tuple[list[int], list[int]] = ([], [])
    split_of: list[int] = []
    names = ("src.bin", "tgt.bin", "val.tsv", "test.tsv")
    out = {name: open(tmp / name, "wb") for name in names}
    try:
        for batch in _split_texts(files, codes, reverse):
            split_of.extend(batch[0])
            for side, name in ((0, "src.bin"), (1, "tgt.bin")):
                ids = encoders[side].ids(batch[side + 1])
                lengths[side].extend(map(len, ids))
                np.fromiter(chain.from_iterable(ids), dtype=dtype).tofile(out[name])
            for code, src, tgt in zip(*batch, strict=True):
                if code:
                    out[f"{SPLITS[code]}.tsv"].write(f"{src}\t{tgt}\n".encode())
        for f in out.values():
            f.flush()
            os.fsync(f.fileno())
    finally:
        for f in out.values():
            f.close()
    for side, name in ((0, "src_offsets.npy"), (1, "tgt_offsets.npy")):
        offsets = np.zeros(len(split_of) + 1, dtype=np.int64)
        np.cumsum(lengths[side], out=offsets[1:])
        np.save(tmp / name, offsets)
    split = np.asarray(split_of, dtype=np.int8)
    np.save(tmp / "split.npy", split)
    return {s: int((split == i).sum()) for i, s in enumerate(SPLITS)}


# ------------------------------------------------------------------------------------------ build
def prepare_pairs(files: Sequence[Path], *, max_words: int | None = DEFAULT_MAX_WORDS, reverse: bool = False,
                  seed: int, fractions: Sequence[float] = MT_FRACTIONS, src_bpe: int = 4000, tgt_bpe: int = 4000,
                  encoders: tuple[TextEncoder, TextEncoder] | None = None, root: Path | None = None,
                  log: Callable[[str], None] = print) -> Path:
    """The folder of the prepared pairs (built on the first call, opened later; see the module docstring).

    ``encoders`` (a trained model's) encode with its pipelines; without them BPE of ``src_bpe`` / ``tgt_bpe``
    symbols is trained per side on the training pairs. A map built under the BPE sizes whose pipelines are
    ``encoders``' (the model trained on it) is reused."""
    folder = (root if root is not None else cache_dir()) / "pairs"
    folder.mkdir(parents=True, exist_ok=True)
    shas = [file_sha256(p) for p in files]
    data = [FORMAT, shas, max_words, reverse, seed, list(fractions)]
    fitted = _key(*data, "bpe", src_bpe, tgt_bpe)
    if encoders is not None and _same_encoders(folder / fitted, encoders):
        return folder / fitted
    key = fitted if encoders is None else _key(*data, *(_sha(e.hf.to_str()) for e in encoders))
    final = folder / key
    with FileLock(folder / f"{key}.lock"):
        if not (final / "meta.json").is_file():
            start = time.monotonic()
            _build(files, final, shas, max_words, reverse, seed, fractions, (src_bpe, tgt_bpe), encoders, log)
            size = sum(p.stat().st_size for p in files)
            took = time.monotonic() - start
            log(f"prepared the pairs of {_name(files)} once ({size / 1e6:,.0f} MB in {took:.1f} s, "
                f"{size / 1e6 / max(took, 1e-9):,.1f} MB/s); cached in {final}")
    return final


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _same_encoders(directory: Path, encoders: tuple[TextEncoder, TextEncoder]) -> bool:
    if not (directory / "meta.json").is_file():
        return False
    return all((directory / side / "tokenizer.json").read_text() == e.hf.to_str(pretty=True)
               for side, e in zip(("src", "tgt"), encoders, strict=True))


def _build(files: Sequence[Path], final: Path, shas: list[str], max_words: int | None, reverse: bool, seed: int,
           fractions: Sequence[float], bpe: tuple[int, int], encoders: tuple[TextEncoder, TextEncoder] | None,
           log: Callable[[str], None]) -> None:
    """Passes 1–5 into ``.<key>.<pid>.tmp``, renamed to the key when whole (a killed run leaves no folder
    with a ``meta.json``; its leftovers are removed by the next run, which holds the lock)."""
    start = time.monotonic()
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f".{final.name}.{os.getpid()}.tmp"
    tmp.mkdir()
    try:
        log(f"pairs of {_name(files)}: filtering, dedup and split (pass 1 of 5)")
        codes, split = split_codes(files, max_words=max_words, reverse=reverse, seed=seed, fractions=fractions)
        if encoders is None:
            log("pairs: byte-level BPE and vocabulary of each side on the training pairs (passes 2-4 of 5)")
            encoders = fit_encoders(files, codes, reverse, *bpe)
        log("pairs: encoding both sides (pass 5 of 5)")
        sizes = encode_pairs(files, codes, reverse, encoders, tmp)
        text = {side: e.save(tmp / side) for side, e in zip(("src", "tgt"), encoders, strict=True)}
        meta = {"format": FORMAT, "files": [p.name for p in files], "sha256": shas, "split": split, "sizes": sizes,
                "dtype": _dtype(*encoders).name, "text": text, "prepare_seconds": round(time.monotonic() - start, 3)}
        write_json(tmp / "meta.json", meta)
        shutil.rmtree(final, ignore_errors=True)  # a folder without meta.json is not one
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ------------------------------------------------------------------------------------------- open
def open_pairs(directory: Path) -> dict[str, EncodedPairs]:
    """The three splits of a prepared folder, read from the map."""
    meta = json.loads((directory / "meta.json").read_text())
    sides = []
    for side in ("src", "tgt"):
        offsets = np.load(directory / f"{side}_offsets.npy", mmap_mode="r")
        flat = (np.memmap(directory / f"{side}.bin", dtype=meta["dtype"], mode="r") if offsets[-1]
                else np.zeros(0, dtype=meta["dtype"]))
        sides.append((flat, offsets))
    split = np.load(directory / "split.npy")
    return {s: EncodedPairs(sides[0], sides[1], np.flatnonzero(split == i)) for i, s in enumerate(SPLITS)}


def load_pairs(path: str | None = None, *, src: str | None = None, tgt: str | None = None,
               max_words: int | None = DEFAULT_MAX_WORDS, reverse: bool = False, seed: int, src_bpe: int = 4000,
               tgt_bpe: int = 4000, encoders: tuple[TextEncoder, TextEncoder] | None = None,
               root: Path | None = None, log: Callable[[str], None] = print,
               ) -> tuple[Splits, dict[str, EncodedPairs], tuple[TextEncoder, TextEncoder]]:
    """A large parallel text as :class:`Splits` (train: :class:`EncodedPairs`; val, test: :class:`PairTexts`,
    the references), the encoded splits, and the encoders (``encoders``, or those fitted on the train pairs).

    Languages and the split record are :func:`rnnkit.data.own.read_parallel`'s."""
    from_files = src is not None and tgt is not None
    files = [Path(src), Path(tgt)] if from_files else [Path(path)]  # type: ignore[arg-type]
    directory = prepare_pairs(files, max_words=max_words, reverse=reverse, seed=seed, src_bpe=src_bpe,
                              tgt_bpe=tgt_bpe, encoders=encoders, root=root, log=log)
    meta = json.loads((directory / "meta.json").read_text())
    if encoders is None:
        encoders = (TextEncoder.from_config(meta["text"]["src"], directory / "src"),
                    TextEncoder.from_config(meta["text"]["tgt"], directory / "tgt"))
    parts = open_pairs(directory)
    langs = _languages(files) if from_files else ("src", "tgt")
    if reverse:
        langs = (langs[1], langs[0])
    if from_files:
        info = {"src": str(files[0].resolve()), "tgt": str(files[1].resolve())}
    else:
        info = {"data": str(files[0].resolve())}
    data = Splits(name=_name(files), train=parts["train"],
                  val=PairTexts(directory / "val.tsv", meta["sizes"]["val"]),
                  test=PairTexts(directory / "test.tsv", meta["sizes"]["test"]),
                  split={**meta["split"], "files": info}, info={"files": info},
                  src_lang=langs[0], tgt_lang=langs[1])
    return data, parts, encoders


def _languages(files: Sequence[Path]) -> tuple[str, str]:
    return lang_of(files[0], "src"), lang_of(files[1], "tgt")
