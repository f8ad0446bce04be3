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
