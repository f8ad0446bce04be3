"""The long-memory experiment's bookkeeping: per-cell learning rate, majority-of-seeds verdicts, the sweep's stop,
the rules that judge it, and a sweep resumed from its ledger."""

from rnnkit.experiments import long_memory
from rnnkit.experiments.long_memory import at_200, first_to_fail, verdict


def _run(T, seed, solved, cell="rnn", task="adding"):
    return {"task": task, "cell": cell, "T": T, "seed": seed, "solved": solved}


def test_a_length_counts_when_most_seeds_solve_it():
    runs = [_run(5, 0, True), _run(5, 1, True), _run(5, 2, False),
            _run(10, 0, True), _run(10, 1, False), _run(10, 2, False)]
    v = verdict(runs, "adding", "rnn", (5, 10, 20))
    assert v["reach"] == 5 and v["breaks_at"] == 10
    assert v["per_seed"] == [10, 5, 0]
    assert v["text"] == "solves up to T=5 (per seed: 10, 5, 0)"


def test_a_cell_that_solves_the_longest_length_is_reported_as_beyond_the_sweep():
    runs = [_run(T, seed, True) for T in (5, 10) for seed in (0, 1)]
    v = verdict(runs, "adding", "rnn", (5, 10))
    assert v["reach"] == 10 and v["breaks_at"] is None
    assert v["text"] == "solves every length tried, up to T=10 (its limit is beyond the sweep) (per seed: 10, 10)"


def test_a_length_not_run_breaks_the_sweep():
    runs = [_run(5, 0, False), _run(5, 1, False)]
    v = verdict(runs, "adding", "rnn", (5, 10))
    assert v["reach"] == 0 and v["breaks_at"] == 5 and v["text"].startswith("solves no length")


def test_learning_rate_is_the_grid_point_with_lowest_validation_error(monkeypatch, tmp_path):
    errors = {1e-3: 0.05, 3e-3: 0.01, 1e-2: 0.2}
    seen = []

    def fake(task, cell, T, *, lr, seed, setup):
        seen.append((T, seed))
        return {"error": errors[lr], "steps": 1, "seconds": 0.0, "stopped": "steps", "first_step_below_10pct": None}

    monkeypatch.setattr(long_memory, "train_one", fake)
    setup = {"lr_grid": (1e-3, 3e-3, 1e-2), "select_T": 10, **{k: long_memory.FULL[k] for k in
                                                                 ("hidden_size", "batch", "steps", "minutes")}}
    ledger = long_memory.Ledger(tmp_path / "runs.jsonl")
    lr, grid = long_memory.choose_cell_lr(ledger, "adding", "lstm", setup, log=lambda _: None)
    assert lr == 3e-3 and grid == {"0.001": 0.05, "0.003": 0.01, "0.01": 0.2}
    assert {s for _, s in seen} == {long_memory.SELECT_SEED} and {T for T, _ in seen} == {10}


def test_quick_run_stops_a_cells_sweep_at_the_first_unsolved_length(tmp_path):
    results = long_memory.run(tmp_path, quick=True, log=lambda _: None)
    for task in long_memory.TASKS:
        for cell in long_memory.CELLS:
            mine = [r for r in results["runs"] if r["task"] == task and r["cell"] == cell]
            Ts = sorted({r["T"] for r in mine})
            for T in Ts[:-1]:
                assert any(r["solved"] for r in mine if r["T"] == T)  # a length was only left after a success
            assert all(r["commit"] == results["source"]["commit"] for r in mine)
            assert len(mine) == len(Ts) * results["setup"]["seeds"]
            assert results["learning_rates"][task][cell]["chosen"] in results["setup"]["lr_grid"]
    assert (tmp_path / "error_vs_length.png").is_file()
    assert "Learning-rate search" in (tmp_path / "report.md").read_text()


def _results(per_seed: dict[str, list[int]], *, task="copy", lengths=(5, 10, 20, 50), seeds=3, runs=None):
    """long-memory results whose verdicts carry only each cell's per-seed reach (as an old results file does)."""
    verdicts = {c: {"reach": sorted(v)[len(v) // 2], "per_seed": v, "breaks_at": None, "text": f"{c} reach {v}"}
                for c, v in per_seed.items()}
    setup = {"lengths": list(lengths), "seeds": seeds, "steps": 100, "lr_grid": [1e-3], "select_T": 5}
    return {"verdicts": {task: verdicts}, "setup": setup, "runs": runs or "(126 values: see the experiment's "
                                                                         "results.json)"}


def test_a_difference_that_rests_on_one_seed_is_undecided():
    # the audit's copy task: rnn 10/10/20 against lstm 20/10/20 — the LSTM out-reaches the RNN in one seed only
    claim = first_to_fail(_results({"rnn": [10, 10, 20], "lstm": [20, 10, 20], "gru": [200] * 3,
                                    "gru-reset-before": [200] * 3}), "copy")
    assert claim["holds"] is None and claim["rule"] == "long-memory/plain-rnn-first"
    assert "lstm 1 of 3" in claim["verdict"] and "rests on fewer than a majority of seeds" in claim["verdict"]
    clear = first_to_fail(_results({"rnn": [20, 10, 20], "lstm": [200] * 3, "gru": [200] * 3,
                                    "gru-reset-before": [100, 200, 200]}), "copy")
    assert clear["holds"] is True
    behind = first_to_fail(_results({"rnn": [50, 50, 50], "lstm": [20, 20, 100], "gru": [200] * 3,
                                     "gru-reset-before": [200] * 3}), "copy")
    assert behind["holds"] is False


def test_fewer_than_three_seeds_decide_nothing():
    claim = first_to_fail(_results({"rnn": [10, 10], "lstm": [200] * 2, "gru": [200] * 2,
                                    "gru-reset-before": [200] * 2}, seeds=2), "copy")
    assert claim["holds"] is None and "rests on 2 seeds" in claim["verdict"]


def test_t200_is_undecided_for_a_cell_that_never_ran_there():
    # the old sweep stopped the Elman RNN at T=50: "did not solve T=200" would speak of runs that never happened
    results = _results({"rnn": [20, 10, 20], "lstm": [200] * 3, "gru": [200] * 3, "gru-reset-before": [200] * 3},
                       task="adding", lengths=(5, 10, 20, 50, 100, 200))
    results["verdicts"]["adding"]["rnn"]["breaks_at"] = 50
    claim = at_200(results)
    assert claim["holds"] is None and "rnn not run at T=200" in claim["verdict"]
    assert "lstm solved by 3 of 3 seeds" in claim["verdict"]


def _run_at(cell, T, seed, solved):
    return {"task": "adding", "cell": cell, "T": T, "seed": seed, "solved": solved}


def test_t200_is_judged_on_the_runs_at_t200():
    lengths = (10, 200)
    runs = [_run_at(c, T, s, c != "rnn" or T == 10) for c in long_memory.CELLS for T in lengths for s in range(3)]
    verdicts = {c: verdict(runs, "adding", c, lengths) for c in long_memory.CELLS}
    results = {"verdicts": {"adding": verdicts}, "runs": runs,
               "setup": {"lengths": list(lengths), "seeds": 3, "steps": 100, "lr_grid": [1e-3], "select_T": 5}}
    claim = at_200(results)
    assert claim["holds"] is True and "rnn solved by 0 of 3 seeds" in claim["verdict"]


def test_the_sweep_runs_a_claims_length_after_a_cells_first_failure(monkeypatch, tmp_path):
    def fake(task, cell, T, *, lr, seed, setup):
        return {"error": 0.0 if T <= 5 else 1.0, "steps": 1, "seconds": 0.0, "stopped": "steps",
                "first_step_below_10pct": None}

    monkeypatch.setattr(long_memory, "train_one", fake)
    monkeypatch.setattr(long_memory, "CLAIM_LENGTHS", {"adding": (40,), "copy": ()})
    setup = {**long_memory.QUICK, "seeds": 2}
    ledger = long_memory.Ledger(tmp_path / "runs.jsonl")
    runs = long_memory.sweep(ledger, "adding", "rnn", (5, 10, 20, 40), 1e-3, setup, 1 / 6, log=lambda _: None)
    assert sorted({r["T"] for r in runs}) == [5, 10, 40]  # 20 is skipped after the miss at 10; 40 a claim names


def test_a_resumed_sweep_takes_the_runs_of_its_ledger(monkeypatch, tmp_path):
    calls = []

    def fake(task, cell, T, *, lr, seed, setup):
        calls.append((task, cell, T, seed))
        return {"error": 0.0, "steps": 1, "seconds": 0.0, "stopped": "loss", "first_step_below_10pct": 1}

    monkeypatch.setattr(long_memory, "train_one", fake)
    long_memory.run(tmp_path, quick=True, log=lambda _: None)
    first = len(calls)
    again = long_memory.run(tmp_path, quick=True, log=lambda _: None)
    assert first > 0 and len(calls) == first  # nothing trained twice
    assert len(again["runs"]) == first - 2 * 4 * 2  # the learning-rate runs are not reported runs
