"""Stable paths (issue 24): `rnnkit train TASK` without --out trains into a new runs/TASK-MODEL-TIME and, once
it finished, points the link runs/TASK-MODEL at it, so the README can name `runs/sentiment-lstm` after one or
two `make train`s; earlier runs are kept; a failed run neither leaves a folder nor moves the link; a second
model folder given to `rnnkit predict` as a text is refused in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli import main
from rnnkit.files import point_link

SMALL = ["--cell", "lstm", "--embed-dim", "8", "--hidden-size", "8", "--batch-size", "8", "--patience", "0",
         "--no-progress", "--min-freq", "1", "--epochs", "1", "--log", "none"]


def _train(reviews_csv: Path, *extra: str) -> int:
    return main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 *SMALL, *extra])


def _runs() -> list[str]:
    return sorted(p.name for p in Path("runs").iterdir())


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_two_runs_keep_both_and_the_link_names_the_latest(reviews_csv, in_tmp, capsys):
    assert _train(reviews_csv) == 0
    first = os.readlink("runs/sentiment-lstm")
    assert _train(reviews_csv) == 0
    second = os.readlink("runs/sentiment-lstm")
    out = capsys.readouterr().out
    assert "runs/sentiment-lstm now names this run" in out
    assert first != second and not os.path.isabs(second)  # relative: the runs folder can be moved
    assert _runs() == sorted(["sentiment-lstm", first, second])  # the first run is kept
    assert Path("runs", second, "model.safetensors").is_file()
    result = rnnkit.load("runs/sentiment-lstm").predict(["A joyous, moving film."])
    assert result[0]["label"] in ("negative", "positive")
    assert main(["predict", "runs/sentiment-lstm", "There is nothing to like in this movie."]) == 0


def test_a_second_model_folder_given_as_a_text_is_refused(reviews_csv, in_tmp, capsys):
    """`rnnkit predict runs/sentiment-lstm-*/ "…"` after two runs: the glob gives two folders."""
    assert _train(reviews_csv) == 0
    assert _train(reviews_csv) == 0
    first, second = (name + "/" for name in _runs() if name != "sentiment-lstm")
    capsys.readouterr()
    assert main(["predict", "runs/" + first, "runs/" + second, "There is nothing to like in this movie."]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing classified
    assert captured.err.count("\n") == 1
    assert f"input 1 (runs/{second}) is a folder, not a text" in captured.err
    assert "--ensemble" in captured.err


def test_a_failed_run_leaves_no_folder_and_does_not_move_the_link(reviews_csv, in_tmp, capsys):
    assert _train(reviews_csv) == 0
    before = os.readlink("runs/sentiment-lstm")
    capsys.readouterr()
    assert _train(reviews_csv, "--label-col", "no-such-column") == 1
    err = capsys.readouterr().err
    assert "no-such-column" in err and err.count("\n") == 1
    assert _runs() == sorted(["sentiment-lstm", before])  # no empty folder of the failed run
    assert os.readlink("runs/sentiment-lstm") == before


def test_a_users_own_folder_at_the_link_is_left_alone(reviews_csv, in_tmp, capsys):
    mine = Path("runs/sentiment-lstm")
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    assert _train(reviews_csv) == 0
    assert "left as it was" in capsys.readouterr().out
    assert not mine.is_symlink() and (mine / "notes.txt").read_text() == "mine"


def test_point_link_replaces_a_link_and_refuses_anything_else(tmp_path):
    link = tmp_path / "latest"
    assert point_link(link, "a")
    assert point_link(link, "b")
    assert os.readlink(link) == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]  # no temporary link left
    (tmp_path / "file").write_text("x")
    assert not point_link(tmp_path / "file", "b")
    assert (tmp_path / "file").read_text() == "x"


def test_a_served_link_is_named_as_given(tmp_path, monkeypatch):
    """`rnnkit serve runs/sentiment-lstm`: the model is `sentiment-lstm`, as the README's requests name it."""
    pytest.importorskip("fastapi")
    from rnnkit.serve.registry import unique_names

    monkeypatch.chdir(tmp_path)
    Path("runs/sentiment-lstm-20261206-120000").mkdir(parents=True)
    point_link("runs/sentiment-lstm", "sentiment-lstm-20261206-120000")
    assert unique_names([Path("runs/sentiment-lstm"), Path("runs/sentiment-lstm-20261206-120000"), Path(".")]) == [
        "sentiment-lstm", "sentiment-lstm-20261206-120000", tmp_path.name]
