"""`rnnkit experiment examples`: the lecture's sentences, exactly, run on trained models (quick size)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.experiments import examples


@pytest.fixture(scope="module")
def quick(tmp_path_factory, reviews_csv) -> tuple[Path, dict, Path]:
    """The quick run on the Rotten Tomatoes fixture, with an empty corpus cache (returned, to check it stays so)."""
    out = tmp_path_factory.mktemp("examples")
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_CACHE", str(cache))
        return out, examples.run(out, quick=True, data=str(reviews_csv), log=lambda _: None), cache


def test_the_quick_run_downloads_nothing(quick):
    """Its classifiers read the sentiment file, its translator and its speech come from phrases in code."""
    cache = quick[2]
    assert not (cache / "packages").exists() and not (cache / "extracted").exists()


def test_the_lecture_s_sentences_are_its_own_words():
    assert examples.FOX == "The quick brown fox jumped over the lazy dog."  # the lecture says "jumped"
    assert examples.FRENCH == "Voulez-vous chanter avec moi ?"


def test_the_quick_run_writes_every_example(quick):
    out, results, _ = quick
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    report = (out / "report.md").read_text()
    for sentence in (examples.NOTHING, *examples.FOOD, examples.FRENCH, examples.FOX):
        assert sentence in report
    assert {m: [p["text"] for p in ps] for m, ps in results["sentiment"].items()} == {
        m: [examples.NOTHING, *examples.FOOD] for m in ("sentiment", "bow")}
    for p in results["sentiment"]["bow"] + results["sentiment"]["sentiment"]:
        assert math.isclose(sum(p["probs"].values()), 1.0, rel_tol=1e-5)
    assert {"greedy", "beam"} <= set(results["translation"]) and results["translation"]["greedy"]["translation"]
    speech = results["speech"]
    assert speech["reference"] == "the quick brown fox jumped over the lazy dog" and speech["held_out"]
    assert (out / speech["wav"]).is_file() and all(0 <= speech[d]["cer"] for d in ("greedy", "beam_lm"))
    assert results["claims"] == [] and "Reported examples, not verdicts" in report  # one sentence decides nothing


def test_a_bag_of_words_cannot_tell_the_food_pair_apart(quick):
    good, bad = quick[1]["sentiment"]["bow"][1:]
    assert good["probs"] == pytest.approx(bad["probs"], abs=1e-6)


def test_given_models_are_used_instead_of_training(quick, tmp_path, capsys):
    out = quick[0]
    dirs = [out / slot for slot in examples.SLOTS]
    assert examples.given_models(dirs) == {slot: out / slot for slot in examples.SLOTS}
    with pytest.raises(ValueError, match="two sentiment models"):
        examples.given_models([out / "sentiment", out / "sentiment"])
    assert main(["experiment", "examples", "--quick", "--out", str(tmp_path / "again"), "--models",
                 *map(str, dirs)]) == 0
    results = json.loads((tmp_path / "again" / "results.json").read_text())
    assert results["given"] == sorted(examples.SLOTS) and not (tmp_path / "again" / "sentiment").exists()
    assert results["translation"]["greedy"] == quick[1]["translation"]["greedy"]
    assert "Voulez-vous chanter avec moi ?" in capsys.readouterr().out
