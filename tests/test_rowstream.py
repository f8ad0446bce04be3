"""Labelled rows on disk: the same rows, split and ids as reading the file whole, read a row at a time."""

from __future__ import annotations

import bz2
import csv
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data import rowstream
from rnnkit.data.open import read_labelled_text
from rnnkit.data.rowstream import load_rows
from rnnkit.data.splits import stratified_split, stratified_split_arrays
from rnnkit.text import TextEncoder

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def snippets() -> list[tuple[str, str]]:
    """Real review snippets (the Rotten Tomatoes fixture): (text, fresh | rotten)."""
    with bz2.open(FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2", "rt", encoding="utf-8") as f:
        return [(row["text"], row["category"]) for row in csv.DictReader(f) if row["category"] != "plot"]


def _csv(path: Path, rows: list[tuple[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "review", "verdict"])
        for i, (text, label) in enumerate(rows):
            writer.writerow([i, text, label])
            if i == 5:
                f.write("\r\n")  # a blank line: skipped
        writer.writerow([len(rows), "", "fresh"])  # an empty text: dropped after numbering
        writer.writerow([len(rows) + 1, "a review\nover two lines, with \"quotes\"", "rotten"])


def _in_memory(path: Path, **kw) -> tuple:
    data = read_labelled_text(path, text_col=kw.get("text_col"), label_col=kw.get("label_col"), seed=kw["seed"])
    encoder = TextEncoder.build([ex.text for ex in data.train], tokenizer=kw["tokenizer"], lowercase=True,
                                min_freq=kw["min_freq"], max_len=kw["max_len"])
    return data, encoder, {s: encoder.encode_dataset(getattr(data, s)) for s in ("train", "val", "test")}


@pytest.mark.parametrize("fmt, tokenizer, max_len", [("csv", "word", None), ("jsonl", "word", 12),
                                                     ("tsv", "char", 40)])
def test_rows_on_disk_equal_the_file_read_whole(tmp_path, snippets, fmt, tokenizer, max_len):
    path = tmp_path / f"reviews.{fmt}"
    rows = snippets[:600]
    if fmt == "csv":
        _csv(path, rows)
        cols = {"text_col": "review", "label_col": "verdict"}
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": int(y == "fresh")}) + "\n" for t, y in rows) + "\n",
                        encoding="utf-8")
        cols = {}
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            csv.writer(f, delimiter="\t").writerows([("text", "label"), *rows])
        cols = {}
    with warnings.catch_warnings(record=True) as whole:
        warnings.simplefilter("always")
        data, encoder, encoded = _in_memory(path, seed=7, tokenizer=tokenizer, min_freq=2, max_len=max_len, **cols)
    with warnings.catch_warnings(record=True) as streaming:
        warnings.simplefilter("always")
        streamed, parts, stream_encoder = load_rows(
            path, text_col=cols.get("text_col"), label_col=cols.get("label_col"), seed=7, tokenizer=tokenizer,
            lowercase=True, min_freq=2, max_len=max_len, root=tmp_path / "cache", log=lambda _: None)
    readers = [str(w.message) for w in whole if "blank" in str(w.message) or "empty text" in str(w.message)]
    assert [str(w.message) for w in streaming] == readers and (readers or fmt == "tsv")
    assert streamed.split == data.split  # the same keys: the split hashes do not move
    assert streamed.labels == data.labels
    assert stream_encoder.hf.to_str() == encoder.hf.to_str()
    for s in ("train", "val", "test"):
        assert len(parts[s]) == len(encoded[s])
        assert [parts[s][i] for i in range(len(parts[s]))] == [encoded[s][i] for i in range(len(encoded[s]))]
        assert list(parts[s].lengths) == encoded[s].lengths
        assert parts[s].num_truncated == encoded[s].num_truncated


def test_sentiment_trains_on_a_streamed_file_and_a_second_run_reuses_it(tmp_path, snippets, monkeypatch):
    monkeypatch.setattr(rowstream, "STREAM_BYTES", 0)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "reviews.csv"
    _csv(path, snippets[:400])
    args = ["train", "sentiment", "--data", str(path), "--text-col", "review", "--label-col", "verdict",
            "--embed-dim", "8", "--hidden-size", "8", "--epochs", "1", "--no-progress"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert {str(w.message).split(": ")[1].split(" ")[0] for w in caught} == {"skipped", "dropped"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = read_labelled_text(path, text_col="review", label_col="verdict")
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["split"] == whole.split
    folders = list((tmp_path / "cache" / "rows").iterdir())
    assert main([*args, "--out", str(tmp_path / "b")]) == 0  # prepared: no pass over the file, no warning
    assert list((tmp_path / "cache" / "rows").iterdir()) == folders
    assert main(["predict", str(tmp_path / "b"), "a lovely, moving film"]) == 0


def test_a_large_file_refuses_bpe_and_bigrams_in_one_line(tmp_path, snippets, monkeypatch, capsys):
    monkeypatch.setattr(rowstream, "STREAM_BYTES", 0)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in snippets[:50]), encoding="utf-8")
    assert main(["train", "sentiment", "--data", str(path), "--tokenizer", "bpe", "--out", str(tmp_path / "x")]) != 0
    assert "--tokenizer word or char" in capsys.readouterr().err
    assert main(["train", "sentiment", "--data", str(path), "--model", "bow", "--bigrams",
                 "--out", str(tmp_path / "y")]) != 0
    assert "without --bigrams" in capsys.readouterr().err


def test_the_array_split_is_the_stratified_split():
    r = random.Random(1)
    for _ in range(100):
        n = r.randint(0, 60)
        labels, keys = [r.randint(0, 3) for _ in range(n)], r.sample(range(10**6), n)
        fractions, seed = r.choice([(0.8, 0.1, 0.1), (0.9, 0.05, 0.05), (0.5, 0.5, 0.0)]), r.randint(0, 99)
        expected = stratified_split(labels, seed=seed, fractions=fractions, keys=[str(k) for k in keys])
        got = stratified_split_arrays(np.array(labels), np.array(keys), seed=seed, fractions=fractions)
        assert [list(part) for part in expected] == [part.tolist() for part in got]


@pytest.mark.parametrize("name, content", [
    ("twice.csv", "review,review,verdict\na,b,fresh\n"),  # the text column named twice: which one is unclear
    ("deep.jsonl", '{"review": "fine", "verdict": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),  # a depth bomb
    ("nan.jsonl", '{"review": "fine", "verdict": NaN}\n'),  # NaN is no label
])
def test_a_bad_file_read_a_row_at_a_time_is_refused_as_when_read_whole(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as whole:
        read_labelled_text(path, text_col="review", label_col="verdict", seed=0)
    with pytest.raises(ValueError) as streamed:
        list(rowstream.rows(path, "review", "verdict"))
    assert str(streamed.value) == str(whole.value)


def test_a_tab_separated_file_named_csv_is_read_a_row_at_a_time_as_when_read_whole(tmp_path, snippets):
    path = tmp_path / "reviews.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter="\t").writerows([("review", "verdict"), *snippets[:50]])
    whole = read_labelled_text(path, text_col="review", label_col="verdict", seed=0)
    streamed = [(text, label) for _, text, label in rowstream.rows(path, "review", "verdict")]
    assert len(streamed) == 50
    assert sorted(ex.text for ex in (*whole.train, *whole.val, *whole.test)) == sorted(t for t, _ in streamed)
