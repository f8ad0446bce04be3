"""`rnnkit evaluate DIR --data FILE` scores every row of an outside file; `--split` picks one split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.data.readers.reviews import read_rt_snippets

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def model(reviews_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "bow"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--model", "bow", "--min-freq", "1",
                 "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """200 real Rotten Tomatoes snippets (the fixture's 52, repeated with a suffix) as a user's CSV."""
    snippets = [(ex.text, "positive" if ex.label == 1 else "negative")
                for _, ex in read_rt_snippets(FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2")]
    rows = [(f"{text} ({k})", label) for k in range(4) for text, label in snippets][:200]
    path = tmp_path_factory.mktemp("outside") / "outside.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def test_an_outside_file_is_scored_whole(model, outside, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(outside), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 200 and report["split"] == "all"
    assert sum(map(sum, report["confusion"]["matrix"])) == 200
    assert main(["evaluate", str(model), "--data", str(outside)]) == 0
    assert "(every row, 200 examples)" in capsys.readouterr().out


def test_split_picks_one_split_of_an_outside_file(model, outside, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(outside), "--split", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 20 and report["split"] == "test"


def test_the_models_own_data_is_scored_on_its_test_split(model, capsys):
    metrics = json.loads((model / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["n"] == len(metrics["split"]["keys"]["test"])
    assert report["accuracy"] == pytest.approx(metrics["test"]["accuracy"])


def test_split_all_is_refused_where_an_application_scores_one_split():
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.run import evaluation_split

    with pytest.raises(ValueError, match="--split all scores every example of sentiment"):
        evaluation_split(TASKS["lm"], None, "all", "runs/lm")
    assert evaluation_split(TASKS["lm"], None, None, "runs/lm") == "test"
    assert evaluation_split(TASKS["sentiment"], "rt-polarity", None, "runs/s") == "test"


def test_a_dataset_folder_keeps_its_own_test_split(tmp_path):
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.run import evaluation_split

    folder = tmp_path / "aclImdb"
    folder.mkdir()
    assert evaluation_split(TASKS["sentiment"], str(folder), None, "runs/s") == "test"
    assert evaluation_split(TASKS["sentiment"], str(folder), "all", "runs/s") == "all"
