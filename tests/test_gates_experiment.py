"""The gates experiment: the positions it compares, its statistics on known effects, and a quick run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.experiments import gates
from rnnkit.experiments.gate_stats import (
    DROP,
    boundary_positions,
    by_token,
    contrast,
    marker_positions,
    memory_correlation,
)
from rnnkit.experiments.gates_report import also_closing
from rnnkit.experiments.record import compact
from rnnkit.inspect import trace_encoder
from rnnkit.nn import Recurrent


def test_sentence_boundaries_are_found_at_the_right_tokens():
    tokens = ["she", "said", "so", ".", "<eos>", '"', "mr", ".", "darcy", "came", "!", '"', "then", ",", "he",
              "left", "?", "yes"]
    where = boundary_positions(tokens)
    assert where["end"] == [3, 10, 16]  # "mr ." (7) is an abbreviation, not a sentence end
    assert where["first"] == [6, 12, 17]  # skipping <eos> and quotes; "mr" is the first word of the new sentence
    assert where["inside"] == [0, 1, 2, 8, 9, 14, 15]  # words only: not ".", ",", quotes or <eos>
    assert not set(where["first"]) & set(where["inside"])
    assert where["punctuation"] == [5, 7, 11, 13]  # quotes, the dot of "mr .", the comma: no sentence ends


def test_markers_split_each_sequence_into_marker_between_and_after():
    markers = np.zeros((6, 2))  # (T, B)
    markers[[1, 4], 0] = 1  # sequence 0: marked at steps 1 and 4
    markers[[0, 2], 1] = 1  # sequence 1: marked at steps 0 and 2
    where = marker_positions(markers)  # flat index = t * B + b
    assert where["marker"].tolist() == [1, 2, 5, 8]  # (0, 1), (1, 0), (2, 1), (4, 0)
    assert where["between"].tolist() == [3, 4, 6]  # (1, 1), (2, 0), (3, 0)
    assert where["after"].tolist() == [7, 9, 10, 11]  # (3, 1), (4, 1), (5, 0), (5, 1)


def test_a_unit_that_holds_the_first_number_correlates_with_it_and_one_that_forgets_does_not():
    rng = np.random.default_rng(1)
    T, B = 12, 200
    markers = np.zeros((T, B))
    first = rng.integers(0, 6, B)
    second = rng.integers(6, T, B)
    markers[first, np.arange(B)] = 1
    markers[second, np.arange(B)] = 1
    values = rng.random((T, B))
    h = 0.1 * rng.standard_normal((T, B, 2))
    for b in range(B):  # unit 0 writes the first number and keeps it; unit 1 only sees the current input
        h[first[b]:, b, 0] += values[first[b], b]
        h[:, b, 1] += values[:, b]
    where = marker_positions(markers)
    assert (where["first"] == first).all() and (where["second"] == second).all()
    r = memory_correlation(h, values, where["first"], where["second"])
    assert r[0] > 0.9 and abs(r[1]) < 0.25


def test_contrast_finds_exactly_the_unit_that_drops():
    rng = np.random.default_rng(0)
    values = 0.8 + 0.05 * rng.standard_normal((400, 6))
    at = np.arange(0, 400, 10)
    rest = np.setdiff1d(np.arange(400), at)
    values[at, 2] -= 0.5  # unit 2 closes at the marked positions
    c = contrast(values, at, rest, permutations=200)
    assert c["dropping"] == [2]
    assert c["unit_difference"][2] == pytest.approx(-0.5, abs=0.03)
    assert c["difference"] == pytest.approx(-0.5 / 6, abs=0.01) and c["p_value"] < 0.01
    null = contrast(0.8 + 0.05 * rng.standard_normal((400, 6)), at, rest, permutations=200)
    assert null["dropping"] == [] and null["largest_drop"] > -DROP


def test_a_hand_set_forget_gate_is_seen_closing_at_the_sentence_ends_of_its_trace():
    """An LSTM whose forget gate is σ(−8) ≈ 0 when input 0 is on and σ(4) otherwise: traced on a token stream
    with that input on at the sentence ends only, every unit must drop there (an off-by-one would miss)."""
    tokens = "it was late . the rain fell hard . we went home ! and slept".split()
    where = boundary_positions(tokens)
    layer = Recurrent("lstm", 2, 3, batch_first=True)
    H = 3
    with torch.no_grad():
        layer.weight_ih_l0.zero_()
        layer.weight_hh_l0.zero_()
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
        layer.weight_ih_l0[H:2 * H, 0] = -12.0  # forget rows read input 0
        layer.bias_ih_l0[H:2 * H] = 4.0
    x = torch.zeros(1, len(tokens), 2)
    x[0, where["end"], 0] = 1.0
    x[0, :, 1] = 1.0
    f = trace_encoder(layer, x)[0].get().gates["f"]  # (T, H)
    c = contrast(f, where["end"], where["inside"], permutations=100)
    assert sorted(c["dropping"]) == [0, 1, 2]
    assert c["mean_at"] == pytest.approx(torch.sigmoid(torch.tensor(-8.0)).item(), abs=1e-4)
    after = contrast(f, where["first"], where["inside"], permutations=100)
    assert after["dropping"] == []  # the gate opens again on the next word


def test_quick_run_writes_results_plots_and_report(tmp_path, capsys):
    out = tmp_path / "gates"
    assert main(["experiment", "gates", "--quick", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["experiment"] == "gates" and results["quick"]
    assert results["plots"] == ["forget_passage.png", "forget_units.png", "update_gate.png"]
    assert all((out / p).stat().st_size > 10_000 for p in results["plots"])
    forget = results["forget"]["seeds"][0]
    assert set(forget["models"]) == {"trained", "untrained"}
    assert {"end", "first", "specific", "sentence_units"} <= set(forget["models"]["trained"])
    passage = forget["passage"]
    assert len(passage["tokens"]) == len(passage["trained"]) == len(passage["untrained"])
    assert len(results["claims"]) == 1 + len(results["update"])
    assert {c["rule"] for c in results["claims"]} == {r.name for r in gates.RULES}
    report = (out / "report.md").read_text()
    assert "What you see" in report and "![update gate](update_gate.png)" in report
    kept = compact(results, gates.TRACES)  # what the repository keeps: no traces
    assert gates.report(kept) == report and gates.claims(kept) == results["claims"]
    assert "What the gates do" in capsys.readouterr().out


def test_units_that_close_at_every_comma_are_reported_as_reacting_to_punctuation_not_only_sentences():
    tokens = "yes , she said . mr . darcy came , and went . then".split()
    f = np.full((len(tokens), 2), 0.9)
    closes = [t for t, tok in enumerate(tokens) if tok in {",", "."}]
    f[closes, 0] = 0.1  # unit 0 closes at every comma and dot; unit 1 never
    kinds = {k["kind"]: k for k in by_token(tokens, f, [0])}
    assert kinds["sentence end . ! ?"]["n"] == 2 and kinds["the dot after Mr/Mrs/Dr/St"]["n"] == 1
    commas = kinds["commas, semicolons, colons"]
    assert commas["reset_units"] == pytest.approx(0.1) and commas["all_units"] == pytest.approx(0.5)
    assert also_closing(list(kinds.values())) == ["the dot after Mr/Mrs/Dr/St", "commas, semicolons, colons"]
    f[[1, 9], 0] = 0.9  # now it ignores commas: only the dots remain
    assert also_closing(by_token(tokens, f, [0])) == ["the dot after Mr/Mrs/Dr/St"]
