"""The lecture-claim experiments: every ``--quick`` path through the CLI, ``all``, and the pieces they rest on."""

from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from rnnkit.cli import main
from rnnkit.cli.experiment import EXPERIMENTS
from rnnkit.experiments.arms import train_sentiment_arm
from rnnkit.experiments.claims import README_END, README_START
from rnnkit.experiments.claims import module_of as claims_module
from rnnkit.experiments.gradient_flow import decay, gradient_norms
from rnnkit.experiments.lstm_vs_gru import matched_hidden, recurrent_parameters
from rnnkit.experiments.record import compact
from rnnkit.experiments.word_order import NEGATIVE, POSITIVE, contrast_pairs, vocabulary
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.tasks.synthetic import LastStepRegressor, adding_problem, copy_baseline, copy_task, train_adding
from rnnkit.text.tokenize import build_tokenizer
from rnnkit.train.checkpoint import ModelDirError
from rnnkit.train.config import TrainConfig

SIGNALS = Path(__file__).parent / "fixtures" / "signals"
MINE = ("long-memory", "gradient-flow", "long-reviews", "word-order", "lstm-vs-gru", "cloze")
OFFLINE = ("long-memory", "gradient-flow", "cloze", "gates")  # experiments that make their own data


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("experiments")


@pytest.fixture(scope="module")
def motions_ts(tmp_path_factory) -> Path:
    """The real BasicMotions excerpt (one Standing, Running and Walking series) repeated 8× as one .ts file."""
    lines = (SIGNALS / "BasicMotions_TRAIN_excerpt.ts").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lower().startswith("@data")) + 1
    path = tmp_path_factory.mktemp("signals") / "motions.ts"
    path.write_text("\n".join(lines[:start] + lines[start:] * 8) + "\n")
    return path


def data_flags(name: str, reviews_csv: Path, motions_ts: Path) -> list[str]:
    """Offline data for the quick runs: the Rotten Tomatoes fixture and the BasicMotions fixture."""
    flags = [] if name in OFFLINE else ["--data", str(reviews_csv)]
    return flags + (["--signal-data", str(motions_ts)] if name in ("lstm-vs-gru", "all") else [])


@pytest.mark.parametrize("name", MINE)
def test_quick_run_writes_results_plots_and_report(name, root, reviews_csv, motions_ts, capsys):
    out = root / name
    assert main(["experiment", name, "--quick", "--out", str(out), *data_flags(name, reviews_csv, motions_ts)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["experiment"] == name and results["quick"] is True
    assert results["plots"] and all((out / p).is_file() and (out / p).suffix == ".png" for p in results["plots"])
    assert results["claims"] and all(set(c) == {"claim", "holds", "verdict", "rule"} for c in results["claims"])
    assert results["source"]["commit"] and str(out) not in (out / "results.json").read_text()  # paths: relative
    report = (out / "report.md").read_text()
    assert report.startswith("# ") and "## Verdict" in report
    assert capsys.readouterr().out.rstrip().endswith(report.rstrip())  # the CLI prints the report last


@pytest.mark.parametrize("name", MINE)
def test_verdicts_and_report_need_no_trace(name, root, reviews_csv, motions_ts):
    """The repository keeps results without the plots' traces; verdicts and reports must come out the same."""
    out = root / name
    if not (out / "results.json").exists():
        assert main(["experiment", name, "--quick", "--out", str(out), *data_flags(name, reviews_csv, motions_ts)]) == 0
    module = claims_module(name)
    results = json.loads((out / "results.json").read_text())
    kept = compact(results, module.TRACES)
    assert module.claims(kept) == module.claims(results) == results["claims"]
    assert module.report(kept) == module.report(results) == (out / "report.md").read_text()


def test_quick_word_order_scores_every_model(root, reviews_csv):
    out = root / "word-order"
    if not (out / "results.json").exists():
        assert main(["experiment", "word-order", "--quick", "--out", str(out), "--data", str(reviews_csv)]) == 0
    arms = json.loads((out / "results.json").read_text())["arms"]
    assert set(arms) == {"bow", "bow+bigrams", "rnn", "lstm", "gru"}
    bow = arms["bow"]["seeds"][0]
    assert arms["bow"]["bag_only"] and bow["both_right"] == 0  # identical features: exactly one right
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == bow["pairs"] and all(len(p["answers"]["lstm"]) == 2 for p in pairs)
    capacity = json.loads((out / "results.json").read_text())["capacity"]["arms"]  # trained on contrast pairs
    assert set(capacity) == set(arms) and capacity["bow"]["seeds"][0]["test"]["sentence_accuracy"] == 0.5
    assert capacity["bow"]["seeds"][0]["held_out_template"]["both_right"] == 0
    assert all(a["lr"] in (3e-3, None) for a in (*capacity.values(), *arms.values()))
    assert all(0 <= a["seeds"][0]["lecture_pair"]["negative"]["p_positive"] <= 1
               for a in (*capacity.values(), *arms.values()))


def test_quick_lstm_vs_gru_gives_every_configuration_the_same_updates(root, reviews_csv, motions_ts, capsys):
    out = root / "lstm-vs-gru"
    if not (out / "results.json").exists():
        assert main(["experiment", "lstm-vs-gru", "--quick", "--out", str(out),
                     *data_flags("lstm-vs-gru", reviews_csv, motions_ts)]) == 0
    results = json.loads((out / "results.json").read_text())
    setup, runs = results["setup"], results["runs"]
    assert {(r["cell"], r["sizing"]) for r in runs} >= {(c, s) for c in ("gru", "gru-reset-before", "rnn")
                                                        for s in ("equal hidden", "equal parameters")}
    for task in ("sentiment", "signal"):  # no early stop, no time cap: the same epochs and steps for all
        assert {r[task]["epochs"] for r in runs} == {setup[f"{task}_epochs"]}
        steps = {r[task]["steps"] for r in runs}
        assert len(steps) == 1 and steps.pop() > 0
        saved = [json.loads((out / r[task]["directory"] / "config.json").read_text())["train"] for r in runs]
        assert all(t["patience"] == 0 and t["max_minutes"] is None for t in saved)
    assert "Standing" in json.loads((out / runs[0]["signal"]["directory"] / "config.json").read_text())["labels"]
    assert not Path(runs[0]["signal"]["directory"]).is_absolute()  # paths in results.json: relative to the folder
    assert results["speed"]["times"]["reference"] and {c["rule"] for c in results["claims"]} == {
        "lstm-vs-gru/quality", "lstm-vs-gru/speed-same-code", "lstm-vs-gru/speed-defaults"}
    # a time cap would hand the faster cell more updates: the experiment has none to give
    assert main(["experiment", "lstm-vs-gru", "--quick", "--out", str(out), "--minutes", "1"]) == 1
    assert "no time budget" in capsys.readouterr().err


def test_all_assembles_the_lecture_claims(root, reviews_csv, motions_ts, tmp_path):
    docs = root / "docs"
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{README_START}\n| old | table |\n{README_END}\n\nafter\n")
    assert main(["experiment", "all", "--quick", "--reuse", "--out", str(root), "--docs", str(docs),
                 "--readme", str(readme), *data_flags("all", reviews_csv, motions_ts)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n" + README_START) and text.endswith(README_END + "\n\nafter\n")
    assert "| old | table |" not in text and "Quick run" in text
    claims = [c for e in json.loads((root / "results.json").read_text())["experiments"].values() for c in e["claims"]]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == len(claims) and all(f"| {c['claim']} |" in text for c in claims)
    document = (docs / "lecture-claims.md").read_text()
    assert document == (root / "report.md").read_text()
    for name in EXPERIMENTS:
        if name != "all":
            assert f"`rnnkit experiment {name}`" in document
    images = re.findall(r"\]\((img/[^)]+\.png)\)", document)
    assert len(images) >= len(EXPERIMENTS) - 2 and all((docs / i).is_file() for i in images)  # examples: no plot
    assert "Quick run" in document and "## The lecture's four design criteria" in document
    for rule in {c["rule"] for c in claims}:
        assert f"`{rule}`" in document  # every verdict's rule is printed with it


def test_a_readme_without_the_claims_markers_is_refused_before_any_training(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    assert main(["experiment", "all", "--quick", "--out", str(tmp_path / "out"), "--readme", str(readme)]) == 1
    err = capsys.readouterr().err
    assert "lecture-claims:start" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "long-memory").exists() and readme.read_text() == "# no markers here\n"


def test_options_an_experiment_does_not_take_are_refused(tmp_path, capsys):
    assert main(["experiment", "examples", "--quick", "--out", str(tmp_path), "--seeds", "2"]) == 1
    assert "does not take --seeds" in capsys.readouterr().err


def test_contrast_pairs_share_their_bag_of_words_and_flip_the_label():
    texts = ["a good film , not bad", "a great movie", "bad acting", "a dull plot", "the story is good",
             "boring , bad , dull", "great acting", "a good story"]
    labels = [1, 1, 0, 0, 1, 0, 1, 1]
    words = vocabulary(texts, labels, positive=1, min_count=1)
    assert set(words["positive"]) <= set(POSITIVE) and set(words["negative"]) <= set(NEGATIVE)
    assert "good" in words["positive"] and "bad" in words["negative"] and "boring" in words["negative"]
    assert "great" in words["positive"] and "dull" in words["negative"]
    pairs = contrast_pairs(words, 1000)
    combos = 6 * len(words["nouns"]) * len(words["positive"]) * len(words["negative"])
    assert len(pairs) == combos == len({p["positive"] for p in pairs})
    tokenize = build_tokenizer("word", lowercase=True).tokenize
    for p in pairs:
        noun, pos, neg = p["words"]
        assert Counter(tokenize(p["positive"])) == Counter(tokenize(p["negative"]))
        swapped = [neg if w == pos else pos if w == neg else w for w in p["positive"].split()]
        assert swapped == p["negative"].split() and p["positive"] != p["negative"] and noun in p["positive"]


def test_vocabulary_drops_rare_words_and_words_of_the_wrong_polarity():
    texts = ["good film", "good movie", "bad film", "good but bad plot", "bad bad plot", "funny"]
    labels = [1, 1, 0, 0, 0, 0]  # "funny" occurs once, in a negative text
    words = vocabulary(texts, labels, positive=1, min_count=2)
    assert words["positive"] == ["good"] and words["negative"] == ["bad"]
    assert "funny" not in words["positive"] and words["nouns"] == ["film", "plot"]
    with pytest.raises(ValueError, match="too small"):
        vocabulary(texts, labels, positive=1, min_count=10)


def test_copy_task_baseline_is_the_memoryless_cross_entropy():
    n = 8
    assert copy_baseline(n) == pytest.approx(math.log(8)) == pytest.approx(2.0794, abs=1e-4)
    tokens, targets = copy_task(64, 20, n_symbols=n, length=5, generator=torch.Generator().manual_seed(0))
    uniform = torch.zeros(*targets.shape, n + 1)
    uniform[..., 0] = float("-inf")  # a memoryless answer: every symbol equally likely, never the blank
    ce = F.cross_entropy(uniform[-5:].reshape(-1, n + 1), targets[-5:].reshape(-1))
    assert ce.item() == pytest.approx(copy_baseline(n))
    x, y = adding_problem(20_000, 10, torch.Generator().manual_seed(0))
    assert F.mse_loss(torch.ones_like(y), y).item() == pytest.approx(1 / 6, abs=0.01)


def test_synthetic_training_stops_on_its_wall_clock_cap():
    result = train_adding("rnn", 6, steps=1000, hidden_size=4, batch=4, max_seconds=0.0)
    assert result["steps"] == 1 and result["stopped"] == "time"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru-reset-before"])
def test_gradient_norms_have_one_value_per_step(cell):
    torch.manual_seed(0)
    model = LastStepRegressor(cell, 2, 5)
    x, y = adding_problem(3, 17, torch.Generator().manual_seed(0))
    norms = gradient_norms(model, x, y)
    assert len(norms["h"]) == len(norms["x"]) == 17
    assert all(math.isfinite(v) and v > 0 for v in norms["h"] + norms["x"])
    # at the loss, dL/dh_T = 2 (ŷ − y) w_readout for each sequence of L = Σ (ŷ − y)²
    with torch.no_grad():
        exact = copy.deepcopy(model).double().eval()
        direct = 2 * (exact(x.double()) - y.double())[:, None] * exact.readout.weight
    assert norms["h"][-1] == pytest.approx(direct.norm(dim=1).mean().item(), rel=1e-6)


def test_decay_summary():
    d = decay([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert d["far_over_near"] == pytest.approx(1e-4) and d["per_step_factor"] == pytest.approx(0.1)
    assert d["distance_below_1e-3"] == 4
    assert decay([0.0, 0.0, 0.5, 1.0])["per_step_factor"] == pytest.approx(0.5)  # out to the farthest non-zero


@pytest.mark.parametrize("cell", ["gru", "gru-reset-before", "rnn"])
def test_equal_parameters_solves_the_hidden_size(cell):
    target = recurrent_parameters("lstm", 128, 256)
    assert target == 4 * (256 * 128 + 256 * 256 + 2 * 256)
    hidden = matched_hidden(cell, 128, target)
    assert abs(recurrent_parameters(cell, 128, hidden) - target) / target < 0.01
    gap = abs(recurrent_parameters(cell, 128, hidden) - target)
    assert all(abs(recurrent_parameters(cell, 128, h) - target) >= gap for h in (hidden - 1, hidden + 1))


def test_a_finished_arm_is_reused_and_a_foreign_one_refused(tmp_path, reviews_csv):
    opts = SentimentOptions(data=str(reviews_csv), model="bow", min_freq=1)
    cfg = TrainConfig(epochs=1, progress=False)
    first = train_sentiment_arm(opts, cfg, tmp_path / "bow", log=lambda _: None)
    said = []
    again = train_sentiment_arm(opts, cfg, tmp_path / "bow", log=said.append)
    assert again == first and said and said[0].startswith("reusing")
    with pytest.raises(ModelDirError, match="trained otherwise"):
        train_sentiment_arm(SentimentOptions(data=str(reviews_csv), model="bow", min_freq=2), cfg, tmp_path / "bow")
