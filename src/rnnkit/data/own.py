"""A user's own labelled data → :class:`~rnnkit.data.splits.Splits`: separate train/val/test files, Python
lists or a pandas DataFrame, and the label mapping that lets a model be evaluated on data whose labels are
named differently.

Separate files (``--train FILE [--val FILE] [--test FILE]``, each any format of
:func:`read_labelled`: CSV / TSV / JSONL / an SST-2 TSV / an aclImdb split folder with ``pos/`` and
``neg/``). The class names are those of the training file (numeric order for integer labels, else
sorted); a val or test label the training file does not have is an error. :data:`FALLBACK`:

    no --val and no --test   seeded stratified 80/10/10 of --train (as ``--data FILE``)
    no --val                 10 % of --train, seeded and stratified (by label), becomes val
    no --test                10 % of --train, seeded and stratified, becomes test

Degenerate data is refused: a training set with one class ("needs at least two labels; found only 'x'").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnkit.data.corpora import DEFAULT_MAX_WORDS, MT_FRACTIONS, make_parallel
from rnnkit.data.readers.parallel import lang_of, read_parallel_lines, read_parallel_tsv
from rnnkit.data.readers.text import Parsed, map_labels, read_aclimdb, read_jsonl, read_sst2, read_table
from rnnkit.data.sources import absolute_source
from rnnkit.data.splits import (
    DEFAULT_FRACTIONS,
    DEFAULT_SEED,
    SPLITS,
    Example,
    Pair,
    Splits,
    split_examples,
    stratified_split,
)

FALLBACK = ("no --val / --test: carved from --train by a seeded stratified split — 10 % for each missing "
            "file (80/10/10 when both are missing)")
CARVE = 0.1


# --------------------------------------------------------------------------------- one file
def read_labelled(path: str | Path, *, text_col: str | None = None, label_col: str | None = None) -> Parsed:
    """Every example of one labelled file or folder, unsplit.

    ``.csv`` / ``.tsv`` / ``.tab`` (header row; an SST-2 ``sentence<TAB>label`` TSV is recognised by its
    header when no ``text_col`` is given), ``.jsonl`` / ``.ndjson``, or a folder holding ``pos/`` and
    ``neg/`` review files (an aclImdb split such as ``aclImdb/train``)."""
    path = Path(path)
    if path.is_dir():
        if (path / "pos").is_dir() and (path / "neg").is_dir():
            return read_aclimdb(path.parent, path.name)
        raise ValueError(f"{path}: a folder of labelled text must hold pos/ and neg/ (an aclImdb split such as "
                         f"aclImdb/train), found {sorted(p.name for p in path.iterdir())[:10]}")
    if not path.exists():
        raise ValueError(f"{path}: no such file; expected a .csv, .tsv or .jsonl file of labelled text")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, text_col=text_col or "text", label_col=label_col or "label")
    if suffix in (".tsv", ".csv", ".tab"):
        if suffix == ".tsv" and text_col is None and _first_line(path).split("\t")[:1] == ["sentence"]:
            return read_sst2(path)
        return read_table(path, text_col=text_col or "text", label_col=label_col or "label")
    raise ValueError(f"{path}: expected a .csv, .tsv or .jsonl file or an aclImdb split folder, "
                     f"found {suffix or 'no extension'!r}")


def _first_line(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.readline()
    return head.decode("utf-8-sig", errors="replace").rstrip("\r\n")


def require_two_labels(name: str, labels: Sequence[str], examples: Sequence[Example]) -> None:
    """Training needs examples of at least two classes; a one-class set would score 'accuracy 1.0'."""
    present = sorted({labels[ex.label] for ex in examples})
    if len(present) < 2:
        found = f"only {present[0]!r}" if present else "no labelled examples"
        raise ValueError(f"{name}: a classifier needs at least two labels; found {found}")


def names_of(parsed: Parsed) -> list[str]:
    """The label name of every example (``parsed.labels[ex.label]``)."""
    return [parsed.labels[ex.label] for ex in parsed.examples]


# --------------------------------------------------------------------------- separate files
def labelled_files(
    train: str | Path | Any,
    val: str | Path | Any | None = None,
    test: str | Path | Any | None = None,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    seed: int = DEFAULT_SEED,
) -> Splits:
    """Train / val / test from separate files (or DataFrames); a missing val or test is carved from train
    (:data:`FALLBACK`). ``split["files"]`` holds the absolute paths."""
    given = {"train": train, "val": val, "test": test}
    parsed = {role: _read_part(part, text_col, label_col) for role, part in given.items() if part is not None}
    train_names = names_of(parsed["train"])
    ids, labels = map_labels(train_names, Path(_describe(train)))
    examples = {"train": [Example(ex.text, y) for ex, y in zip(parsed["train"].examples, ids, strict=True)]}
    for role in ("val", "test"):
        if role in parsed:
            examples[role] = _relabel(parsed[role], labels, _describe(given[role]), _describe(train))
    name = _describe(train)
    require_two_labels(name, labels, examples["train"])
    keys = {role: [f"{role}:{k}" for k in parsed[role].keys] for role in parsed}
    missing = [role for role in ("val", "test") if role not in parsed]
    carved: dict[str, float] = {}
    if missing:
        fractions = DEFAULT_FRACTIONS if len(missing) == 2 else (1.0 - CARVE, CARVE, 0.0)
        parts = stratified_split([ex.label for ex in examples["train"]], seed=seed, fractions=fractions,
                                 keys=keys["train"])
        pool, pool_keys = examples["train"], keys["train"]
        targets = ["train", *missing] if len(missing) == 2 else ["train", missing[0]]
        for role, part in zip(targets, parts, strict=False):
            examples[role] = [pool[i] for i in part]
            keys[role] = [pool_keys[i] for i in part]
        carved = {role: fractions[1 + i] for i, role in enumerate(missing)}
    method = "files" if not missing else f"files; {', '.join(missing)} carved from train (seeded, stratified)"
    files = {role: _describe(part) for role, part in given.items() if part is not None}
    return Splits(
        name=name,
        labels=labels,
        train=examples["train"],
        val=examples["val"],
        test=examples["test"],
        split={"method": method, "seed": seed, "files": files, "carved": carved,
               "keys": {role: keys[role] for role in SPLITS}},
        info={"files": files},
    )


def _read_part(part: Any, text_col: str | None, label_col: str | None) -> Parsed:
    if is_frame(part):
        texts, labels = frame_columns(part, text_col or "text", label_col or "label")
        return parsed_lists(texts, labels, "DataFrame")
    return read_labelled(part, text_col=text_col, label_col=label_col)


def _describe(part: Any) -> str:
    return "DataFrame" if is_frame(part) else str(absolute_source(part))


def _relabel(parsed: Parsed, labels: list[str], name: str, train_name: str) -> list[Example]:
    index = {label: i for i, label in enumerate(labels)}
    names = names_of(parsed)
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise ValueError(f"{name} has labels {unknown} that the training file {train_name} does not have "
                         f"(its labels: {labels})")
    return [Example(ex.text, index[n]) for ex, n in zip(parsed.examples, names, strict=True)]


# ------------------------------------------------------------------------ lists and frames
def parsed_lists(texts: Sequence[str], labels: Sequence[Any], name: str = "lists") -> Parsed:
    """Examples from parallel lists (labels: strings or ints, mapped as a file's column)."""
    if isinstance(texts, str) or isinstance(labels, str):
        raise ValueError(f"{name}: texts and labels must be lists (one entry per example), not a single string")
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{name}: {len(texts)} texts but {len(labels)} labels; give one label per text")
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if not isinstance(text, str):
            raise ValueError(f"{name}: text {i} is a {type(text).__name__}, not a string")
        if label is None or isinstance(label, (list, dict, tuple, set)):
            raise ValueError(f"{name}: label {i} must be a string or a number, found {label!r}")
    ids, names = map_labels(labels, Path(name))
    examples = [Example(t.strip(), y) for t, y in zip(texts, ids, strict=True)]
    keep = [i for i, ex in enumerate(examples) if ex.text]
    if len(keep) < len(examples):
        empty = [i for i, ex in enumerate(examples) if not ex.text][:10]
        raise ValueError(f"{name}: texts {empty} are empty; drop them or give them text")
    return Parsed(examples, names, [str(i) for i in range(len(examples))])


def labelled_lists(texts: Sequence[str], labels: Sequence[Any], *, seed: int = DEFAULT_SEED,
                   name: str = "lists") -> Splits:
    """A seeded stratified 80/10/10 split of texts and labels given as Python lists."""
    parsed = parsed_lists(texts, labels, name)
    require_two_labels(name, parsed.labels, parsed.examples)
    return split_examples(name, parsed.examples, parsed.labels, seed=seed, keys=parsed.keys)


def is_frame(obj: Any) -> bool:
    """A pandas DataFrame (or anything with ``columns`` and column indexing), checked without importing pandas."""
    return hasattr(obj, "columns") and hasattr(obj, "__getitem__") and not isinstance(obj, (str, Path, Mapping))


def frame_columns(frame: Any, text_col: str, label_col: str) -> tuple[list[str], list[Any]]:
    """The text and label columns of a DataFrame as lists."""
    columns = [str(c) for c in list(frame.columns)]
    missing = [c for c in (text_col, label_col) if c not in columns]
    if missing:
        raise ValueError(f"DataFrame: expected columns {text_col!r} (text) and {label_col!r} (label), found "
                         f"{columns}; choose them with text_col=/label_col= (CLI: --text-col/--label-col)")
    return list(frame[text_col]), [_scalar(v) for v in frame[label_col]]


def _scalar(value: Any) -> Any:
    """A NumPy scalar (what a DataFrame column yields) as the Python value."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) else value


# ------------------------------------------------------------------------------- label maps
def parse_label_map(text: str) -> dict[str, str]:
    """``"pos=positive,neg=negative"`` → ``{"pos": "positive", "neg": "negative"}`` (the ``--label-map`` form)."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--label-map: expected OLD=NEW pairs separated by commas, found {item.strip()!r}")
        if old.strip() in mapping:
            raise ValueError(f"--label-map: {old.strip()!r} is mapped twice")
        mapping[old.strip()] = new.strip()
    if not mapping:
        raise ValueError("--label-map: expected OLD=NEW pairs separated by commas, found nothing")
    return mapping


def align_labels(data: Splits, model_labels: Sequence[str], label_map: Mapping[str, str] | str | None = None) -> Splits:
    """``data`` with its class ids renumbered to the model's ``model_labels`` (after renaming its labels by
    ``label_map``, OLD → NEW): so a model trained on ``negative/positive`` can be evaluated on a file
    labelled ``neg/pos`` or ``0/1``. The model's labels must cover every label the data uses."""
    mapping = parse_label_map(label_map) if isinstance(label_map, str) else dict(label_map or {})
    unknown_keys = sorted(set(mapping) - set(data.labels))
    if unknown_keys:
        raise ValueError(f"--label-map names {unknown_keys}, which {data.name} does not have (its labels: "
                         f"{list(data.labels)})")
    bad_targets = sorted(set(mapping.values()) - set(model_labels))
    if bad_targets:
        raise ValueError(f"--label-map maps to {bad_targets}, which the model does not predict (its labels: "
                         f"{list(model_labels)})")
    renamed = [mapping.get(name, name) for name in data.labels]
    used = {ex.label for s in SPLITS for ex in data.part(s)}
    missing = sorted({renamed[i] for i in used} - set(model_labels))
    if missing:
        hint = ",".join(f"{m}=LABEL" for m in missing[:3])
        raise ValueError(f"{data.name} has labels {missing} that the model does not predict (its labels: "
                         f"{list(model_labels)}); map them with --label-map {hint}")
    index = {name: i for i, name in enumerate(model_labels)}
    new_id = [index.get(name, -1) for name in renamed]
    parts = {s: [Example(ex.text, new_id[ex.label]) for ex in data.part(s)] for s in SPLITS}
    return replace(data, labels=list(model_labels), info={**data.info, "label_map": mapping}, **parts)


# -------------------------------------------------------------------------- parallel text
def read_parallel(
    path: str | Path | None = None,
    *,
    src: str | Path | None = None,
    tgt: str | Path | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
) -> Splits:
    """A user's parallel text: a ``source<TAB>target`` file (``path``) or two line-aligned files (``src``,
    ``tgt``), then the length filter, dedup and split by source sentence of
    :func:`~rnnkit.data.corpora.make_parallel` (domain ``"user"``). Languages default to the files'
    suffixes (``train.fr`` → ``fr``) or ``src`` / ``tgt``."""
    if path is not None:
        if src is not None or tgt is not None:
            raise ValueError("give either one source<TAB>target file or --src and --tgt files, not both")
        path = Path(path)
        rows = read_parallel_tsv(path)
        name, files = str(path), {"data": str(path.resolve())}
        src_lang, tgt_lang = src_lang or "src", tgt_lang or "tgt"
    else:
        if src is None or tgt is None:
            raise ValueError("parallel text needs both --src FILE and --tgt FILE (line-aligned)")
        src, tgt = Path(src), Path(tgt)
        rows = read_parallel_lines(src, tgt)
        name, files = f"{src} + {tgt}", {"src": str(src.resolve()), "tgt": str(tgt.resolve())}
        src_lang, tgt_lang = src_lang or lang_of(src, "src"), tgt_lang or lang_of(tgt, "tgt")
    pairs = [Pair(a, b, "user") for a, b in rows]
    splits = make_parallel(name, pairs, src_lang, tgt_lang, max_words=max_words, reverse=reverse, seed=seed,
                           fractions=fractions)
    splits.split["files"] = files
    splits.info["files"] = files
    return splits


# ------------------------------------------------------------------------------ by role
def pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: options[name] for name in names if options.get(name) is not None}


def open_own(source: Any, family: str, own: dict[str, Any], given: list[str], options: dict[str, Any]) -> Splits:
    """Own data given by role: ``train``/``val``/``test`` files, ``texts``/``labels`` lists, ``src``/``tgt``."""
    if source is not None:
        raise ValueError(f"give either a dataset ({source}) or {'/'.join(given)}, not both")
    if family == "translation":
        stray = [role for role in given if role not in ("src", "tgt")]
        if stray:
            raise ValueError(f"translation data is --src FILE --tgt FILE (or one .tsv); {', '.join(stray)} "
                             "apply to classification")
        kwargs = pick(options, "src_lang", "tgt_lang", "reverse", "seed", "fractions")
        if "max_words" in options:
            kwargs["max_words"] = options["max_words"]
        return read_parallel(src=own["src"], tgt=own["tgt"], **kwargs)
    if family != "sentiment":
        raise ValueError(f"{family} data is one file or a registry name; {'/'.join(given)} apply to classification"
                         " (train/val/test, texts/labels) and translation (src/tgt)")
    if own["src"] is not None or own["tgt"] is not None:
        raise ValueError("--src/--tgt give translation data; labelled text is --train/--val/--test")
    kwargs = pick(options, "text_col", "label_col", "seed")
    if own["texts"] is not None or own["labels"] is not None:
        if own["texts"] is None or own["labels"] is None or own["train"] is not None:
            raise ValueError("give texts= and labels= together (and no train= file)")
        return labelled_lists(own["texts"], own["labels"], **pick(options, "seed"))
    if own["train"] is None:
        raise ValueError("--val/--test need --train FILE (the training examples)")
    return labelled_files(own["train"], own["val"], own["test"], **kwargs)
