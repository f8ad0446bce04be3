"""The one resolver: a registry name or a user's path → :class:`~rnnkit.data.splits.Splits` for a task.

    open_data("rt-polarity", "sentiment", seed=5)        a catalogue row (fetched, cached)
    open_data("data/aclImdb", "sentiment")                a folder or file in a format users bring
    open_data("wiki.txt", "lm"); open_data("fra.txt", "translation"); open_data("x_TRAIN.ts", "activity")

    open_data(train="a.csv", val="b.csv", test="c.jsonl", text_col="review")   separate files (sentiment)
    open_data(texts=[...], labels=[...]); open_data(frame, "sentiment")         Python lists, a DataFrame
    open_data(src="train.fr", tgt="train.en"); open_data("pairs.tsv", "translation")   parallel text

A path that exists (or whose suffix names a format of the task) is read; otherwise ``source`` must be a
dataset of the task's family. What each family reads, and how a file without a split gets one:

===========  ==========================================================================================
sentiment    aclImdb folder (test kept, 10 % val from train), SST-2 folder (dev as test) or TSV, CSV /
             TSV / JSONL with header: seeded stratified 80/10/10 (columns ``text_col``, ``label_col``);
             ``train=``/``val=``/``test=`` files: :data:`rnnkit.data.own.FALLBACK` for a missing one
lm           any UTF-8 text (last 5 % test, 5 % before it val; word or character level by
             :func:`guess_level`), a WikiText folder (its three files)
translation  an Anki/Tatoeba ``.txt`` (``English<TAB>translation``), a ``source<TAB>target`` ``.tsv``, or
             ``src=``/``tgt=`` line-aligned files: length filter, dedup, 90/5/5 by source sentence
signals      FSDD ``.npz`` (stratified 80/10/10); UEA ``.ts`` (with its ``_TEST`` sibling the official
             split and a stratified val, else stratified 80/10/10)
===========  ==========================================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.data.corpora import DEFAULT_MAX_WORDS, MT_FRACTIONS, make_parallel, read_basicmotions, read_fsdd
from rnnkit.data.fetching import Downloader
from rnnkit.data.own import is_frame, labelled_files, open_own, pick, read_labelled, read_parallel, require_two_labels
from rnnkit.data.readers.text import (
    ANKI_LANGS,
    Parsed,
    read_aclimdb,
    read_anki_pairs,
    read_sst2,
    read_text_lines,
    read_wikitext_texts,
)
from rnnkit.data.readers.ts import read_ts
from rnnkit.data.registry import get_spec, list_datasets
from rnnkit.data.splits import (
    DEFAULT_SEED,
    DOC_FRACTIONS,
    SPLITS,
    Pair,
    SignalExample,
    Splits,
    split_documents,
    split_examples,
    split_ts,
    stratified_split,
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "sentiment": ("sentiment",),
    "lm": ("lm",),
    "translation": ("translation",),
    "signals": ("speech-digits", "activity"),
}
"""Which catalogue tasks each kind of data may be loaded from (a signal model takes digits or activity)."""


# ------------------------------------------------------------------------------------ sentiment
def _given_test(name: str, train: Parsed, test: Parsed, *, seed: int, method: str, val_fraction: float = 0.1) -> Splits:
    """Keep a provided test set; carve a stratified, seeded validation set out of the training files."""
    fractions = (1.0 - val_fraction, val_fraction, 0.0)
    labels = [ex.label for ex in train.examples]
    tr, va, _ = stratified_split(labels, seed=seed, fractions=fractions, keys=train.keys)
    keys = {"train": [train.keys[i] for i in tr], "val": [train.keys[i] for i in va], "test": test.keys}
    return Splits(
        name=name,
        labels=train.labels,
        train=[train.examples[i] for i in tr],
        val=[train.examples[i] for i in va],
        test=test.examples,
        split={"method": method, "seed": seed, "fractions": list(fractions), "keys": keys},
    )


def read_labelled_text(
    path: Path, *, text_col: str | None = None, label_col: str | None = None, seed: int = DEFAULT_SEED
) -> Splits:
    """A user's text-classification file or folder (see the module docstring)."""
    name = str(path)
    if path.is_dir():
        if (path / "train" / "pos").is_dir() and (path / "train" / "neg").is_dir():
            if not (path / "test" / "pos").is_dir():
                parsed = read_aclimdb(path, "train")
                return split_examples(name, parsed.examples, parsed.labels, seed=seed, keys=parsed.keys)
            train, test = read_aclimdb(path, "train"), read_aclimdb(path, "test")
            return _given_test(name, train, test, seed=seed, method="aclImdb test + val from train")
        if (path / "train.tsv").is_file() and (path / "dev.tsv").is_file():
            train, dev = read_sst2(path / "train.tsv"), read_sst2(path / "dev.tsv")
            return _given_test(name, train, dev, seed=seed, method="SST-2 dev as test + val from train")
        raise ValueError(
            f"{path}: expected an aclImdb folder (train/pos, train/neg) or an SST-2 folder (train.tsv, dev.tsv), "
            f"found {sorted(p.name for p in path.iterdir())[:10]}"
        )
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".tsv", ".csv", ".tab"):
        raise ValueError(
            f"{path}: expected a .csv, .tsv, .jsonl file or a dataset folder, found {path.suffix or 'no extension'!r}"
        )
    parsed = read_labelled(path, text_col=text_col, label_col=label_col)
    require_two_labels(name, parsed.labels, parsed.examples)
    return split_examples(name, parsed.examples, parsed.labels, seed=seed, keys=parsed.keys)


# -------------------------------------------------------------------------------- running text
WORD_COVERAGE = 0.5
"""``guess_level``: the share of running words whose word type occurs at least :data:`WORD_REPEATS` times."""
WORD_REPEATS = 3


def guess_level(text: str) -> str:
    """``"word"`` for text written in space-separated words that recur, else ``"char"``.

    Word level needs a vocabulary a model can learn: at least :data:`WORD_COVERAGE` of the running words
    (lower-cased) must belong to word types seen :data:`WORD_REPEATS` or more times (the default
    ``--min-freq`` of ``rnnkit train lm``), and words must be word-sized (mean length ≤ 20 characters).
    Text without spaces (Chinese, a DNA string) or whose words are mostly one-offs (a tiny file, code,
    names) gets character level, whose vocabulary is the characters it uses."""
    words = text.lower().split()
    if not words or sum(len(w) for w in words) / len(words) > 20:
        return "char"
    counts = Counter(words)
    covered = sum(n for n in counts.values() if n >= WORD_REPEATS)
    return "word" if covered / len(words) >= WORD_COVERAGE else "char"


def read_text_file(
    path: str | Path, *, level: str | None = None, fractions: Sequence[float] = DOC_FRACTIONS
) -> Splits:
    """Any plain UTF-8 text file: the last 5 % (by characters, cut at a line end) is test, the 5 % before
    it val (:func:`~rnnkit.data.splits.split_documents` on its lines). ``level`` (the hint ``--tokenizer
    auto`` follows) is :func:`guess_level` of the training part unless given."""
    path = Path(path)
    lines = read_text_lines(path)
    description = f"text of {path.name}"
    splits = split_documents(str(path), [(path.name, lines)], sep="\n", level=level or "char",
                             description=description, fractions=fractions)
    if level is None:
        splits.level = guess_level(splits.train)
        splits.split["level"] = f"{splits.level} (guessed from the training text)"
    return splits


def read_wikitext(source: str | Path | Sequence[str | Path]) -> Splits:
    """WikiText-2/-103 token files as they are split: ``wiki.{train,valid,test}.tokens`` (a folder or the
    three paths in that order), kept exactly as tokenised."""
    paths, texts = read_wikitext_texts(source)
    return Splits(
        name=str(paths[0].parent),
        train=texts[0],
        val=texts[1],
        test=texts[2],
        level="word",
        description="WikiText token files (pre-tokenised Wikipedia articles)",
        split={"method": "files", "files": [str(p) for p in paths]},
    )


def _read_running_text(path: Path) -> Splits:
    return read_wikitext(path) if path.is_dir() else read_text_file(path)


# --------------------------------------------------------------------------------- translation
def read_anki(
    path: str | Path,
    *,
    lang: str | None = None,
    reverse: bool = False,
    max_words: int | None = DEFAULT_MAX_WORDS,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
) -> Splits:
    """An Anki/Tatoeba pair file, src = the non-English side (``reverse=True``: src = English). ``lang``
    defaults to the file name (``fra.txt`` → ``"fr"``); domain ``"tatoeba"``."""
    path = Path(path)
    lang = lang or ANKI_LANGS.get(path.stem, path.stem)
    pairs = [Pair(other, english, "tatoeba") for english, other in read_anki_pairs(path)]
    return make_parallel(
        str(path), pairs, lang, "en", max_words=max_words, reverse=reverse, seed=seed, fractions=fractions
    )


def _read_translation(path: Path, **options: Any) -> Splits:
    if path.suffix.lower() in (".tsv", ".tab"):
        options.pop("lang", None)
        return read_parallel(path, **options)
    return read_anki(path, **options)


# ------------------------------------------------------------------------------------- signals
def read_ts_data(path: Path, *, seed: int = DEFAULT_SEED) -> Splits:
    """A UEA .ts file: with its NAME_TEST.ts sibling the official split, else a stratified 80/10/10."""
    test = path.with_name(path.name.replace("_TRAIN", "_TEST"))
    if "_TRAIN" in path.name and test.exists():
        if path.name.startswith("BasicMotions_"):
            return read_basicmotions(path, test, seed=seed)
        return split_ts(path.stem.replace("_TRAIN", ""), read_ts(path), read_ts(test), seed=seed)
    ts = read_ts(path)
    if ts.labels is None or ts.class_labels is None:
        raise ValueError(f"{path}: training needs labelled series ('@classLabel true ...')")
    y = [ts.class_labels.index(label) for label in ts.labels]
    parts = stratified_split(y, seed=seed)
    train, val, test_ = ([SignalExample(ts.series[i], y[i]) for i in part] for part in parts)
    return Splits(name=str(path), labels=list(ts.class_labels), train=train, val=val, test=test_,
                  channels=[f"dim{i}" for i in range(ts.num_dimensions)],
                  split={"method": "stratified", "seed": seed, "keys": dict(zip(SPLITS, parts, strict=True))})


def _read_signals(path: Path, *, seed: int = DEFAULT_SEED, **_: Any) -> Splits:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_fsdd(path, seed=seed)
    if suffix == ".ts":
        return read_ts_data(path, seed=seed)
    raise ValueError(f"{path}: a signal dataset file must be .npz (FSDD's format) or .ts (UEA)")


# ------------------------------------------------------------------------------------ resolver
_PATHS: dict[str, tuple[Callable[[Path], bool], Callable[..., Splits], str]] = {
    # family: (is this path for me?, its reader, what a path may be — for the error message)
    "sentiment": (Path.exists, read_labelled_text, "an aclImdb / SST-2 folder or a .csv / .tsv / .jsonl file"),
    "lm": (lambda p: p.exists() or p.suffix in (".txt", ".tokens"), _read_running_text,
           "a UTF-8 text file or a WikiText folder"),
    "translation": (lambda p: p.suffix.lower() in (".txt", ".tsv", ".tab") and p.is_file(), _read_translation,
                    "an existing Anki .txt file (English<TAB>translation lines), a source<TAB>target .tsv, "
                    "or --src FILE --tgt FILE"),
    "signals": (lambda p: p.exists() or p.suffix.lower() in (".npz", ".ts"), _read_signals,
                "an .npz in FSDD's digits.npz format or a UEA .ts file"),
}


def family_of(task: str) -> str:
    """The kind of data ``task`` trains on: a key of :data:`FAMILIES` (a catalogue task or a family name)."""
    for family, tasks in FAMILIES.items():
        if task == family or task in tasks:
            return family
    valid = sorted({t for tasks in FAMILIES.values() for t in tasks} | set(FAMILIES))
    raise ValueError(f"no data resolver for task {task!r}; valid: {', '.join(valid)}")


def open_data(
    source: str | Path | Any | None = None,
    task: str | None = None,
    *,
    train: str | Path | Any | None = None,
    val: str | Path | Any | None = None,
    test: str | Path | Any | None = None,
    texts: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    src: str | Path | None = None,
    tgt: str | Path | None = None,
    root: Path | None = None,
    downloader: Downloader | None = None,
    **options: Any,
) -> Splits:
    """The data of ``task`` named by ``source``: a path in a format of the task, or a catalogue row; or a
    user's own data given by role.

    Args:
        source: a path, a registry name of the task's family (``rnnkit data list``), or a pandas DataFrame
            (classification; columns ``text_col``/``label_col``, split 80/10/10).
        task: ``sentiment``, ``lm``, ``translation``, ``speech-digits`` / ``activity`` (or ``signals``);
            implied by ``train``/``texts`` (sentiment) and ``src``/``tgt`` (translation).
        train, val, test: separate labelled files or DataFrames (:func:`rnnkit.data.own.labelled_files`;
            a missing val/test is carved from train: :data:`rnnkit.data.own.FALLBACK`).
        texts, labels: Python lists (classification), split 80/10/10.
        src, tgt: line-aligned parallel files (translation).
        root, downloader: cache folder and downloader for registered datasets.
        options: reader options (``seed``, ``text_col``, ``max_words``, ``split``, …); a catalogue
            reader gets those it accepts, a path reader all of them.

    Raises:
        ValueError: an unknown name (listing the valid ones), a dataset of another task, a bad file,
            ``source`` together with ``train``/``texts``/``src``.
    """
    own = {"train": train, "val": val, "test": test, "texts": texts, "labels": labels, "src": src, "tgt": tgt}
    given = [role for role, value in own.items() if value is not None]
    if task is None:
        if src is not None or tgt is not None:
            task = "translation"
        elif given or is_frame(source):
            task = "sentiment"
        else:
            raise ValueError("open_data needs a task (sentiment, lm, translation, signals) for a name or a path")
    family = family_of(task)
    if given:
        return open_own(source, family, own, given, options)
    if source is None:
        raise ValueError(f"no {family} data given: pass a registry name or a path (or train=…, texts=…, src=…)")
    if is_frame(source):
        if family != "sentiment":
            raise ValueError(f"a DataFrame holds labelled text (sentiment), not {family} data")
        return labelled_files(source, **pick(options, "text_col", "label_col", "seed"))
    is_path, read_path, _ = _PATHS[family]
    if is_path(Path(source)):
        return read_path(Path(source), **options)
    return _open_registered(str(source), family, root, downloader, options)


def _open_registered(name: str, family: str, root: Path | None, downloader: Downloader | None,
                     options: dict[str, Any]) -> Splits:
    """The catalogue row ``name`` of ``family``, fetched and read with the ``options`` its reader accepts;
    a name that is not one (nor a path) is a one-line error listing the family's datasets."""
    what = _PATHS[family][2]
    valid = ", ".join(n for n in list_datasets() if get_spec(n).task in FAMILIES[family])
    if name not in list_datasets():
        path = Path(name)
        if path.suffix or len(path.parts) > 1:
            raise ValueError(f"{name}: no such file or folder; expected {what} or one of {valid}")
        raise ValueError(f"unknown {family} data {name!r}: expected one of {valid} or {what}")
    spec = get_spec(name)
    if spec.task not in FAMILIES[family]:
        raise ValueError(f"{name!r} is a {spec.task} dataset; {family} datasets are {valid}")
    kwargs = {key: value for key, value in options.items() if spec.accepts(key)}
    return spec.loader(root=root, downloader=downloader, **kwargs)


# ------------------------------------------------------------------------- the names tasks call
def load_text_classification(
    source: str | Path | Any | None,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    seed: int = DEFAULT_SEED,
    root: Path | None = None,
    downloader: Downloader | None = None,
    train: str | Path | Any | None = None,
    val: str | Path | Any | None = None,
    test: str | Path | Any | None = None,
) -> Splits:
    """:func:`open_data` for sentiment (text classification): ``source``, or ``train`` (+ ``val``, ``test``)."""
    return open_data(source, "sentiment", text_col=text_col, label_col=label_col, seed=seed, root=root,
                     downloader=downloader, train=train, val=val, test=test)


def load_parallel(source: str | Path, **kwargs: Any) -> Splits:
    """:func:`open_data` for translation: a registered set (``"fr-en"``) or an Anki ``.txt`` file."""
    return open_data(source, "translation", **kwargs)
