"""Property-based tests (hypothesis) of the CSV / TSV / JSONL / parallel-text readers: any text — quotes,
commas, tabs, newlines inside a field, any Unicode — written by the standard writers comes back exactly
(stripped, as the readers strip), with its label, in order. Bounded (50 examples each) to stay fast."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.readers.parallel import read_parallel_lines
from rnnkit.data.readers.text import read_jsonl, read_table

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any Unicode except surrogates (not encodable) and NUL (csv refuses it); the readers strip each text, and
# a row whose stripped text is empty is dropped (with a warning), so texts here have a visible character.
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(CHARS, min_size=1, max_size=60).filter(lambda t: t.strip() != "")
LABEL = st.sampled_from(["pos", "neg", "neutral", "1,5", 'say "no"', "é"])
ROWS = st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=12)


def labels_of(parsed) -> list[str]:
    return [parsed.labels[ex.label] for ex in parsed.examples]


@SETTINGS
@given(rows=ROWS, delimiter=st.sampled_from([",", "\t", ";"]))
def test_table_round_trip(rows: list[tuple[str, str]], delimiter: str) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / ("data.tsv" if delimiter == "\t" else "data.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=delimiter)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing in a well-formed file is skipped or dropped
            parsed = read_table(path, delimiter=delimiter)
    assert [ex.text for ex in parsed.examples] == [t.strip() for t, _ in rows]
    assert labels_of(parsed) == [y.strip() for _, y in rows]


@SETTINGS
@given(rows=st.lists(st.tuples(TEXT, st.one_of(LABEL, st.integers(-5, 5), st.booleans())), min_size=1, max_size=12),
       ascii_only=st.booleans())
def test_jsonl_round_trip(rows: list[tuple[str, object]], ascii_only: bool) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        lines = [json.dumps({"text": t, "label": y}, ensure_ascii=ascii_only) for t, y in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = read_jsonl(path)
    assert [ex.text for ex in parsed.examples] == [t.strip() for t, _ in rows]
    assert labels_of(parsed) == [str(y).strip() for _, y in rows]


LINE = st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")), min_size=1, max_size=40)


@SETTINGS
@given(pairs=st.lists(st.tuples(LINE, LINE).filter(lambda p: p[0].split() and p[1].split()), min_size=1,
                      max_size=10))
def test_parallel_lines_round_trip(pairs: list[tuple[str, str]]) -> None:
    with TemporaryDirectory() as tmp:
        src, tgt = Path(tmp) / "a.src", Path(tmp) / "a.tgt"
        src.write_text("\n".join(a for a, _ in pairs) + "\n", encoding="utf-8")
        tgt.write_text("\n".join(b for _, b in pairs) + "\n", encoding="utf-8")
        read = read_parallel_lines(src, tgt)
    assert read == [(" ".join(a.split()), " ".join(b.split())) for a, b in pairs]
