"""rnnkit.fit: own data from Python lists in, a model directory the CLI and rnnkit.load accept out."""

import csv

import pytest

import rnnkit
from rnnkit.cli import main

TINY = {"embed_dim": 8, "hidden_size": 8, "min_freq": 1, "batch_size": 8, "epochs": 2, "progress": False}


def _rows(reviews_csv):
    with open(reviews_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_fit_from_lists_writes_a_model_directory_that_predict_and_load_accept(tmp_path, reviews_csv, capsys):
    texts, labels = _rows(reviews_csv)
    out = tmp_path / "mine"
    metrics = rnnkit.fit(texts, labels, out=out, cell="gru", log=lambda _: None, **TINY)
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert (tmp_path / "mine.data" / "train.csv").is_file()
    model = rnnkit.load(out)
    assert model.config["model"]["kwargs"]["cell"] == "gru"
    assert {r["label"] for r in model.predict(["a fine film", "dull"])} <= set(model.labels)
    assert main(["predict", str(out), "a fine film"]) == 0
    assert capsys.readouterr().out.strip()


def test_fit_refuses_bad_input_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        rnnkit.fit(["a", "b", "c"], ["x", "y"], out=tmp_path / "m")
    with pytest.raises(ValueError, match="unknown setting 'hidden'"):
        rnnkit.fit(["a", "b"], ["x", "y"], out=tmp_path / "m2", hidden=3)
    with pytest.raises(ValueError, match="label 1 is"):
        rnnkit.fit(["a", "b"], ["x", None], out=tmp_path / "m3")
    with pytest.raises(ValueError, match=r"hidden_size must be in \[1, 16384\], got 0"):  # the range the flag checks
        rnnkit.fit(["a", "b"], ["x", "y"], out=tmp_path / "m4", hidden_size=0)
    with pytest.raises(TypeError, match="dropout must be a number"):
        rnnkit.fit(["a", "b"], ["x", "y"], out=tmp_path / "m5", dropout="0.5")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_fit_leaves_nothing_behind_so_the_corrected_call_works(tmp_path, reviews_csv):
    texts, labels = _rows(reviews_csv)
    with pytest.raises(ValueError, match="cell must be one of .*, got 'nope'"):
        rnnkit.fit(texts, labels, out=tmp_path / "new", cell="nope", log=lambda _: None, **TINY)
    assert list(tmp_path.iterdir()) == []
    made = tmp_path / "made"
    made.mkdir()  # a folder the user made first is kept, empty as it was
    with pytest.raises(ValueError, match="at least two labels"):
        rnnkit.fit(texts, ["x"] * len(texts), out=made, log=lambda _: None, **TINY)
    assert list(made.iterdir()) == [] and not (tmp_path / "made.data").exists()
    rnnkit.fit(texts, labels, out=made, log=lambda _: None, **TINY)
    assert rnnkit.load(made).labels == ["negative", "positive"]


def test_fit_again_into_the_same_folder_needs_overwrite_and_replaces_the_run(tmp_path, reviews_csv):
    texts, labels = _rows(reviews_csv)
    out = tmp_path / "nb"
    rnnkit.fit(texts, labels, out=out, log=lambda _: None, **TINY)
    with pytest.raises(ValueError, match="overwrite=True"):
        rnnkit.fit(texts, labels, out=out, log=lambda _: None, **TINY)
    flipped = [{"negative": "positive", "positive": "negative"}[y] for y in labels]
    rnnkit.fit(texts, flipped, out=out, overwrite=True, cell="gru", log=lambda _: None, **TINY)
    model = rnnkit.load(out)
    assert model.config["model"]["kwargs"]["cell"] == "gru"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb", "nb.data"]
    with open(tmp_path / "nb.data" / "train.csv", newline="", encoding="utf-8") as f:
        assert [r["label"] for r in csv.DictReader(f)] == flipped
    assert main(["evaluate", str(out), "--json"]) == 0


def test_a_failed_overwrite_keeps_the_previous_run(tmp_path, reviews_csv):
    texts, labels = _rows(reviews_csv)
    out = tmp_path / "keep"
    rnnkit.fit(texts, labels, out=out, log=lambda _: None, **TINY)
    weights = (out / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="at least two labels"):
        rnnkit.fit(texts, ["x"] * len(texts), out=out, overwrite=True, log=lambda _: None, **TINY)
    assert (out / "model.safetensors").read_bytes() == weights
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep", "keep.data"]
    assert rnnkit.load(out).labels == ["negative", "positive"]


def test_overwrite_never_deletes_a_folder_that_is_not_a_fit_run(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ValueError, match="not an rnnkit model directory"):
        rnnkit.fit(["a", "b"], ["x", "y"], out=other, overwrite=True)
    assert (other / "cat.jpg").exists()
