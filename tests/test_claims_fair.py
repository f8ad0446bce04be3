"""The verdict rules, each on results made by hand: what decides "holds", "does not hold" and "undecided".

Each test would fail on the verdicts the audit of issue 28 found saying more than their data: a verdict that
rests on one seed, a speed verdict that hides the defaults, an untrained run that "does not hold", a forget
gate that closes at every comma, a length sweep on shrinking subsets at chance.
"""

import pytest

from rnnkit.experiments import cloze, gates, gradient_flow, long_reviews, lstm_vs_gru, word_order
from rnnkit.experiments.bottleneck import _claim, within_domain
from rnnkit.experiments.lstm_vs_gru_speed import speed_claims
from rnnkit.experiments.rules import claims_section


# ------------------------------------------------------------------------------------------------- speed
def _speed(reference_gru: float, default_gru: float, step_gru: float, sizes=(8,)) -> dict:
    times = {name: {} for name in ("reference", "reference/lengths", "default", "default/lengths", "step")}
    for H in sizes:
        for name, gru in (("reference", reference_gru), ("reference/lengths", reference_gru),
                          ("default", default_gru), ("default/lengths", default_gru), ("step", step_gru)):
            times[name].update({f"lstm@{H}": 10.0, f"gru@{H}": gru})
    times["ran"] = {f"default|lstm@{sizes[0]}": "fused"}
    return {"speed": {"written": "2026-12-06T00:00:00+0000", "source": {"commit": "abc"}, "load": [0.1, 0.2],
                      "quiet": True, "machine": {"cores": 2}, "torch_threads": 1, "sizes": list(sizes),
                      "times": times}}


def test_speed_is_judged_on_the_same_code_and_on_the_defaults_separately():
    same, defaults = speed_claims(_speed(reference_gru=8.0, default_gru=12.5, step_gru=12.0))
    assert same["holds"] is True and "reference ×1.25" in same["verdict"]
    assert defaults["holds"] is False and "default ×0.80" in defaults["verdict"]  # the LSTM wins with the defaults
    assert same["rule"] != defaults["rule"]


def test_a_split_default_verdict_names_where_the_gru_is_not_faster():
    _, defaults = speed_claims(_speed(reference_gru=8.0, default_gru=8.0, step_gru=12.0))
    assert defaults["holds"] is None and "not faster in step at H=8" in defaults["verdict"]


def test_speed_without_a_timing_by_this_code_awaits_one():
    for claim in speed_claims({"implementations": {"reference": {"lstm@8": 10.0, "gru@8": 8.0}}}):
        assert claim["holds"] is None and "--retime lstm-vs-gru" in claim["verdict"]


def _quality(lstm: dict, gru: dict, seeds: int = 3) -> dict:
    """lstm-vs-gru results whose rows carry (mean, std) accuracies per task."""
    def row(cell, sizing, hidden, accuracies):
        return {"cell": cell, "sizing": sizing, "hidden_size": hidden, "seeds": seeds,
                **{f"{t}_accuracy": v for t, v in accuracies.items()}}

    return {"summary": [row("lstm", "both", 8, lstm), row("gru", "equal parameters", 9, gru)]}


def test_lstm_vs_gru_quality_is_judged_per_task_against_the_seeds_spread():
    # sentiment: +0.03 beyond a spread of 0.005; activity: +0.01 inside a spread of 0.02 → undecided there
    quality = lstm_vs_gru.quality_claim(_quality({"sentiment": (0.78, 0.003), "signal": (0.90, 0.01)},
                                                 {"sentiment": (0.75, 0.004), "signal": (0.89, 0.02)}))
    assert quality["holds"] is True
    assert "difference +0.0300 vs spread 0.0050 — LSTM better" in quality["verdict"]
    assert "activity test accuracy" in quality["verdict"] and "undecided, within the spread" in quality["verdict"]
    split = lstm_vs_gru.quality_claim(_quality({"sentiment": (0.78, 0.0), "signal": (0.80, 0.0)},
                                               {"sentiment": (0.75, 0.0), "signal": (0.85, 0.0)}))
    assert split["holds"] is None and "GRU better" in split["verdict"]  # one task each way: undecided overall
    one_seed = lstm_vs_gru.quality_claim(_quality({"sentiment": (0.80, 0.0), "signal": (0.95, 0.0)},
                                                  {"sentiment": (0.70, 0.0), "signal": (0.85, 0.0)}, seeds=1))
    assert one_seed["holds"] is None and "rests on one seed" in one_seed["verdict"]


# ------------------------------------------------------------------------------------------------- gradient flow
def _flow(rnn: list[float], lstm: list[float], solved: bool = True) -> dict:
    def cell(factors):
        seeds = [{"seed": s, "solved": solved, "decay": {state: {"h": {"per_step_factor": f}} for state in
                                                           ("untrained", "trained")}} for s, f in enumerate(factors)]
        return {"seeds": seeds}

    return {"setup": {"T": 11}, "cells": {"rnn": cell(rnn), "lstm": cell(lstm)}}


def test_gradient_flow_needs_three_seeds_and_models_that_learned():
    untrained, trained = gradient_flow.claims(_flow([0.5, 0.6, 0.5], [0.9, 0.9, 0.95]))
    assert untrained["holds"] is True and trained["holds"] is True
    assert gradient_flow.claims(_flow([0.5], [0.9]))[0]["holds"] is None  # one seed
    _, unlearned = gradient_flow.claims(_flow([0.5, 0.6, 0.5], [0.9, 0.9, 0.95], solved=False))
    assert unlearned["holds"] is None and "not solved, left out" in unlearned["verdict"]
    assert gradient_flow.claims(_flow([0.95, 0.96, 0.5], [0.9, 0.9, 0.95]))[0]["holds"] is False


# ------------------------------------------------------------------------------------------------- bottleneck
def test_bottleneck_is_judged_within_each_domain():
    def arm(short, long):
        return {"per_domain_bucket": {"bible": {"1-10": {"bleu": short}, "31+": {"bleu": long}}}}

    # Pooled over domains this could look like anything; within the Bible both arms without attention lose more.
    arms = {"attention": arm(30.0, 27.0), "no attention": arm(20.0, 10.0), "plain encoder–decoder": arm(18.0, 6.0)}
    within = within_domain(arms)
    assert within["bible"]["holds"] is True and round(within["bible"]["drops"]["attention"], 2) == 0.1
    assert _claim(within) is True
    arms["plain encoder–decoder"] = arm(18.0, 17.5)  # the plain model barely loses: the claim fails here
    assert _claim(within_domain(arms)) is False
    for a, drop in zip(arms.values(), (27.0, 10.0, 6.0), strict=True):  # a second domain where the claim holds
        a["per_domain_bucket"]["libreoffice"] = {"1-10": {"bleu": 30.0}, "31+": {"bleu": drop}}
    within = within_domain(arms)
    assert within["libreoffice"]["holds"] is True and within["bible"]["holds"] is False
    assert _claim(within) is None  # the domains disagree: the run cannot decide


# ------------------------------------------------------------------------------------------------- word order
def _pairs(both_right: int, n: int = 100) -> dict:
    return {"both_right": both_right, "both_wrong": 0, "pairs": n, "sentence_accuracy": 0.5}


def _word_order(capacity_lstm: list[int], transfer_lstm: list[int], review_accuracy: float = 0.75) -> dict:
    def cap(values):
        return [{"seed": s, "test": _pairs(v), "held_out_template": _pairs(10)} for s, v in enumerate(values)]

    def transfer(values, accuracy):
        return [{"seed": s, **_pairs(v), "test_accuracy": accuracy, "test_examples": 1000,
                 "at_chance": accuracy < 0.54} for s, v in enumerate(values)]

    seeds = len(capacity_lstm)
    return {"capacity": {"arms": {"bow": {"bag_only": True, "lr": 1e-3, "seeds": cap([0] * seeds)},
                                  "lstm": {"bag_only": False, "lr": 1e-3, "seeds": cap(capacity_lstm)}},
                         "sizes": {"train": 300, "test": 100}},
            "arms": {"bow": {"bag_only": True, "model": "bow", "seeds": transfer([0] * seeds, 0.76)},
                     "lstm": {"bag_only": False, "model": "lstm", "seeds": transfer(transfer_lstm, review_accuracy)}},
            "setup": {"capacity_epochs": 10}, "data": "rt-polarity"}


def test_word_order_verdicts_separate_capacity_from_transfer():
    bow, capacity, transfer = word_order.claims(_word_order([97, 99, 95], [12, 20, 15]))
    assert bow["holds"] is True and "capacity bow: 0, 0, 0 of 100" in bow["verdict"]
    assert capacity["holds"] is True and "97 %" in capacity["verdict"]
    assert "trained on reviews, transfers to contrast pairs" in transfer["claim"] and transfer["holds"] is False
    _, capacity, transfer = word_order.claims(_word_order([40, 60, 97], [60, 70, 55]))
    assert capacity["holds"] is None and transfer["holds"] is True
    _, capacity, _ = word_order.claims(_word_order([97], [12]))
    assert capacity["holds"] is None and "rests on one seed" in capacity["verdict"]


def test_a_transfer_reader_at_chance_on_reviews_decides_nothing():
    # the audit: an untrained quick run printed "does not hold"; a reader that never learned reviews is no evidence
    _, _, transfer = word_order.claims(_word_order([97, 99, 95], [0, 1, 0], review_accuracy=0.51))
    assert transfer["holds"] is None and "at chance on the review test split" in transfer["verdict"]


# ------------------------------------------------------------------------------------------------- long sequences
def _run(accuracy: float, seed: int, n: int = 1000) -> dict:
    from rnnkit.experiments.rules import at_chance

    se = (accuracy * (1 - accuracy) / n) ** 0.5
    return {"seed": seed, "accuracy": accuracy, "standard_error": se, "at_chance": at_chance(accuracy, n)}


def _sweep(rnn: tuple[float, float], gated: tuple[float, float], bow: float = 0.7) -> dict:
    arms = {}
    for length, r, g in zip(("50", "400"), rnn, gated, strict=True):
        arms[length] = {"bow": [_run(bow, s) for s in range(3)], "rnn": [_run(r, s) for s in range(3)],
                        "lstm": [_run(g, s) for s in range(3)], "gru": [_run(g - 0.02, s) for s in range(3)]}
    return {"arms": arms}


def test_long_sequences_verdict_needs_learning_at_the_short_end():
    assert long_reviews.claims(_sweep(rnn=(0.70, 0.55), gated=(0.72, 0.70)))[0]["holds"] is True
    assert long_reviews.claims(_sweep(rnn=(0.70, 0.71), gated=(0.72, 0.70)))[0]["holds"] is False
    stuck = long_reviews.claims(_sweep(rnn=(0.51, 0.50), gated=(0.72, 0.70)))[0]
    assert stuck["holds"] is None and "at chance at the shortest length: rnn seed 0" in stuck["verdict"]
    assert long_reviews.claims(_sweep(rnn=(0.70, 0.68), gated=(0.72, 0.70)))[0]["holds"] is None  # within the noise


# ------------------------------------------------------------------------------------------------- gates
def _forget(trained_sentence_units: list[int], untrained: int = 0) -> dict:
    def model(units):
        return {"sentence_units": list(range(units)), "end": {"dropping": list(range(units + 2))}}

    seeds = [{"seed": s, "models": {"trained": model(t), "untrained": model(untrained)}, "by_token": []}
             for s, t in enumerate(trained_sentence_units)]
    return {"setup": {"hidden_size": 128}, "forget": {"lr": 3e-3, "seeds": seeds}}


def test_the_forget_gate_claim_needs_units_that_close_more_at_sentence_ends_than_at_punctuation():
    assert gates.forget_claim(_forget([3, 2, 4]))["holds"] is True
    punctuation = gates.forget_claim(_forget([0, 0, 1]))  # units close at ends, but as much at commas
    assert punctuation["holds"] is False and "they mark punctuation, not sentences" in punctuation["verdict"]
    assert gates.forget_claim(_forget([3]))["holds"] is None  # one seed


# ------------------------------------------------------------------------------------------------- cloze
def _cloze(rnn: tuple[float, float], lstm: tuple[float, float], bigram: float = 0.05, seeds: int = 3) -> dict:
    def cell(short, long):
        return {"seeds": [{"by_fillers": {"0": {"accuracy": short}, "10": {"accuracy": long}}} for _ in range(seeds)]}

    return {"setup": {"fillers": [0, 10]}, "data": {"tokens_to_blank": {"0": 15.0, "10": 80.0}},
            "bigram": {"by_fillers": {"0": {"accuracy": bigram}, "10": {"accuracy": bigram}}},
            "cells": {"rnn": cell(*rnn), "lstm": cell(*lstm), "gru": cell(*lstm)}}


def test_the_cloze_carries_the_cue_and_the_plain_rnn_loses_it_first():
    carry, first = cloze.claims(_cloze(rnn=(0.6, 0.06), lstm=(0.8, 0.7)))
    assert carry["holds"] is True and first["holds"] is True
    _, level = cloze.claims(_cloze(rnn=(0.8, 0.68), lstm=(0.8, 0.7)))
    assert level["holds"] is False
    carry, unlearned = cloze.claims(_cloze(rnn=(0.05, 0.05), lstm=(0.06, 0.05)))
    assert carry["holds"] is False and unlearned["holds"] is None
    assert "did not learn the cloze even at the shortest distance" in unlearned["verdict"]
    assert cloze.claims(_cloze(rnn=(0.6, 0.06), lstm=(0.8, 0.7), seeds=1))[1]["holds"] is None


def test_a_verdict_that_names_its_own_outcome_is_not_prefixed_twice():
    said = claims_section([{"claim": "c", "holds": None, "verdict": "undecided at this budget — x", "rule": "r"},
                           {"claim": "d", "holds": True, "verdict": "3 of 4 seeds", "rule": "r"}])
    assert said == ["- **c** — undecided at this budget — x", "- **d** — holds: 3 of 4 seeds"]


@pytest.mark.parametrize("module", [cloze, gates, gradient_flow, long_reviews, lstm_vs_gru, word_order])
def test_every_claim_names_a_rule_of_its_module(module):
    names = {rule.name for rule in module.RULES}
    assert names and all(name.split("/")[0] in (module.__name__.split(".")[-1].replace("_", "-"),)
                         for name in names)
