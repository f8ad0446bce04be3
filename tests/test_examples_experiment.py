"""`rnnkit experiment examples`: the lecture's sentences run on trained models (quick size)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.experiments import examples
from rnnkit.models.ngram import NGramCounts, bigram_log_probs
from rnnkit.text import EOS, SPECIALS


@pytest.fixture(scope="module")
def quick(tmp_path_factory, reviews_csv) -> tuple[Path, dict, Path]:
    """The quick run on the Rotten Tomatoes fixture, with an empty corpus cache (returned, to check it stays so)."""
    out = tmp_path_factory.mktemp("examples")
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_CACHE", str(cache))
        return out, examples.run(out, quick=True, data=str(reviews_csv), log=lambda _: None), cache


def test_the_quick_run_downloads_nothing(quick):
    """Its LM text comes from the sentiment file and phrases in code, its speech from phrases in code."""
    cache = quick[2]
    assert not (cache / "packages").exists() and not (cache / "extracted").exists()
    lm_train = next((quick[0] / "data").glob("quick-lm-*/wiki.train.tokens")).read_text()
    assert "speak fluent french" in lm_train and "(take 0)" in lm_train  # the built-in lines, the reviews


def test_the_quick_run_writes_every_example(quick):
    out, results, _ = quick
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    report = (out / "report.md").read_text()
    for sentence in (examples.FRANCE, examples.NOTHING, *examples.FOOD, examples.FRENCH, examples.FOX):
        assert sentence in report
    cloze = results["cloze"]
    for prompt in ("full", "short"):
        lm = [p for _, p in cloze[prompt]["lm_top"]]
        assert len(lm) == examples.TOP and lm == sorted(lm, reverse=True) and 0 < sum(lm) <= 1 + 1e-6
    assert {m: [p["text"] for p in ps] for m, ps in results["sentiment"].items()} == {
        m: [examples.NOTHING, *examples.FOOD] for m in ("sentiment", "bow")}
    for p in results["sentiment"]["bow"] + results["sentiment"]["sentiment"]:
        assert math.isclose(sum(p["probs"].values()), 1.0, rel_tol=1e-5)
    assert {"greedy", "beam"} <= set(results["translation"]) and results["translation"]["greedy"]["translation"]
    speech = results["speech"]
    assert speech["reference"] == "the quick brown fox jumps over the lazy dog" and speech["held_out"]
    assert Path(speech["wav"]).is_file() and all(0 <= speech[d]["cer"] for d in ("greedy", "beam_lm"))
    assert len(results["claims"]) == 2 and (out / "cloze.png").is_file()


def test_the_bigram_sees_only_the_previous_word(quick):
    """After the whole context and after "I speak fluent" alone the previous-word model answers the same
    (it reads only "fluent"); the LM's answers are reported for both."""
    cloze = quick[1]["cloze"]
    assert cloze["full"]["bigram_previous"] == cloze["short"]["bigram_previous"] == "fluent"
    assert cloze["full"]["bigram_top"] == cloze["short"]["bigram_top"]
    assert cloze["full"]["tokens"][-3:] == cloze["short"]["tokens"] and len(cloze["full"]["tokens"]) > 3


def test_a_bag_of_words_cannot_tell_the_food_pair_apart(quick):
    good, bad = quick[1]["sentiment"]["bow"][1:]
    assert good["probs"] == pytest.approx(bad["probs"], abs=1e-6)


def test_bigram_next_is_the_add_k_previous_word_model():
    ids = torch.tensor([5, 6, 7, 5, 6, 6, 8, 5, 7, 3, 5, 6])
    counts, k = NGramCounts.fit(ids, 9), 0.1
    probs = examples.bigram_next(counts, k, 5)
    every = torch.arange(9)
    direct = bigram_log_probs(counts, torch.stack([torch.full((9,), 5), every], 1).reshape(-1), k)[::2].exp()
    kept = (every >= len(SPECIALS)) | (every == EOS)
    assert float(probs.sum()) == pytest.approx(1.0) and bool((probs[~kept] == 0).all())
    assert (probs[kept] / direct[kept]).tolist() == pytest.approx([float(probs[6] / direct[6])] * int(kept.sum()))
    assert int(probs.argmax()) == 6 and examples.rank_of(probs, 7) == 2  # "5 6" thrice, "5 7" once


def test_given_models_are_used_instead_of_training(quick, tmp_path, capsys):
    out = quick[0]
    dirs = [out / slot for slot in examples.SLOTS]
    assert examples.given_models(dirs) == {slot: out / slot for slot in examples.SLOTS}
    with pytest.raises(ValueError, match="two lm models"):
        examples.given_models([out / "lm", out / "lm"])
    assert main(["experiment", "examples", "--quick", "--out", str(tmp_path / "again"), "--models",
                 *map(str, dirs)]) == 0
    results = json.loads((tmp_path / "again" / "results.json").read_text())
    assert results["given"] == sorted(examples.SLOTS) and not (tmp_path / "again" / "lm").exists()
    assert results["cloze"]["full"]["lm_top"] == quick[1]["cloze"]["full"]["lm_top"]
    assert "France cloze" in capsys.readouterr().out
