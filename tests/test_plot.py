"""``rnnkit plot``: training curves of finished runs (the toy task of test_runlog) to a PNG."""

from __future__ import annotations

import json

import pytest
from matplotlib.image import imread

from rnnkit.cli import main
from rnnkit.train.curves import read_curves
from test_runlog import _fit


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    _fit(base / "lr-0.01", log="csv", log_every=2, eval_every=4)
    _fit(base / "lr-0.003", log="none", lr=3e-3)  # no steps.csv: the loss comes from history.jsonl
    return base / "lr-0.01", base / "lr-0.003"


def test_plot_draws_two_runs_to_a_png(runs, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert main(["plot", str(runs[0]), str(runs[1]), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(str(out)).shape
    assert (width, height) == (1210, 462)  # 11 × 4.2 inches at 110 dpi


def test_curves_are_read_from_the_logs(runs):
    logged, quiet = read_curves(runs[0]), read_curves(runs[1])
    history = [json.loads(line) for line in (runs[0] / "history.jsonl").read_text().splitlines()]
    assert logged.metric == "accuracy"
    assert logged.val["accuracy"] == [(h["step"], h["val"]["accuracy"]) for h in history]
    assert [step for step, _ in logged.loss] == list(range(2, 17, 2))  # every 2nd step (evaluations fall on them)
    assert [step for step, _ in quiet.loss] == [8, 16]  # one point per epoch, from history.jsonl
    seconds = read_curves(runs[0], x="time").loss
    assert all(b[0] >= a[0] for a, b in zip(seconds, seconds[1:], strict=False))


def test_plot_says_in_one_line_what_is_wrong(runs, tmp_path, capsys):
    assert main(["plot", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no training log (history.jsonl or steps.csv)" in err
    assert main(["plot", str(tmp_path / "missing")]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert main(["plot", str(runs[0]), "--metric", "bleu", "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose --metric from accuracy, examples, loss" in err
    assert not (tmp_path / "x.png").exists()
