"""Parsers for the standard files users bring, and :func:`load_text_classification`.

Supported (each parser returns :class:`Parsed`: examples, label names, a stable key per example):

* **aclImdb folders** (Maas et al. 2011): ``<root>/{train,test}/{pos,neg}/<id>_<rating>.txt``;
  ``<br />`` tags become spaces. Labels ``["negative", "positive"]``.
* **SST-2 TSV** (GLUE): header ``sentence<TAB>label``; GLUE's ``test.tsv`` (``index<TAB>sentence``)
  has no labels and is refused unless ``require_labels=False`` (labels then ``UNLABELLED`` = -1).
* **CSV / TSV / JSONL** with named text and label columns; labels may be strings or ints, mapped to
  ids in sorted order (numeric order for ints).

A file in the wrong format raises ``ValueError`` with one line naming what was expected and found.
"""

from __future__ import annotations

import csv
import inspect
import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rnnkit.data.cache import Downloader
from rnnkit.data.classification import (
    DEFAULT_SEED,
    UNLABELLED,
    Example,
    TextClassificationData,
    split_examples,
    stratified_split,
)

BINARY_LABELS = ["negative", "positive"]
_ACLIMDB_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_BR_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


class Parsed(NamedTuple):
    """Examples read from a file or folder, their label names, and one stable key per example."""

    examples: list[Example]
    labels: list[str]
    keys: list[str]


def _drop_empty(parsed: Parsed, source: Path) -> Parsed:
    keep = [i for i, ex in enumerate(parsed.examples) if ex.text.strip()]
    dropped = len(parsed.examples) - len(keep)
    if dropped:
        warnings.warn(f"{source}: dropped {dropped} examples with empty text", UserWarning, stacklevel=3)
        return Parsed([parsed.examples[i] for i in keep], parsed.labels, [parsed.keys[i] for i in keep])
    return parsed


# ------------------------------------------------------------------------------------ aclImdb
def read_aclimdb(root: str | Path, split: str = "train") -> Parsed:
    """Read ``root/<split>/{neg,pos}/<id>_<rating>.txt`` (neg → 0, pos → 1), sorted by (label, id).

    Keys are ``"<split>/<pos|neg>/<file name>"``.
    """
    root = Path(root)
    examples: list[Example] = []
    keys: list[str] = []
    for label, folder in enumerate(("neg", "pos")):
        directory = root / split / folder
        if not directory.is_dir():
            raise ValueError(
                f"{root}: not an aclImdb folder: expected {split}/pos and {split}/neg, "
                f"found {sorted(p.name for p in root.iterdir()) if root.is_dir() else 'no such folder'}"
            )
        files = []
        for path in directory.iterdir():
            match = _ACLIMDB_NAME.match(path.name)
            if match is None:
                raise ValueError(f"{path}: aclImdb review files are named <id>_<rating>.txt, found {path.name!r}")
            files.append((int(match[1]), path))
        for _, path in sorted(files):
            text = _BR_TAG.sub(" ", path.read_text(encoding="utf-8"))
            examples.append(Example(text.strip(), label))
            keys.append(f"{split}/{folder}/{path.name}")
    return _drop_empty(Parsed(examples, list(BINARY_LABELS), keys), root)


# -------------------------------------------------------------------------------------- SST-2
def read_sst2(path: str | Path, *, require_labels: bool = True) -> Parsed:
    """Read a GLUE SST-2 TSV (``sentence<TAB>label`` with a header; quotes are literal text)."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or "sentence" not in rows[0]:
        found = rows[0][:5] if rows else "an empty file"
        raise ValueError(f"{path}: expected an SST-2 TSV with header 'sentence<TAB>label', found {found}")
    header = rows[0]
    s_col = header.index("sentence")
    l_col = header.index("label") if "label" in header else None
    if l_col is None and require_labels:
        raise ValueError(
            f"{path}: SST-2 file has no 'label' column (columns {header}); GLUE test files are unlabelled — "
            "use dev.tsv for evaluation, or require_labels=False to read texts only"
        )
    examples: list[Example] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {number}: expected {len(header)} tab-separated fields, found {len(row)}")
        if l_col is None:
            label = UNLABELLED
        elif row[l_col] in ("0", "1"):
            label = int(row[l_col])
        else:
            raise ValueError(f"{path}: line {number}: SST-2 label must be 0 or 1, found {row[l_col]!r}")
        examples.append(Example(row[s_col].strip(), label))
    keys = [f"{path.name}:{i}" for i in range(len(examples))]
    return _drop_empty(Parsed(examples, list(BINARY_LABELS), keys), path)


# ----------------------------------------------------------------------- CSV / TSV / JSONL
def _map_labels(raw: Sequence[Any], source: Path) -> tuple[list[int], list[str]]:
    """Raw labels → ids: ints (or int-like strings) in numeric order, other strings in sorted order."""
    values = [str(v).strip() if not isinstance(v, int) or isinstance(v, bool) else v for v in raw]
    for i, v in enumerate(values):
        if v == "":
            raise ValueError(f"{source}: example {i}: empty label")
    as_ints: list[int] | None
    try:
        as_ints = [int(v) for v in values]
    except ValueError:
        as_ints = None
    if as_ints is not None:
        names_int = sorted(set(as_ints))
        index = {v: i for i, v in enumerate(names_int)}
        return [index[v] for v in as_ints], [str(v) for v in names_int]
    names = sorted({str(v) for v in values})
    index_s = {v: i for i, v in enumerate(names)}
    return [index_s[str(v)] for v in values], names


def read_table(
    path: str | Path, *, text_col: str = "text", label_col: str = "label", delimiter: str | None = None
) -> Parsed:
    """Read a CSV (``,``) or TSV (tab; chosen by extension unless ``delimiter``) with a header row."""
    path = Path(path)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        columns = list(reader.fieldnames or [])
        missing = [c for c in (text_col, label_col) if c not in columns]
        if missing:
            raise ValueError(
                f"{path}: expected columns {text_col!r} (text) and {label_col!r} (label), "
                f"found {columns}; pass text_col=/label_col="
            )
        texts: list[str] = []
        raw_labels: list[str] = []
        for number, row in enumerate(reader, start=2):
            if None in row or row[text_col] is None or row[label_col] is None:
                raise ValueError(f"{path}: row {number}: expected {len(columns)} fields, found a different count")
            texts.append(row[text_col].strip())
            raw_labels.append(row[label_col])
    ids, names = _map_labels(raw_labels, path)
    keys = [str(i) for i in range(len(texts))]
    return _drop_empty(Parsed([Example(t, y) for t, y in zip(texts, ids, strict=True)], names, keys), path)


def read_jsonl(path: str | Path, *, text_col: str = "text", label_col: str = "label") -> Parsed:
    """Read JSON Lines: one object per line with ``text_col`` and ``label_col`` keys."""
    path = Path(path)
    texts: list[str] = []
    raw_labels: list[Any] = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(
                    f"{path}: line {number}: expected one JSON object per line, found {line[:40]!r}"
                ) from None
            if not isinstance(obj, dict) or text_col not in obj or label_col not in obj:
                found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
                raise ValueError(f"{path}: line {number}: expected keys {text_col!r} and {label_col!r}, found {found}")
            if not isinstance(obj[text_col], str):
                raise ValueError(f"{path}: line {number}: {text_col!r} must be a string")
            texts.append(obj[text_col].strip())
            raw_labels.append(obj[label_col])
    ids, names = _map_labels(raw_labels, path)
    keys = [str(i) for i in range(len(texts))]
    return _drop_empty(Parsed([Example(t, y) for t, y in zip(texts, ids, strict=True)], names, keys), path)


# ---------------------------------------------------------------------------------- dispatch
def _given_test(
    name: str, train: Parsed, test: Parsed, *, seed: int, method: str, val_fraction: float = 0.1
) -> TextClassificationData:
    """Keep a provided test set; carve a stratified, seeded validation set out of the training files."""
    fractions = (1.0 - val_fraction, val_fraction, 0.0)
    labels = [ex.label for ex in train.examples]
    tr, va, _ = stratified_split(labels, seed=seed, fractions=fractions, keys=train.keys)
    return TextClassificationData(
        name=name,
        labels=train.labels,
        train=[train.examples[i] for i in tr],
        val=[train.examples[i] for i in va],
        test=test.examples,
        split={
            "method": method,
            "seed": seed,
            "fractions": list(fractions),
            "keys": {
                "train": [train.keys[i] for i in tr],
                "val": [train.keys[i] for i in va],
                "test": test.keys,
            },
        },
    )


def _from_path(path: Path, *, text_col: str | None, label_col: str | None, seed: int) -> TextClassificationData:
    name = str(path)
    if path.is_dir():
        if (path / "train" / "pos").is_dir() and (path / "train" / "neg").is_dir():
            test = read_aclimdb(path, "test") if (path / "test" / "pos").is_dir() else None
            if test is None:
                parsed = read_aclimdb(path, "train")
                return split_examples(name, parsed.examples, parsed.labels, seed=seed, keys=parsed.keys)
            return _given_test(
                name, read_aclimdb(path, "train"), test, seed=seed, method="aclImdb test + val from train"
            )
        if (path / "train.tsv").is_file() and (path / "dev.tsv").is_file():
            dev = read_sst2(path / "dev.tsv")
            return _given_test(
                name,
                read_sst2(path / "train.tsv"),
                dev,
                seed=seed,
                method="SST-2 dev as test + val from train",
            )
        raise ValueError(
            f"{path}: expected an aclImdb folder (train/pos, train/neg) or an SST-2 folder "
            "(train.tsv, dev.tsv), "
            f"found {sorted(p.name for p in path.iterdir())[:10]}"
        )
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        parsed = read_jsonl(path, text_col=text_col or "text", label_col=label_col or "label")
    elif suffix in (".tsv", ".csv", ".tab"):
        with open(path, encoding="utf-8-sig") as f:
            header = f.readline().rstrip("\r\n").split("\t")
        if suffix == ".tsv" and text_col is None and "sentence" in header:
            parsed = read_sst2(path)
        else:
            parsed = read_table(path, text_col=text_col or "text", label_col=label_col or "label")
    else:
        raise ValueError(
            f"{path}: expected a .csv, .tsv, .jsonl file or a dataset folder, found {suffix or 'no extension'!r}"
        )
    return split_examples(name, parsed.examples, parsed.labels, seed=seed, keys=parsed.keys)


def load_text_classification(
    source: str | Path,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    seed: int = DEFAULT_SEED,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> TextClassificationData:
    """Load a registered dataset by name, or a user's file / folder.

    Args:
        source: a registry name (``"rt-polarity"``) or a path: an aclImdb folder, an SST-2 folder or
            TSV, or a CSV / TSV / JSONL file with a header.
        text_col, label_col: column (key) names for CSV/TSV/JSONL (default ``text`` / ``label``).
        seed: split seed. Files without a split get a stratified 80/10/10; folders with a test set keep
            it and take 10% of the training files (stratified) for validation.
        root, downloader: cache folder and downloader for registered datasets.
    """
    from rnnkit.data.registry import get_spec, list_datasets

    path = Path(source)
    if isinstance(source, str) and not path.exists() and source in list_datasets():
        loader = get_spec(source).loader
        params = inspect.signature(loader).parameters
        kwargs: dict[str, Any] = {"root": root, "downloader": downloader}
        if "seed" in params:
            kwargs["seed"] = seed
        data = loader(**kwargs)
        if not isinstance(data, TextClassificationData):
            raise ValueError(f"dataset {source!r} is not a text-classification dataset")
        return data
    if not path.exists():
        if isinstance(source, str) and not path.suffix and len(path.parts) == 1:
            get_spec(source)  # raises ValueError listing the valid names
        raise ValueError(f"{source}: no such file or folder")
    return _from_path(path, text_col=text_col, label_col=label_col, seed=seed)
