"""The lecture's "Issue 1: long-term dependencies" and "a plain RNN is not a good choice", measured.

Two synthetic problems whose answer depends on inputs T steps before it is asked for
(:mod:`rnnkit.tasks.synthetic`): the adding problem (sum the two marked values of T random numbers;
answering 1 always scores MSE 1/6 ≈ 0.167) and the copy task (recall 5 symbols after T blanks; the best
memoryless answer costs ln 8 ≈ 2.08 nats per symbol). Every cell gets the same hidden size, batch,
learning rate, seed and budget (updates *and* a wall-clock cap per run; a run also stops once its
smoothed training loss is below 1 % of the baseline). A run counts as **solved** when its held-out
error is below 10 % of the baseline.

Writes ``results.json``, ``error_vs_length.png`` (log-y) and ``report.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.experiments.record import (
    Claim,
    claims_section,
    experiment_setup,
    finish,
    pyplot,
    save_figure,
    setup_line,
    stamp,
    table,
)
from rnnkit.tasks.synthetic import copy_baseline, train_adding, train_copy

CELLS = ("rnn", "lstm", "gru", "gru-reset-before")
LENGTHS = (50, 100, 200, 400)
SOLVED = 0.1  # held-out error below this fraction of the baseline
FULL = {"hidden_size": 128, "batch": 64, "steps": 3000, "lr": 1e-2, "minutes": 3.0}
QUICK = {"hidden_size": 8, "batch": 16, "steps": 20, "lr": 1e-2, "minutes": None, "lengths": (4, 8)}
COPY = {"n_symbols": 8, "length": 5}
TASKS = {"adding": "held-out MSE", "copy": "held-out cross-entropy (nats/symbol)"}


def run(out: Path, *, quick: bool = False, minutes: float | None = None, lengths: Sequence[int] | None = None,
        seed: int = 0, log=print) -> dict[str, Any]:
    """Train every cell on both problems at every length; ``minutes`` caps each training run."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    lengths = tuple(lengths or setup.pop("lengths", LENGTHS))
    setup.pop("lengths", None)
    if any(T < 2 for T in lengths):
        raise ValueError(f"every length must be >= 2, got {list(lengths)}")
    cap = None if setup["minutes"] is None else 60 * setup["minutes"]
    common = {"steps": setup["steps"], "hidden_size": setup["hidden_size"], "batch": setup["batch"],
              "lr": setup["lr"], "seed": seed, "max_seconds": cap}
    baselines = {"adding": 1 / 6, "copy": copy_baseline(COPY["n_symbols"])}
    log(f"baselines: adding MSE {baselines['adding']:.3f} (always answer 1), copy cross-entropy "
        f"{baselines['copy']:.3f} nats = ln {COPY['n_symbols']} (memoryless)")
    runs = []
    for task in TASKS:
        for cell in CELLS:
            for T in sorted(lengths):
                if task == "adding":
                    r = train_adding(cell, T, **common)
                    error, extra = r["test_mse"], {}
                else:
                    r = train_copy(cell, T, **common, **COPY)
                    error, extra = r["test_ce"], {"accuracy": r["test_accuracy"]}
                record = {"task": task, "cell": cell, "T": T, "error": error, "baseline": baselines[task],
                          "ratio": error / baselines[task], "solved": error < SOLVED * baselines[task],
                          "steps": r["steps"], "seconds": r["seconds"], "stopped": r["stopped"],
                          "first_step_below_10pct": r["first_step_below_10pct"], **extra}
                runs.append(record)
                log(f"{task:6s} {cell:16s} T={T:5d}: {error:.4f} ({100 * record['ratio']:.1f} % of baseline"
                    f"{', solved' if record['solved'] else ''}), {r['steps']} updates in {r['seconds']:.0f} s "
                    f"(stopped: {r['stopped']})")
    results = {**stamp("long-memory", quick), "setup": {**setup, "lengths": sorted(lengths), "seed": seed, **COPY},
               "cells": list(CELLS), "baselines": baselines, "solved_below": SOLVED, "runs": runs}
    results["verdicts"] = {task: {cell: verdict(runs, task, cell) for cell in CELLS} for task in TASKS}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "error_vs_length.png").name]
    return finish(out, results, report(results))


def verdict(runs: list[dict[str, Any]], task: str, cell: str) -> dict[str, Any]:
    """Which lengths a cell solved, and the shortest length where it broke (None: never broke)."""
    mine = sorted((r for r in runs if r["task"] == task and r["cell"] == cell), key=lambda r: r["T"])
    solved = [r["T"] for r in mine if r["solved"]]
    broke = next((r["T"] for r in mine if not r["solved"]), None)
    if not solved:
        text = "solved no length"
    elif broke is None:
        text = f"solved every length up to T={mine[-1]['T']}"
    else:
        text = f"solved T={', '.join(map(str, solved))}; breaks at T={broke}"
    return {"solved": solved, "breaks_at": broke, "text": text}


def _reach(verdicts: dict[str, dict[str, Any]], cell: str) -> int:
    """The longest length solved before the first failure (0 if the shortest failed)."""
    solved, broke = verdicts[cell]["solved"], verdicts[cell]["breaks_at"]
    return max([T for T in solved if broke is None or T < broke], default=0)


def claims(results: dict[str, Any]) -> list[Claim]:
    """Issue 1 (the plain RNN reaches the shortest distance) and the issue's T = 200 target."""
    verdicts, found = results["verdicts"], []
    gated = [c for c in CELLS if c != "rnn"]
    for task in TASKS:
        reach = {c: _reach(verdicts[task], c) for c in CELLS}
        holds = all(reach["rnn"] < reach[c] for c in gated)
        if all(reach[c] == 0 for c in CELLS):
            holds = None
        found.append(Claim(claim=f"Long-term dependencies defeat the plain RNN first ({task})", holds=holds,
                           verdict="; ".join(f"{c} solves up to T={reach[c]}" if reach[c] else f"{c} solves no length"
                                             for c in CELLS)
                           + ("" if holds is not None else " — no cell solved even the shortest length")))
    if 200 in results["setup"]["lengths"]:
        adding = {c: 200 in verdicts["adding"][c]["solved"] for c in CELLS}
        holds = adding["lstm"] and adding["gru"] and not adding["rnn"]
        found.append(Claim(claim="LSTM and GRU solve the adding problem at T = 200 while the Elman RNN does not",
                           holds=holds, verdict=", ".join(f"{c} {'solved' if v else 'failed'}"
                                                          for c, v in adding.items()) + " at T=200"))
    return found


def plot(results: dict[str, Any], path: Path) -> Path:
    """Held-out error vs T per cell, one panel per problem, log-y, with the baseline and the 10 % line."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(TASKS), figsize=(11, 4.2))
    for ax, (task, ylabel) in zip(axes, TASKS.items(), strict=True):
        base = results["baselines"][task]
        for cell in results["cells"]:
            rows = sorted((r for r in results["runs"] if r["task"] == task and r["cell"] == cell),
                          key=lambda r: r["T"])
            ax.plot([r["T"] for r in rows], [max(r["error"], 1e-6) for r in rows], marker="o", label=cell)
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
    fig.suptitle(f"Long-term dependencies: hidden {results['setup']['hidden_size']}, "
                 f"≤ {results['setup']['steps']} updates per run")
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s = results["setup"]
    cap = f"at most {s['minutes']} min of training" if s["minutes"] else "no time cap"
    lines = ["# Long-term dependencies: the adding problem and the copy task", "", setup_line(results),
             f"Hidden {s['hidden_size']}, batch {s['batch']}, Adam lr {s['lr']}, gradient clipping 1.0, seed "
             f"{s['seed']}; at most {s['steps']} updates and {cap} per run (a run also stops when its "
             f"smoothed loss is below 1 % of the baseline). Copy task: {s['length']} symbols of {s['n_symbols']}.",
             "", f"Trivial baselines: adding MSE {results['baselines']['adding']:.3f} (always answer 1); copy "
             f"{results['baselines']['copy']:.3f} nats (memoryless: ln {s['n_symbols']}). Solved = held-out error "
             f"< {int(100 * SOLVED)} % of the baseline (✓).", ""]
    for task, label in TASKS.items():
        rows = []
        for cell in results["cells"]:
            cells = []
            for T in s["lengths"]:
                r = next(r for r in results["runs"] if r["task"] == task and r["cell"] == cell and r["T"] == T)
                cells.append(f"{r['error']:.4f}{' ✓' if r['solved'] else ''} ({r['steps']} upd)")
            rows.append([cell, *cells, results["verdicts"][task][cell]["text"]])
        lines += [f"## {task} — {label}", "", *table(["cell", *(f"T={T}" for T in s["lengths"]), "verdict"], rows),
                  ""]
    lines += ["## Verdict", "", *claims_section(results["claims"]), "", "![error vs length](error_vs_length.png)",
              ""]
    return "\n".join(lines)

