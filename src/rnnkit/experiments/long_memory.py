"""The lecture's "Issue 1: long-term dependencies" and "a plain RNN is not a good choice", measured fairly.

Two synthetic problems whose answer depends on inputs T steps before it is asked for
(:mod:`rnnkit.tasks.synthetic`): the adding problem (sum the two marked values of T random numbers;
answering 1 always scores MSE 1/6 ≈ 0.167) and the copy task (recall 5 symbols after T blanks; the best
memoryless answer costs ln 8 ≈ 2.08 nats per symbol).

What makes it a test of *distance* and not of a learning rate: the sweep starts short (T = 5), so every
cell first shows it can learn the problem at all; each cell trains with its own Adam learning rate, the
best of a small grid on a validation run at a short length (``select_T``, its own seed and held-out set);
budgets are counted in updates (no wall clock, so a slow kernel is not a weak cell); every length is run
with several seeds (seed s: the same data for every cell). A run is **solved** when its held-out error is
below 10 % of the baseline; a length is solved by a cell when most of its seeds solve it. A cell's sweep
stops after the first length that no seed solves (longer ones would fail too and cost the most) — except at
the lengths a claim names (:data:`CLAIM_LENGTHS`), which every cell runs, so a verdict speaks only of runs
that happened. A run also stops once its smoothed training loss is below 1 % of the baseline.

Each finished run is appended to ``runs.jsonl`` in the output folder; a killed or partial sweep run again
with the same ``--out`` and settings takes the runs already there (resumable across sessions), and the
results list every run with the commit and time that produced it.

Writes ``results.json``, ``error_vs_length.png`` (log-y, mean and min–max over seeds) and ``report.md``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.experiments.fair import choose_lr, paired_wins
from rnnkit.experiments.record import (
    experiment_setup,
    finish,
    now,
    pyplot,
    save_figure,
    setup_line,
    source,
    stamp,
    table,
)
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, enough_seeds, verdict_section
from rnnkit.tasks.synthetic import copy_baseline, train_adding, train_copy

CELLS = ("rnn", "lstm", "gru", "gru-reset-before")
GATED = ("lstm", "gru", "gru-reset-before")
# The default sweep stops at T = 200: on this project's 2-core CPU it takes ~2.2 h of 1-thread runs (3 seeds, both
# tasks; T = 200 alone ~50 min, for the gated cells that reach it). ``--lengths 5 10 20 50 100 200 400`` goes on.
LENGTHS = (5, 10, 20, 50, 100, 200)
CLAIM_LENGTHS = {"adding": (200,), "copy": ()}  # lengths a claim names: every cell runs them, solved before or not
SOLVED = 0.1  # held-out error below this fraction of the baseline
SELECT_SEED = 1000  # the learning-rate search trains and scores on data no reported run sees
FULL = {"hidden_size": 128, "batch": 64, "steps": 3000, "lr_grid": (1e-3, 3e-3, 1e-2), "select_T": 10, "seeds": 3,
        "minutes": None}
QUICK = {"hidden_size": 8, "batch": 16, "steps": 20, "lr_grid": (1e-2, 3e-3), "select_T": 4, "seeds": 2,
         "minutes": None, "lengths": (4, 8)}
COPY = {"n_symbols": 8, "length": 5}
TASKS = {"adding": "held-out MSE", "copy": "held-out cross-entropy (nats/symbol)"}
TRACES: tuple[str, ...] = ()
FIRST_TO_FAIL = Rule(
    "long-memory/plain-rnn-first",
    "per problem: each cell's reach per seed is the longest length that seed solves before its first miss; holds "
    "when every gated cell out-reaches the plain RNN in a majority of the paired seeds (seed s: the same data) and "
    "falls short of it in none; does not hold when some gated cell falls short of the RNN in a majority; otherwise "
    "undecided (the difference rests on fewer seeds); fewer than min_seeds seeds: undecided",
    {"solved_below": SOLVED, "min_seeds": MIN_SEEDS})
AT_200 = Rule(
    "long-memory/adding-at-200",
    "at T = 200 on the adding problem: holds when most seeds of the LSTM and of the GRU solve it and no seed of the "
    "Elman RNN does, each of them run at T = 200; a cell not run there leaves it undecided",
    {"T": 200, "solved_below": SOLVED, "min_seeds": MIN_SEEDS})
RULES = (FIRST_TO_FAIL, AT_200)


class Ledger:
    """The finished runs of one sweep, one JSON line each in ``runs.jsonl`` (appended as each run ends), keyed
    by everything that decides the run, so a sweep run again with the same settings takes them back."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.done: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    self.done[record["key"]] = record

    @staticmethod
    def key(**decides: Any) -> str:
        return json.dumps(decides, sort_keys=True)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.done.get(key)

    def put(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {"key": key, **record, "written": now(), "commit": source()["commit"]}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.done[key] = record
        return record


def train_one(task: str, cell: str, T: int, *, lr: float, seed: int, setup: dict[str, Any]) -> dict[str, Any]:
    """One training run; returns its held-out error and counters."""
    cap = None if setup["minutes"] is None else 60 * setup["minutes"]
    common = {"steps": setup["steps"], "hidden_size": setup["hidden_size"], "batch": setup["batch"], "lr": lr,
              "seed": seed, "max_seconds": cap}
    if task == "adding":
        r = train_adding(cell, T, **common)
        return {**r, "error": r["test_mse"]}
    r = train_copy(cell, T, **common, **COPY)
    return {**r, "error": r["test_ce"], "accuracy": r["test_accuracy"]}


def _budget(setup: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide a run's outcome besides its own (task, cell, T, lr, seed)."""
    return {k: setup[k] for k in ("hidden_size", "batch", "steps", "minutes")} | COPY


def run_once(ledger: Ledger, task: str, cell: str, T: int, *, lr: float, seed: int,
             setup: dict[str, Any]) -> dict[str, Any]:
    """One run from the ledger, or trained and recorded there."""
    key = Ledger.key(task=task, cell=cell, T=T, lr=lr, seed=seed, **_budget(setup))
    found = ledger.get(key)
    if found is not None:
        return found
    r = train_one(task, cell, T, lr=lr, seed=seed, setup=setup)
    kept = ("error", "steps", "seconds", "stopped", "first_step_below_10pct")
    return ledger.put(key, {"task": task, "cell": cell, "T": T, "seed": seed, "lr": lr, **{k: r[k] for k in kept}})


def choose_cell_lr(ledger: Ledger, task: str, cell: str, setup: dict[str, Any],
                   log=print) -> tuple[float, dict[str, float]]:
    """The learning rate of ``lr_grid`` with the lowest held-out error at ``select_T`` (ties: the smaller lr)."""
    def error(lr: float) -> float:
        return run_once(ledger, task, cell, setup["select_T"], lr=lr, seed=SELECT_SEED, setup=setup)["error"]

    return choose_lr(setup["lr_grid"], error, higher_is_better=False, log=log,
                     what=f"{task:6s} {cell:16s} at T={setup['select_T']}")


def sweep(ledger: Ledger, task: str, cell: str, lengths: Sequence[int], lr: float, setup: dict[str, Any],
          baseline: float, log=print) -> list[dict[str, Any]]:
    """Every seed at every length up to the first that no seed solves, then only the claims' lengths."""
    runs, stopped = [], False
    for T in lengths:
        if stopped and T not in CLAIM_LENGTHS[task]:
            continue
        solved_here = 0
        for seed in range(setup["seeds"]):
            r = run_once(ledger, task, cell, T, lr=lr, seed=seed, setup=setup)
            ratio = r["error"] / baseline
            record = {**{k: v for k, v in r.items() if k != "key"}, "baseline": baseline, "ratio": ratio,
                      "solved": ratio < SOLVED}
            runs.append(record)
            solved_here += record["solved"]
            log(f"{task:6s} {cell:16s} T={T:4d} seed {seed}: {r['error']:.4f} ({100 * ratio:.1f} % of "
                f"baseline{', solved' if record['solved'] else ''}), {r['steps']} updates")
        stopped = stopped or solved_here == 0  # no seed solved this length: longer ones are not run
    return runs


def run(out: Path, *, quick: bool = False, minutes: float | None = None, lengths: Sequence[int] | None = None,
        seeds: int | None = None, log=print) -> dict[str, Any]:
    """Choose each cell's learning rate, then sweep T upwards with several seeds per length."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes=minutes, seeds=seeds)
    lengths = tuple(sorted(lengths or setup.pop("lengths", LENGTHS)))
    setup.pop("lengths", None)
    if any(T < 2 for T in lengths):
        raise ValueError(f"every length must be >= 2, got {list(lengths)}")
    baselines = {"adding": 1 / 6, "copy": copy_baseline(COPY["n_symbols"])}
    log(f"baselines: adding MSE {baselines['adding']:.3f} (always answer 1), copy cross-entropy "
        f"{baselines['copy']:.3f} nats = ln {COPY['n_symbols']} (memoryless)")
    ledger = Ledger(out / "runs.jsonl")
    runs, learning_rates = [], {task: {} for task in TASKS}
    for task in TASKS:
        for cell in CELLS:
            lr, grid = choose_cell_lr(ledger, task, cell, setup, log)
            learning_rates[task][cell] = {"chosen": lr, "validation_error": grid}
            runs += sweep(ledger, task, cell, lengths, lr, setup, baselines[task], log)
    results = {**stamp("long-memory", quick), "setup": {**setup, "lengths": list(lengths), **COPY},
               "cells": list(CELLS), "baselines": baselines, "solved_below": SOLVED, "learning_rates": learning_rates,
               "claim_lengths": CLAIM_LENGTHS, "runs": runs}
    results["parts"] = parts(runs)
    results["verdicts"] = {task: {cell: verdict(runs, task, cell, lengths) for cell in CELLS} for task in TASKS}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "error_vs_length.png").name]
    return finish(out, results, report(results))


def parts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sessions the runs come from: each (commit, day) with its first and last time and its count."""
    found: dict[tuple[Any, str], dict[str, Any]] = {}
    for r in runs:
        key = (r.get("commit"), str(r.get("written", ""))[:10])
        part = found.setdefault(key, {"commit": key[0], "first": r.get("written"), "last": r.get("written"),
                                      "runs": 0})
        part["runs"] += 1
        part["first"] = min(part["first"] or "", r.get("written") or "")
        part["last"] = max(part["last"] or "", r.get("written") or "")
    return list(found.values())


def _seed_reach(mine: list[dict[str, Any]], seed: int, lengths: Sequence[int]) -> int:
    """The longest length one seed solved before its first failure (0: not even the shortest)."""
    reach = 0
    for T in lengths:
        run = next((r for r in mine if r["T"] == T and r["seed"] == seed), None)
        if run is None or not run["solved"]:
            break
        reach = T
    return reach


def verdict(runs: list[dict[str, Any]], task: str, cell: str, lengths: Sequence[int]) -> dict[str, Any]:
    """The longest length most seeds solve (``reach``), each seed's own reach, the first length missed, and
    the lengths run (with the seeds that solved each)."""
    mine = [r for r in runs if r["task"] == task and r["cell"] == cell]
    seeds = sorted({r["seed"] for r in mine})
    reach, broke = 0, None
    for T in lengths:
        at_T = [r for r in mine if r["T"] == T]
        if len(at_T) < len(seeds) or 2 * sum(r["solved"] for r in at_T) <= len(seeds):
            broke = T
            break
        reach = T
    per_seed = [_seed_reach(mine, s, lengths) for s in seeds]
    spread = ", ".join(str(T) for T in per_seed)
    text = f"solves up to T={reach}" if reach else "solves no length"
    if reach and reach == max(lengths):
        text = f"solves every length tried, up to T={reach} (its limit is beyond the sweep)"
    text += f" (per seed: {spread})" if len(seeds) > 1 else ""
    ran = [T for T in lengths if any(r["T"] == T for r in mine)]
    solved_at = {str(T): sum(r["solved"] for r in mine if r["T"] == T) for T in ran}
    return {"reach": reach, "breaks_at": broke, "per_seed": per_seed, "text": text, "solved_at": solved_at}


def _budget_text(s: dict[str, Any]) -> str:
    return (f"{s['steps']} updates per run, {s['seeds']} seeds, learning rate chosen per cell from "
            f"{', '.join(f'{lr:g}' for lr in s['lr_grid'])} at T={s['select_T']}")


def first_to_fail(results: dict[str, Any], task: str) -> Claim:
    """:data:`FIRST_TO_FAIL` on one problem, from each cell's per-seed reach (paired by seed)."""
    verdicts, s = results["verdicts"][task], results["setup"]
    described = "; ".join(f"{c} {verdicts[c]['text']}" for c in CELLS)
    rnn = verdicts["rnn"]["per_seed"]
    wins = {c: paired_wins(verdicts[c]["per_seed"], rnn) for c in GATED}
    said = ", ".join(f"{c} {above} of {len(rnn)}" for c, (above, _) in wins.items())
    seeds_said = f"gated cells out-reaching the rnn, seeds paired: {said}"
    if all(verdicts[c]["reach"] == 0 for c in CELLS):
        holds = None
        described += " — no cell solved even the shortest length: undecided at this budget"
    elif all(2 * above > len(rnn) and below == 0 for above, below in wins.values()):
        holds = True
    elif any(2 * below > len(rnn) for _, below in wins.values()):
        holds = False
    else:
        holds = None
        thin = [c for c, (above, below) in wins.items() if not (2 * above > len(rnn) and below == 0)]
        seeds_said += f" — for {', '.join(thin)} the difference rests on fewer than a majority of seeds"
    holds, text = enough_seeds(holds, s["seeds"], f"{described}; {seeds_said} ({_budget_text(s)})")
    return FIRST_TO_FAIL.judge(f"Long-term dependencies defeat the plain RNN first ({task})", holds, text)


def ran_at(results: dict[str, Any], task: str, cell: str, T: int) -> int | None:
    """How many seeds of ``cell`` ran ``task`` at ``T`` (None: the stored results do not tell)."""
    v = results["verdicts"][task][cell]
    if "solved_at" in v:
        return sum(1 for r in results["runs"] if r["task"] == task and r["cell"] == cell and r["T"] == T)
    return len(v["per_seed"]) if max(v["per_seed"]) >= T else None  # a results file from before solved_at


def at_200(results: dict[str, Any]) -> Claim | None:
    """:data:`AT_200`, when T = 200 is among the lengths: judged on the runs at T = 200 only."""
    s, T = results["setup"], AT_200.thresholds["T"]
    if T not in s["lengths"]:
        return None
    verdicts = results["verdicts"]["adding"]
    ran = {c: ran_at(results, "adding", c, T) for c in CELLS}
    solved = {c: verdicts[c].get("solved_at", {}).get(str(T)) for c in CELLS}
    for c in CELLS:  # a results file from before solved_at: the per-seed reach tells who solved T
        if solved[c] is None and ran[c]:
            solved[c] = sum(reach >= T for reach in verdicts[c]["per_seed"])
    missing = [c for c in CELLS if not ran[c]]
    text = ", ".join(f"{c} solved by {solved[c]} of {ran[c]} seeds" if ran[c] else
                     f"{c} not run at T={T} (its sweep stopped after the first length no seed solved, "
                     f"T={verdicts[c]['breaks_at']}; its seeds reach at most T={max(verdicts[c]['per_seed'])})"
                     for c in CELLS)
    if missing:
        holds = None
        text = f"undecided — {text}: a verdict about T={T} needs runs at T={T}"
    else:
        most = {c: 2 * solved[c] > ran[c] for c in CELLS}
        holds = most["lstm"] and most["gru"] and solved["rnn"] == 0
        if not holds and not most["lstm"] and most["gru"]:
            text += "; the LSTM's failure may be the budget's (it sits on the adding plateau for thousands of updates)"
            holds = None
    holds, text = enough_seeds(holds, s["seeds"], f"{text} ({_budget_text(s)})")
    return AT_200.judge("LSTM and GRU solve the adding problem at T = 200 while the Elman RNN does not", holds, text)


def claims(results: dict[str, Any]) -> list[Claim]:
    """Issue 1 on both problems (:data:`FIRST_TO_FAIL`) and the T = 200 statement (:data:`AT_200`)."""
    found = [first_to_fail(results, task) for task in TASKS]
    at_t = at_200(results)
    return found + ([at_t] if at_t else [])


def _by_length(results: dict[str, Any], task: str, cell: str) -> dict[int, list[dict[str, Any]]]:
    """The runs of one cell on one problem, grouped by length."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in results["runs"]:
        if r["task"] == task and r["cell"] == cell:
            groups.setdefault(r["T"], []).append(r)
    return dict(sorted(groups.items()))


def plot(results: dict[str, Any], path: Path) -> Path:
    """Held-out error vs T per cell (mean over seeds, min–max band), one panel per problem, log-y."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(TASKS), figsize=(11, 4.2))
    for ax, (task, ylabel) in zip(axes, TASKS.items(), strict=True):
        base = results["baselines"][task]
        for cell in results["cells"]:
            groups = _by_length(results, task, cell)
            Ts = list(groups)
            errors = [[max(r["error"], 1e-6) for r in runs] for runs in groups.values()]
            line = ax.plot(Ts, [statistics.fmean(e) for e in errors], marker="o", label=cell)[0]
            ax.fill_between(Ts, [min(e) for e in errors], [max(e) for e in errors], color=line.get_color(), alpha=0.15)
        ax.axhline(base, color="grey", linestyle="--", label=f"memoryless baseline {base:.3f}")
        ax.axhline(SOLVED * base, color="grey", linestyle=":", label="solved below this")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(results["setup"]["lengths"], [str(T) for T in results["setup"]["lengths"]])
        ax.minorticks_off()
        ax.set_xlabel("T (steps between the evidence and the answer)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{task} problem")
        ax.legend(fontsize=8)
    s = results["setup"]
    fig.suptitle(f"Long-term dependencies: hidden {s['hidden_size']}, ≤ {s['steps']} updates per run, "
                 f"{s['seeds']} seeds (line: mean, band: min–max); a sweep stops at the first length no seed solves",
                 fontsize=10)
    return save_figure(fig, path)


def _cell_text(runs: list[dict[str, Any]]) -> str:
    """One table cell: mean error, solved seeds, mean updates."""
    mean = statistics.fmean(r["error"] for r in runs)
    solved = sum(r["solved"] for r in runs)
    steps = round(statistics.fmean(r["steps"] for r in runs))
    return f"{mean:.4f} ({solved}/{len(runs)} ✓, {steps} upd)"


def report(results: dict[str, Any]) -> str:
    s = results["setup"]
    cap = f"at most {s['minutes']} min of training" if s["minutes"] else "no time cap"
    lines = ["# Long-term dependencies: the adding problem and the copy task", "", setup_line(results),
             f"Hidden {s['hidden_size']}, batch {s['batch']}, Adam with gradient clipping 1.0; at most {s['steps']} "
             f"updates and {cap} per run (a run also stops when its smoothed loss is below 1 % of the baseline); "
             f"{s['seeds']} seeds per length. Copy task: {s['length']} symbols of {s['n_symbols']}.",
             "", f"Trivial baselines: adding MSE {results['baselines']['adding']:.3f} (always answer 1); copy "
             f"{results['baselines']['copy']:.3f} nats (memoryless: ln {s['n_symbols']}). Solved = held-out error "
             f"< {int(100 * SOLVED)} % of the baseline; a length counts when most seeds solve it. A cell's sweep "
             "stops after the first length no seed solves (–: not run), except at the lengths a claim names ("
             + ", ".join(f"{task} T={T}" for task, Ts in results["claim_lengths"].items() for T in Ts)
             + "), which every cell runs.", "",
             "Runs: " + "; ".join(f"{p['runs']} run(s) at commit {(p['commit'] or 'unknown')[:7]}, {p['first']} to "
                                  f"{p['last']}" for p in results["parts"]) + ".", "",
             f"Learning rate per cell: the best of {', '.join(f'{lr:g}' for lr in s['lr_grid'])} by held-out error "
             f"at T={s['select_T']} (its own seed and data).", ""]
    for task, label in TASKS.items():
        rows = []
        for cell in results["cells"]:
            groups = _by_length(results, task, cell)
            cells = [_cell_text(groups[T]) if T in groups else "–" for T in s["lengths"]]
            chosen = results["learning_rates"][task][cell]["chosen"]
            rows.append([cell, f"{chosen:g}", *cells, results["verdicts"][task][cell]["text"]])
        lines += [f"## {task} — {label} (mean over seeds)", "",
                  *table(["cell", "lr", *(f"T={T}" for T in s["lengths"]), "verdict"], rows), ""]
        grid_rows = [[cell, *(f"{e:.4f}" for e in results["learning_rates"][task][cell]["validation_error"].values())]
                     for cell in results["cells"]]
        lines += [f"Learning-rate search ({task}, held-out error at T={s['select_T']}):", "",
                  *table(["cell", *(f"lr {lr:g}" for lr in s["lr_grid"])], grid_rows), ""]
    lines += [*verdict_section(results["claims"], RULES), "![error vs length](error_vs_length.png)", ""]
    return "\n".join(lines)
