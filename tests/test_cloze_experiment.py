"""The cloze experiment: its generated text keeps test combinations out of training, the lecture's sentence is
scored exactly, and the previous-word model sees only "fluent"."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.cli import main
from rnnkit.experiments import cloze
from rnnkit.experiments.cloze_data import CITIES, COUNTRIES, LECTURE, combinations, corpus, items, line
from rnnkit.models.ngram import NGramCounts, bigram_log_probs
from rnnkit.text import EOS, SPECIALS


def test_the_lecture_s_sentence_is_a_held_out_test_item():
    assert LECTURE["text"] == "France is where I grew up, but I now live in Boston. I speak fluent"
    prompt, answer = line(LECTURE["country"], LECTURE["city"], LECTURE["cue"], [])
    assert prompt == "france is where i grew up , but i now live in boston . i speak fluent" and answer == "french"
    split = combinations()
    assert ("france", "boston") in split["test"]
    assert not set(split["train"]) & set(split["test"]) and not set(split["train"]) & set(split["val"])
    trained = {c for c, _ in split["train"]} | {city for _, city in split["train"]}
    assert set(COUNTRIES) | set(CITIES) <= trained  # every name is seen in training, only the pairs are new


def test_a_distractor_never_speaks_the_answer(tmp_path):
    for it in items("test", (0, 3), 50):
        assert it["distractor_language"] != it["answer"] and it["prompt"].endswith("i speak fluent")
        assert it["prompt"].count(" . ") == it["fillers"] + 1  # the cue sentence, then one per filler
    folder = corpus(tmp_path, lines=200, eval_lines=20, fillers=(0, 3), short_share=0.75)
    train = (folder / "wiki.train.tokens").read_text()
    assert "boston" in train and "france" in train
    assert "france is where i grew up , but i now live in boston" not in train  # the lecture's pair: test only


def test_bigram_next_is_the_add_k_previous_word_model():
    ids = torch.tensor([5, 6, 7, 5, 6, 6, 8, 5, 7, 3, 5, 6])
    counts, k = NGramCounts.fit(ids, 9), 0.1
    probs = cloze.bigram_next(counts, k, [5])[0]
    every = torch.arange(9)
    direct = bigram_log_probs(counts, torch.stack([torch.full((9,), 5), every], 1).reshape(-1), k)[::2].exp()
    kept = (every >= len(SPECIALS)) | (every == EOS)
    assert float(probs.sum()) == pytest.approx(1.0) and bool((probs[~kept] == 0).all())
    assert (probs[kept] / direct[kept]).tolist() == pytest.approx([float(probs[6] / direct[6])] * int(kept.sum()))
    assert int(probs.argmax()) == 6 and cloze.rank_of(probs, 7) == 2  # "5 6" thrice, "5 7" once


def test_quick_run_scores_the_lecture_s_sentence_under_every_model(tmp_path, capsys):
    out = tmp_path / "cloze"
    assert main(["experiment", "cloze", "--quick", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["cells"]) == set(cloze.CELLS)
    for cell in results["cells"].values():
        lecture = cell["seeds"][0]["lecture"]
        assert 0 <= lecture["p"] <= 1 and lecture["rank"] >= 1 and len(lecture["top"]) == 5
    assert results["bigram"]["lecture"]["top"][0][0] in COUNTRIES.values()  # after "fluent": some language
    assert [c["rule"] for c in results["claims"]] == [r.name for r in cloze.RULES]
    assert LECTURE["text"] in capsys.readouterr().out
