"""Parsers for the standard files users bring: labelled text and sentence pairs (path → records).

Each labelled-text parser returns :class:`Parsed`: examples, label names, a stable key per example.

* **aclImdb folders** (Maas et al. 2011): ``<root>/{train,test}/{pos,neg}/<id>_<rating>.txt``;
  ``<br />`` tags become spaces. Labels ``["negative", "positive"]``.
* **SST-2 TSV** (GLUE): header ``sentence<TAB>label``; GLUE's ``test.tsv`` (``index<TAB>sentence``)
  has no labels and is refused unless ``require_labels=False`` (labels then ``UNLABELLED`` = -1).
* **CSV / TSV / JSONL** with named text and label columns; labels may be strings or ints, mapped to
  ids in sorted order (numeric order for ints).
* **Anki / Tatoeba** ``fra.txt``: ``English<TAB>translation[<TAB>attribution]`` lines.

A file in the wrong format raises ``ValueError`` with one line naming what was expected and found; a file
that is not UTF-8 names the line (:mod:`rnnkit.data.readers.encoding`). Blank lines are skipped and reported
(a warning with their line numbers); a row whose text is empty is dropped the same way.
How these become train/val/test splits is :mod:`rnnkit.data.open`'s job.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rnnkit.data.readers.encoding import (
    csv_field_limit,
    decode_utf8,
    line_list,
    read_regular,
    read_utf8,
    utf8_error,
)
from rnnkit.data.splits import UNLABELLED, Example
from rnnkit.files import loads_json

BINARY_LABELS = ["negative", "positive"]
_ACLIMDB_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_BR_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


class Parsed(NamedTuple):
    """Examples read from a file or folder, their label names, and one stable key per example."""

    examples: list[Example]
    labels: list[str]
    keys: list[str]


COLUMN_HINT = "choose them with --text-col/--label-col (Python: text_col=/label_col=)"


def _drop_empty(parsed: Parsed, source: Path, lines: Sequence[int] | None = None) -> Parsed:
    """``parsed`` without examples whose text is empty, with a warning (their ``lines`` when known)."""
    keep = [i for i, ex in enumerate(parsed.examples) if ex.text.strip()]
    dropped = [i for i, ex in enumerate(parsed.examples) if not ex.text.strip()]
    if dropped:
        where = f" (lines {line_list([lines[i] for i in dropped])})" if lines is not None else ""
        warnings.warn(f"{source}: dropped {len(dropped)} examples with empty text{where}", UserWarning, stacklevel=3)
        return Parsed([parsed.examples[i] for i in keep], parsed.labels, [parsed.keys[i] for i in keep])
    return parsed


def _warn_blank(source: Path, blank: Sequence[int]) -> None:
    if blank:
        warnings.warn(f"{source}: skipped {len(blank)} blank lines (lines {line_list(blank)})", UserWarning,
                      stacklevel=3)


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
            text = _BR_TAG.sub(" ", decode_utf8(path, path.read_bytes(), "an aclImdb review (UTF-8 text)"))
            examples.append(Example(text.strip(), label))
            keys.append(f"{split}/{folder}/{path.name}")
    return _drop_empty(Parsed(examples, list(BINARY_LABELS), keys), root)


# -------------------------------------------------------------------------------------- SST-2
def read_sst2(path: str | Path, *, require_labels: bool = True) -> Parsed:
    """Read a GLUE SST-2 TSV (``sentence<TAB>label`` with a header; quotes are literal text)."""
    path = Path(path)
    text = read_utf8(path, "an SST-2 TSV")
    with csv_field_limit(text):
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE))
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if any(f.strip() for f in row)]
    blank = [number for number, row in enumerate(rows, start=1) if not any(f.strip() for f in row)]
    if not numbered or "sentence" not in numbered[0][1]:
        found = numbered[0][1][:5] if numbered else "an empty file"
        raise ValueError(f"{path}: expected an SST-2 TSV with header 'sentence<TAB>label', found {found}")
    header = numbered[0][1]
    s_col = header.index("sentence")
    l_col = header.index("label") if "label" in header else None
    if l_col is None and require_labels:
        raise ValueError(
            f"{path}: SST-2 file has no 'label' column (columns {header}); GLUE test files are unlabelled — "
            "use dev.tsv for evaluation, or require_labels=False to read texts only"
        )
    _warn_blank(path, blank)
    examples: list[Example] = []
    lines: list[int] = []
    for number, row in numbered[1:]:
        if len(row) != len(header):
            raise ValueError(f"{path}: line {number}: expected {len(header)} tab-separated fields, found {len(row)}")
        if l_col is None:
            label = UNLABELLED
        elif row[l_col] in ("0", "1"):
            label = int(row[l_col])
        else:
            raise ValueError(f"{path}: line {number}: SST-2 label must be 0 or 1, found {row[l_col]!r}")
        examples.append(Example(row[s_col].strip(), label))
        lines.append(number)
    keys = [f"{path.name}:{i}" for i in range(len(examples))]
    return _drop_empty(Parsed(examples, list(BINARY_LABELS), keys), path, lines)


# ----------------------------------------------------------------------- CSV / TSV / JSONL
def map_labels(raw: Sequence[Any], source: Path, lines: Sequence[int] | None = None) -> tuple[list[int], list[str]]:
    """Raw labels → ids: ints (or int-like strings) in numeric order, other strings in sorted order."""
    values = [str(v).strip() if not isinstance(v, int) or isinstance(v, bool) else v for v in raw]
    for i, v in enumerate(values):
        if v == "":
            where = f"line {lines[i]}" if lines is not None else f"example {i}"
            raise ValueError(f"{source}: {where}: empty label")
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


def _labelled(path: Path, texts: list[str], raw_labels: list[Any], lines: list[int]) -> Parsed:
    ids, names = map_labels(raw_labels, path, lines)
    keys = [str(i) for i in range(len(texts))]
    examples = [Example(t, y) for t, y in zip(texts, ids, strict=True)]
    return _drop_empty(Parsed(examples, names, keys), path, lines)


def read_table(
    path: str | Path, *, text_col: str = "text", label_col: str = "label", delimiter: str | None = None
) -> Parsed:
    """Read a CSV or TSV with a header row; the delimiter (``,``, tab or ``;``) is the one that makes the header
    name both columns (a tab-separated file named ``.csv`` works), else the extension's, unless ``delimiter``.

    Fields may be any length (quoted newlines, commas and quotes as in RFC 4180); blank lines are skipped
    with a warning naming them; a row with a different number of fields is an error naming its line, and a
    header that names the text or label column twice is an error naming the column."""
    path = Path(path)
    text = read_utf8(path, "a CSV/TSV file")
    if delimiter is None:
        delimiter = sniff_delimiter(text, path, (text_col, label_col))
    texts: list[str] = []
    raw_labels: list[str] = []
    lines: list[int] = []
    blank: list[int] = []
    with csv_field_limit(text):
        for number, row_text, raw_label in table_rows(io.StringIO(text, newline=""), path, text_col, label_col,
                                                      delimiter, blank):
            texts.append(row_text)
            raw_labels.append(raw_label)
            lines.append(number)
    _warn_blank(path, blank)
    return _labelled(path, texts, raw_labels, lines)


def table_rows(lines: Iterable[str], path: Path, text_col: str, label_col: str, delimiter: str,
               blank: list[int]) -> Iterator[tuple[int, str, str]]:
    """(line number, stripped text, raw label) of every data row of a CSV/TSV read from ``lines`` (a file or a
    ``StringIO``, opened with ``newline=""``), one row at a time — the rules of :func:`read_table`, shared by the
    streaming reader of files larger than memory. Blank lines' numbers are appended to ``blank``; a missing or
    twice-named column, a row of another width and a malformed row are one ``ValueError`` naming the line."""
    reader = csv.reader(lines, delimiter=delimiter)
    columns: list[str] | None = None
    start = 1
    try:
        for row in reader:
            number, start = start, reader.line_num + 1
            if not any(field.strip() for field in row):
                blank.append(number)
                continue
            if columns is None:
                columns = row
                t, y = _header_columns(columns, path, text_col, label_col)
                continue
            if len(row) != len(columns):
                raise ValueError(f"{path}: line {number}: expected {len(columns)} fields, found {len(row)}")
            yield number, row[t].strip(), row[y]
    except csv.Error as err:
        raise ValueError(f"{path}: line {start}: not a valid CSV/TSV row ({err})") from None
    if columns is None:
        raise ValueError(f"{path}: empty file; expected a header row naming columns {text_col!r} and {label_col!r}")


def _header_columns(columns: list[str], path: Path, text_col: str, label_col: str) -> tuple[int, int]:
    """The indices of the text and label columns of a header row, or a ``ValueError`` saying what is wrong."""
    missing = [c for c in (text_col, label_col) if c not in columns]
    if missing:
        raise ValueError(
            f"{path}: expected columns {text_col!r} (text) and {label_col!r} (label), found {columns}; {COLUMN_HINT}"
        )
    twice = [c for c in (text_col, label_col) if columns.count(c) > 1]
    if twice:
        raise ValueError(f"{path}: the header names column {twice[0]!r} {columns.count(twice[0])} "
                         "times, so which one to read is unclear; rename or remove the others")
    return columns.index(text_col), columns.index(label_col)


def sniff_delimiter(text: str, path: Path, columns: Sequence[str]) -> str:
    """The delimiter of a CSV/TSV ``text``: the first of the extension's own, tab, comma and semicolon whose
    header row holds every name in ``columns``; the extension's (tab for .tsv/.tab, else comma) if none does."""
    default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    header = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in dict.fromkeys((default, "\t", ",", ";")):
        try:
            names = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            continue
        if all(c in names for c in columns):
            return delimiter
    return default


def check_label(value: Any, path: Path, number: int, label_col: str) -> None:
    """A label must be a scalar (string, finite number, boolean): a list, an object, null, NaN or infinity is
    refused."""
    if value is None or isinstance(value, (list, dict)):
        found = "null" if value is None else ("a list" if isinstance(value, list) else "an object")
        raise ValueError(f"{path}: line {number}: label {label_col!r} must be a string or a number, found {found}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: line {number}: label {label_col!r} is {value}, not a class; give a string or a "
                         "finite number")


def read_jsonl(path: str | Path, *, text_col: str = "text", label_col: str = "label") -> Parsed:
    """Read JSON Lines: one object per line with ``text_col`` (a string) and ``label_col`` (a string or
    number) keys; blank lines are skipped with a warning naming them."""
    path = Path(path)
    texts: list[str] = []
    raw_labels: list[Any] = []
    lines: list[int] = []
    blank: list[int] = []
    for number, line in enumerate(read_utf8(path, "a JSON Lines file").split("\n"), start=1):
        if not line.strip():
            blank.append(number)
            continue
        row_text, raw_label = jsonl_row(line, number, path, text_col, label_col)
        texts.append(row_text)
        raw_labels.append(raw_label)
        lines.append(number)
    trailing = len(blank) and blank[-1] == number  # the usual newline at the end of the file is not a blank line
    _warn_blank(path, blank[:-1] if trailing else blank)
    return _labelled(path, texts, raw_labels, lines)


def jsonl_row(line: str, number: int, path: Path, text_col: str, label_col: str) -> tuple[str, Any]:
    """(stripped text, raw label) of one non-blank JSON Lines ``line`` (line ``number`` of ``path``), parsed
    with the depth limit of :func:`rnnkit.files.loads_json`; anything else is one ``ValueError`` naming the line."""
    try:
        obj = loads_json(line, f"{path}: line {number}")
    except json.JSONDecodeError:
        raise ValueError(f"{path}: line {number}: expected one JSON object per line, found {line[:40]!r}") from None
    if not isinstance(obj, dict) or text_col not in obj or label_col not in obj:
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(
            f"{path}: line {number}: expected keys {text_col!r} and {label_col!r}, found {found}; {COLUMN_HINT}"
        )
    if not isinstance(obj[text_col], str):
        raise ValueError(f"{path}: line {number}: {text_col!r} must be a string")
    check_label(obj[label_col], path, number, label_col)
    return obj[text_col].strip(), obj[label_col]


# ------------------------------------------------------------------------------------------ anki
ANKI_LANGS = {"fra": "fr", "deu": "de", "rus": "ru", "spa": "es", "ita": "it", "por": "pt", "nld": "nl"}


def read_anki_pairs(path: str | Path) -> list[tuple[str, str]]:
    """``(english, other)`` of every line of an Anki/Tatoeba file (``English<TAB>French[<TAB>attribution]``).

    Blank lines are skipped; a UTF-8 BOM and ``\\r\\n`` line ends are accepted.

    Raises:
        ValueError: not UTF-8, or a line without a tab or with an empty side (names the line number).
    """
    path = Path(path)
    text = read_utf8(path, "an Anki fra.txt")
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(
                f"{path}: line {number}: expected 'English<TAB>translation[<TAB>attribution]', found {line[:60]!r}"
            )
        out.append((" ".join(fields[0].split()), " ".join(fields[1].split())))
    if not out:
        raise ValueError(f"{path}: no sentence pairs; expected an Anki fra.txt (English<TAB>French lines)")
    return out


# ------------------------------------------------------------------------------- running text
def read_text_lines(path: Path) -> list[str]:
    """The lines of a plain UTF-8 text file: Windows line ends become ``\\n``, a UTF-8 BOM is dropped.

    Raises:
        ValueError: a missing, empty, binary (NUL bytes) or non-UTF-8 file, in one line.
    """
    try:
        raw = read_regular(path)
    except OSError as err:
        raise ValueError(f"{path}: cannot read a text file ({err.strerror or err})") from None
    if not raw.strip():
        raise ValueError(f"{path}: empty file; expected plain UTF-8 text")
    if b"\x00" in raw:
        raise ValueError(f"{path}: binary file (NUL bytes at offset {raw.index(0)}); expected plain UTF-8 text")
    text = decode_utf8(path, raw, "plain UTF-8 text")
    return text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n").split("\n")


WIKITEXT_FILES = ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens")


def read_wikitext_texts(source: str | Path | Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """WikiText-2/-103 token files, kept exactly as tokenised (`` = Title = `` lines, ``<unk>``,
    `` @-@ ``, `` @,@ ``): the three paths and texts. ``source`` is the folder holding
    ``wiki.{train,valid,test}.tokens`` or the three paths in train, valid, test order. The usual ``<eos>``
    per line is the tokenizer's job, not added here.
    """
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"{folder}: expected a folder holding {', '.join(WIKITEXT_FILES)}")
        paths = [folder / name for name in WIKITEXT_FILES]
    else:
        paths = [Path(p) for p in source]
        if len(paths) != 3:
            raise ValueError(f"expected 3 WikiText files (train, valid, test), got {len(paths)}")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"missing WikiText file(s): {', '.join(missing)}")
    texts = []
    for p in paths:
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise utf8_error(p, raw, err, "a WikiText token file") from None
        if not text.strip() or b"\x00" in raw:
            raise ValueError(f"{p}: empty or binary; expected a WikiText token file")
        texts.append(text)
    return paths, texts
