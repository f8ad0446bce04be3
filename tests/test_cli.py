"""The rnnkit command: entry points and the demo."""

from __future__ import annotations

import subprocess
import sys

from rnnkit.cli import main


def test_python_dash_m_shows_help():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "--help"], capture_output=True, text=True, check=True)
    assert "usage: rnnkit" in result.stdout


def test_demo_runs_and_reports(capsys):
    assert main(["demo", "--steps", "20", "--length", "10", "--hidden", "8", "--cell", "gru-reset-before"]) == 0
    out = capsys.readouterr().out
    assert "always answering 1 gives MSE 0.167" in out
    assert "held-out MSE" in out


def test_bench_quick_writes_results(tmp_path, capsys):
    out, md, png = tmp_path / "speed.json", tmp_path / "perf.md", tmp_path / "speed.png"
    assert main(["bench", "--quick", "--out", str(out), "--markdown", str(md), "--plot", str(png)]) == 0
    import json

    payload = json.loads(out.read_text())
    backends = {(r["cell"], r["backend"]) for r in payload["records"]}
    assert ("gru-reset-before", "native") in backends and ("lstm", "fused") in backends
    assert {s["cell"] for s in payload["streaming"]} == {"rnn", "rnn-relu", "lstm", "gru", "gru-reset-before"}
    assert [loop["task"] for loop in payload["training_loop"]] == ["sentiment", "translate"]
    assert all(loop["ratio"] > 0 for loop in payload["training_loop"]) and "cpu" in payload["machine"]
    assert "Streaming at batch 1" in md.read_text() and png.stat().st_size > 1000


def test_inputs_may_follow_options(reviews_csv, tmp_path, capsys):
    out = tmp_path / "bow"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--model", "bow", "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), "--json", "a fine film", "dull"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    import pytest

    with pytest.raises(SystemExit):
        main(["predict", str(out), "--json", "a fine film", "--bogus"])
