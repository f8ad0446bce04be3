"""The rnnkit command: entry points and the demo."""

from __future__ import annotations

import json
import subprocess
import sys

from rnnkit.cli import main
from rnnkit.nn import CELLS


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
    payload = json.loads(out.read_text())
    backends = {(r["cell"], r["backend"]) for r in payload["records"]}
    assert ("gru-reset-before", "bptt") in backends and ("lstm", "fused") in backends
    assert {s["cell"] for s in payload["streaming"]} == set(CELLS)  # every registered cell
    assert ("gru-reset-before", "cpp") in {(s["cell"], s["backend"]) for s in payload["streaming"]}
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


def test_import_rnnkit_stays_light():
    code = "import sys, rnnkit; assert callable(rnnkit.load) and 'torch' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_one_table_of_applications_serves_every_command(tmp_path, capsys):
    """rnnkit.tasks.TASKS is the list of applications: `rnnkit train` offers exactly its names, and every
    App names its own options, a predictor that loads its directories, and summaries."""
    from rnnkit.cli import build_parser
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.base import Predictor

    parser, _ = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions  # noqa: SLF001
                 if a.dest == "task")
    assert list(train.choices) == list(TASKS)
    for name, app in TASKS.items():
        assert app.name == name and app.options.__dataclass_fields__
        assert issubclass(app.predictor, Predictor) and app.predictor.apps[name] is app
        assert callable(app.prepare) and callable(app.evaluate) and callable(app.describe)
    predicting = {n for n, a in TASKS.items() if a.show_prediction is not None}
    assert {n for n, a in TASKS.items() if hasattr(a.predictor, "predict")} == predicting
    config = {"format": "rnnkit-model", "format_version": 1, "task": "nope",
              "model": {"class": "BagOfWordsClassifier", "kwargs": {"vocab_size": 5, "num_classes": 2}},
              "options": {}, "train": {}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert main(["predict", str(tmp_path), "x"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "holds a 'nope' model, which this rnnkit does not know" in err
