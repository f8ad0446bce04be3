"""The long-memory experiment's bookkeeping: per-cell learning rate, majority-of-seeds verdicts, the sweep's stop."""

from rnnkit.experiments import long_memory
from rnnkit.experiments.long_memory import verdict


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


def test_learning_rate_is_the_grid_point_with_lowest_validation_error(monkeypatch):
    errors = {1e-3: 0.05, 3e-3: 0.01, 1e-2: 0.2}
    seen = []

    def fake(task, cell, T, *, lr, seed, setup):
        seen.append((T, seed))
        return {"error": errors[lr]}

    monkeypatch.setattr(long_memory, "train_one", fake)
    setup = {"lr_grid": (1e-3, 3e-3, 1e-2), "select_T": 10}
    lr, grid = long_memory.choose_lr("adding", "lstm", setup, log=lambda _: None)
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
            assert len(mine) == len(Ts) * results["setup"]["seeds"]
            assert results["learning_rates"][task][cell]["chosen"] in results["setup"]["lr_grid"]
    assert (tmp_path / "error_vs_length.png").is_file()
    assert "Learning-rate search" in (tmp_path / "report.md").read_text()
