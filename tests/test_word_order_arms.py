"""The word-order capacity arm: contrast pairs to train on, unseen triples and template to test on."""

from __future__ import annotations

from collections import Counter

import pytest

from rnnkit.data import load_text_classification
from rnnkit.experiments.arms import train_sentiment_arm
from rnnkit.experiments.contrast_pairs import (
    HELD_OUT_TEMPLATE,
    LECTURE_PAIR,
    LECTURE_TRIPLE,
    TEMPLATES,
    capacity_split,
    capacity_words,
    check_bag_of_words,
    lecture_pair,
    score,
    write_pairs_csv,
)
from rnnkit.experiments.rules import at_chance
from rnnkit.tasks.sentiment import SentimentOptions, SentimentPredictor
from rnnkit.text.tokenize import build_tokenizer
from rnnkit.train.config import TrainConfig

WORDS = {"nouns": ["film", "plot", "cast", "music"], "positive": ["great", "funny", "smart"],
         "negative": ["dull", "awful", "flat"]}
TOKENIZE = build_tokenizer("word", lowercase=True).tokenize


def test_the_lecture_pair_is_template_zero_with_the_lecture_words():
    noun, good, bad = LECTURE_TRIPLE
    assert TOKENIZE(LECTURE_PAIR["positive"]) == TOKENIZE(TEMPLATES[0].format(noun=noun, x=good, y=bad))
    assert TOKENIZE(LECTURE_PAIR["negative"]) == TOKENIZE(TEMPLATES[0].format(noun=noun, x=bad, y=good))


def test_capacity_words_add_the_lecture_words_once():
    words = capacity_words(WORDS)
    assert words["nouns"] == [*WORDS["nouns"], "food"] and words["positive"][-1] == "good"
    again = capacity_words(words)
    assert again == words


def test_capacity_split_tests_on_triples_and_a_template_never_trained_on():
    split = capacity_split(WORDS, 40, seed=3)
    triples = {name: {tuple(p["words"]) for p in split[name]} for name in ("train", "val", "test")}
    assert not triples["test"] & triples["train"] and not triples["test"] & triples["val"]
    assert not triples["val"] & triples["train"]
    held_out = {tuple(p["words"]) for p in split["held_out_template"]}
    assert held_out and not held_out & triples["train"] and not held_out & triples["val"]
    for name in ("train", "val", "test"):
        assert HELD_OUT_TEMPLATE not in {p["template"] for p in split[name]}
    assert {p["template"] for p in split["held_out_template"]} == {HELD_OUT_TEMPLATE}
    assert len(split["train"]) == 40 and len(split["val"]) == 4 and len(split["test"]) == 13
    n = 5 * 4 * 4  # nouns (with food) × positive (with good) × negative (with bad)
    assert sum(split["triples"].values()) == n and split["triples"]["test"] == round(0.2 * n)
    for p in (*split["train"], *split["test"], *split["held_out_template"]):  # a pair: one bag, opposite labels
        assert Counter(TOKENIZE(p["positive"])) == Counter(TOKENIZE(p["negative"])) and p["positive"] != p["negative"]
    lecture = capacity_split(WORDS, 10_000, seed=3)["test"]
    assert any(tuple(p["words"]) == LECTURE_TRIPLE for p in lecture)  # the lecture's triple is always a test one
    assert capacity_split(WORDS, 40, seed=3) == split and capacity_split(WORDS, 40, seed=4) != split


def test_capacity_split_refuses_too_few_triples():
    with pytest.raises(ValueError, match="too few"):
        capacity_split({"nouns": ["food"], "positive": ["good"], "negative": ["bad"]}, 10)


def test_a_bag_of_words_trained_on_pairs_gets_exactly_one_member_right(tmp_path):
    split = capacity_split(WORDS, 60, seed=0)
    files = {name: str(write_pairs_csv(tmp_path / f"{name}.csv", split[name])) for name in ("train", "val", "test")}
    data = load_text_classification(None, **files)
    assert data.labels == ["negative", "positive"] and len(data.train) == 120 and len(data.test) == 2 * 20
    opts = SentimentOptions(data=None, model="bow", min_freq=1, **files)
    trained = train_sentiment_arm(opts, TrainConfig(epochs=2, progress=False), tmp_path / "bow", log=lambda _: None)
    predictor = SentimentPredictor(trained["directory"])
    result = score(predictor, split["test"])
    check_bag_of_words("bow", result)
    assert result["sentence_accuracy"] == 0.5 and trained["accuracy"] == 0.5
    pair = lecture_pair(predictor)
    assert pair["positive"]["p_positive"] == pytest.approx(pair["negative"]["p_positive"], abs=1e-6)
    assert pair["positive"]["unknown_tokens"] == 0  # food / good / bad are in every capacity arm's vocabulary


def test_the_bag_of_words_check_refuses_anything_but_exactly_one_right():
    check_bag_of_words("bow", {"both_right": 0, "both_wrong": 0, "sentence_accuracy": 0.5})
    for bad in ({"both_right": 1, "both_wrong": 1, "sentence_accuracy": 0.5},
                {"both_right": 0, "both_wrong": 2, "sentence_accuracy": 0.4}):
        with pytest.raises(AssertionError, match="exactly one right"):
            check_bag_of_words("bow", bad)


def _pairs(both_right: int, n: int = 100) -> dict:
    return {"both_right": both_right, "pairs": n}


def test_at_chance_is_within_two_standard_errors_of_a_coin():
    assert at_chance(0.5, 100) and at_chance(0.598, 100) and not at_chance(0.6, 100)
    assert at_chance(0.3, 100)  # below chance is no better than chance
