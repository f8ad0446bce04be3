"""Plain parallel text users bring for translation (path → sentence pairs).

* **Two line-aligned files** (``--src train.fr --tgt train.en``): line ``i`` of one is the translation of
  line ``i`` of the other, the format of Europarl / OPUS ``.txt`` downloads and of Moses corpora.
  Different line counts are an error giving both counts (a file cut short shifts every later pair).
* **A two-column TSV** (``source<TAB>target``, no header; more columns are ignored, as Anki's
  attribution column).

A pair with an empty side (a blank line in either file) is skipped, with one warning naming the line
numbers; whitespace inside a sentence is collapsed to single spaces.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from rnnkit.data.readers.encoding import line_list, read_utf8


def _lines(path: Path) -> list[str]:
    text = read_utf8(path, "plain UTF-8 text, one sentence a line")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    if not any(line.strip() for line in lines):
        raise ValueError(f"{path}: no sentences; expected plain UTF-8 text, one sentence a line")
    return lines


def lang_of(path: Path, default: str) -> str:
    """``train.fr`` → ``"fr"``: a 2–3 letter alphabetic suffix names the language, else ``default``."""
    suffix = path.suffix.lstrip(".").lower()
    return suffix if suffix.isalpha() and 2 <= len(suffix) <= 3 and suffix not in ("txt", "tsv", "tok") else default


def clean(text: str) -> str:
    """One side of a pair as read: whitespace (tabs, line ends included) collapsed to single spaces."""
    return " ".join(text.split())


def warn_skipped(name: str, skipped: list[int], kept: int) -> None:
    """The one warning for pairs with an empty side (by line number); no pair left is an error."""
    if skipped:
        warnings.warn(f"{name}: skipped {len(skipped)} pairs with an empty side (lines {line_list(skipped)})",
                      UserWarning, stacklevel=4)
    if not kept:
        raise ValueError(f"{name}: no sentence pairs with both sides non-empty")


def tsv_sides(path: Path, number: int, line: str) -> tuple[str, str]:
    """The two sides of a non-blank line ``number`` of a ``source<TAB>target`` file (raw), or the one-line error."""
    fields = line.split("\t")
    if len(fields) < 2:
        raise ValueError(f"{path}: line {number}: expected 'source<TAB>target', found {line[:60]!r}")
    return fields[0], fields[1]


def count_mismatch(src: Path, tgt: Path, src_lines: int, tgt_lines: int) -> ValueError:
    """The error for line-aligned files of different lengths (both counts)."""
    return ValueError(f"{src} has {src_lines} lines but {tgt} has {tgt_lines}; line-aligned parallel files need "
                      "one translation per line")


def _pairs(name: str, rows: list[tuple[int, str, str]]) -> list[tuple[str, str]]:
    """``(src, tgt)`` of the rows with both sides non-empty; the others reported by line number."""
    out: list[tuple[str, str]] = []
    skipped: list[int] = []
    for number, src, tgt in rows:
        src, tgt = clean(src), clean(tgt)
        if src and tgt:
            out.append((src, tgt))
        else:
            skipped.append(number)
    warn_skipped(name, skipped, len(out))
    return out


def read_parallel_lines(src: str | Path, tgt: str | Path) -> list[tuple[str, str]]:
    """``(source, target)`` per line of two line-aligned files.

    Raises:
        ValueError: different line counts (both given), a missing, empty or non-UTF-8 file (with its line).
    """
    src, tgt = Path(src), Path(tgt)
    src_lines, tgt_lines = _lines(src), _lines(tgt)
    if len(src_lines) != len(tgt_lines):
        raise count_mismatch(src, tgt, len(src_lines), len(tgt_lines))
    rows = [(i, a, b) for i, (a, b) in enumerate(zip(src_lines, tgt_lines, strict=True), start=1)]
    return _pairs(f"{src} + {tgt}", rows)


def read_parallel_tsv(path: str | Path) -> list[tuple[str, str]]:
    """``(source, target)`` per line of a ``source<TAB>target`` file (no header; extra columns ignored).

    Raises:
        ValueError: a non-blank line without a tab (names the line), a missing, empty or non-UTF-8 file.
    """
    path = Path(path)
    rows: list[tuple[int, str, str]] = []
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            rows.append((number, "", ""))
            continue
        rows.append((number, *tsv_sides(path, number, line)))
    return _pairs(str(path), rows)
