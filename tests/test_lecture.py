"""The lecture view's server side (serve/lecture.py): the cards' sentences come from the experiments, a card
names the served model of its role or the command that trains it, and `--examples` folders resolve to the
experiments' model directories. The page itself is tested in a browser in tests/test_page.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from rnnkit.cli import main
from rnnkit.experiments.cloze_data import LECTURE
from rnnkit.experiments.examples import FOOD, FOX, FRENCH, NOTHING
from rnnkit.serve.lecture import CARDS, CLOZE, EXAMPLES, card_json, example_dirs, role_model
from rnnkit.serve.registry import load_models


def _served(name: str, task: str, cell: str | None) -> SimpleNamespace:
    return SimpleNamespace(name=name, task=task, cell=cell)


def test_the_cards_hold_the_lecture_sentences_of_the_experiments():
    inputs = {card.id: card.inputs for card in CARDS}
    assert inputs == {"nothing": (NOTHING,), "food": FOOD, "france": (LECTURE["text"],), "french": (FRENCH,),
                      "fox": (FOX,)}
    assert all(2 <= len(card.look) <= 3 for card in CARDS)


def test_a_card_takes_the_model_of_its_role_or_says_which_command_trains_it():
    models = [_served("lm", "lm", "lstm"), _served("cloze-gru", "lm", "gru"), _served("reviews", "sentiment", "gru"),
              _served("cloze-rnn", "lm", "rnn"), _served("cloze-lstm", "lm", "lstm")]
    assert role_model(models, "lm").name == "cloze-gru"  # the cloze GRU first: it learned the France cloze
    assert role_model(models, "sentiment").name == "reviews" and role_model(models, "bow") is None
    cards = {card.id: card_json(card, models, None) for card in CARDS}
    assert cards["france"]["model"] == "cloze-gru" and cards["france"]["baseline"] == "cloze-gru"
    assert cards["france"]["missing"] is None and cards["france"]["answer"] == LECTURE["answer"]
    assert cards["france"]["compare"] == {"a": "cloze-rnn", "b": "cloze-lstm"}
    assert cards["food"]["model"] == "reviews" and cards["food"]["baseline"] is None
    assert EXAMPLES in cards["food"]["missing"]  # no bag of words served
    assert EXAMPLES in cards["fox"]["missing"] and cards["fox"]["audio"] is None
    assert CLOZE in card_json(CARDS[2], [], None)["missing"]


def test_examples_folders_resolve_to_the_experiments_model_directories(tmp_path):
    examples = tmp_path / "examples"
    for slot in ("sentiment", "bow", "speech"):
        (examples / slot).mkdir(parents=True)
        (examples / slot / "config.json").write_text("{}", encoding="utf-8")
    (examples / "fox" / "wav" / "test").mkdir(parents=True)
    (examples / "fox" / "wav" / "test" / "fox.wav").write_bytes(b"RIFF")
    given = tmp_path / "elsewhere" / "translate"  # given with --models: recorded where it is
    recorded = {"experiment": "examples", "speech": {"wav": "fox/wav/test/fox.wav"},
                "models": {"sentiment": "sentiment", "bow": "bow", "translate": str(given), "speech": "speech"}}
    (examples / "results.json").write_text(json.dumps(recorded), encoding="utf-8")
    cloze = tmp_path / "cloze"
    cloze.mkdir()
    (cloze / "results.json").write_text(json.dumps({"experiment": "cloze", "cells": {"rnn": {"lr": 0.01},
                                                                                      "gru": {"lr": 0.003}}}))
    found, audio = example_dirs([examples, cloze])
    assert found == [("sentiment", examples / "sentiment"), ("bow", examples / "bow"), ("translate", given),
                     ("speech", examples / "speech"),
                     ("cloze-rnn", cloze / "models" / "rnn" / "lr0.01-seed0"),
                     ("cloze-gru", cloze / "models" / "gru" / "lr0.003-seed0")]
    assert audio == examples / "fox" / "wav" / "test" / "fox.wav"
    # a run given a relative --out recorded its paths relative to its working directory: found in the folder
    moved = json.loads((examples / "results.json").read_text())
    moved["models"]["sentiment"] = "runs/examples/sentiment"
    moved["speech"]["wav"] = "runs/examples/fox/wav/test/fox.wav"
    (examples / "results.json").write_text(json.dumps(moved), encoding="utf-8")
    found, audio = example_dirs([examples])
    assert found[0] == ("sentiment", examples / "sentiment") and audio == examples / "fox" / "wav" / "test" / "fox.wav"
    with pytest.raises(ValueError, match="no results.json"):
        example_dirs([tmp_path])
    (tmp_path / "results.json").write_text(json.dumps({"experiment": "gates"}), encoding="utf-8")
    with pytest.raises(ValueError, match="holds the 'gates' experiment"):
        example_dirs([tmp_path])


def test_serve_without_models_or_examples_says_what_to_give(capsys, tmp_path):
    assert main(["serve"]) == 1
    assert "--examples" in capsys.readouterr().err
    assert main(["serve", "--examples", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "no results.json" in err and EXAMPLES in err and len(err.splitlines()) == 1


def test_a_directory_named_like_an_examples_model_is_refused_in_one_line():
    with pytest.raises(ValueError, match="two served models would be named 'sentiment'"):
        load_models([Path("a/sentiment"), Path("b/sentiment")], ["sentiment", "sentiment"])
