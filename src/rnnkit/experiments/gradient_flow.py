"""The vanishing gradient behind Issue 1: ‖∂L/∂h_t‖ against the distance from the loss, per cell.

Each cell reads adding-problem sequences (:mod:`rnnkit.tasks.synthetic`) of length T through a
:class:`~rnnkit.tasks.synthetic.LastStepRegressor`, so the loss L (summed squared error of the answers) sees
only the final state h_T and every gradient that reaches h_t has travelled T − 1 − t steps back through the
recurrence. The layer runs one input at a time (``Recurrent.step``, the layer's own function) keeping every
h_t in the autograd graph, in float64 (hundreds of steps back the norms fall far below float32's range).
Reported per step: the batch mean of ‖∂L/∂h_t‖₂, and of ‖∂L/∂x_t‖₂, the gradient of the input, which counts
every path back to step t (the LSTM's memory cell too, which ∂L/∂h_t leaves out).

Two states of every cell, each with several seeds: **untrained** (the initialisation) and **trained** — the
same initial weights trained on the adding problem at a short length (``train_T``, where every cell learns),
with the cell's own learning rate (the best of a grid by held-out error, :mod:`rnnkit.experiments.fair`).
Only a trained model that solved its task (held-out MSE below 10 % of the 1/6 baseline) counts as trained:
its gradients describe a network that learned, not one stuck at the start.

Writes ``results.json``, ``gradient_norms.png`` (log-y) and ``report.md``.
"""

from __future__ import annotations

import copy
import math
import statistics
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.experiments.fair import choose_lr
from rnnkit.experiments.record import experiment_setup, finish, pyplot, save_figure, setup_line, stamp, table
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, enough_seeds, verdict_section
from rnnkit.tasks.synthetic import LastStepRegressor, adding_problem, train_adding

CELLS = ("rnn", "lstm", "gru", "gru-reset-before")
STATES = ("untrained", "trained")
SOLVED = 0.1  # a trained model counts when its held-out MSE is below this fraction of the 1/6 baseline
SELECT_SEED = 1000  # the learning-rate search trains and scores on data no reported run sees
# Adding problem at T = 10 is solved by every cell within a few hundred updates (long-memory experiment); a run stops
# once solved, so 12 runs plus the 12 of the learning-rate search take ~10-15 min at one thread.
FULL = {"T": 400, "batch": 32, "hidden_size": 128, "train_T": 10, "steps": 3000, "train_batch": 64,
        "lr_grid": (1e-3, 3e-3, 1e-2), "seeds": MIN_SEEDS, "minutes": None}
QUICK = {"T": 16, "batch": 8, "hidden_size": 8, "train_T": 4, "steps": 20, "train_batch": 16, "lr_grid": (1e-2,),
         "seeds": 1, "minutes": None}
TRACES = ("norms",)
VANISHING = {
    state: Rule(
        f"gradient-flow/vanishing-{state}",
        f"{state} models{' that solved their task' if state == 'trained' else ''}: per seed, each cell's geometric "
        "factor per step of ‖∂L/∂h_t‖ from the loss back to the farthest step; holds when in every seed the plain "
        "RNN's factor is below 1 and the lowest of the cells, does not hold when some gated cell's is lower than the "
        "RNN's in most seeds, otherwise undecided" + ("; a seed counts only when every cell solved its task" if
                                                      state == "trained" else "")
        + "; fewer than min_seeds seeds: undecided", {"solved_below": SOLVED, "min_seeds": MIN_SEEDS})
    for state in STATES}
RULES = tuple(VANISHING.values())


def gradient_norms(model: LastStepRegressor, x: Tensor, y: Tensor) -> dict[str, list[float]]:
    """Per step t = 0 … T−1, the batch means of ‖∂L/∂h_t‖₂ ("h") and ‖∂L/∂x_t‖₂ ("x"), L = Σ (ŷ − y)² of the
    last-step answers. x: (T, B, I), y: (B,). Runs on a float64 copy of the model."""
    model = copy.deepcopy(model).double().eval()
    x = x.double().requires_grad_(True)
    state, hidden = None, []
    for t in range(x.shape[0]):
        h, state = model.rnn.step(x[t], state)  # h: (B, H), the very tensor the next step reads
        h.retain_grad()
        hidden.append(h)
    loss = ((model.readout(hidden[-1]).squeeze(1) - y.double()) ** 2).sum()
    loss.backward()
    return {"h": [h.grad.norm(dim=1).mean().item() for h in hidden], "x": x.grad.norm(dim=2).mean(1).tolist()}


def decay(norms: list[float]) -> dict[str, float | int | None]:
    """Near (at the loss) and far (T−1 steps back) norms, their ratio, the geometric mean factor per step
    (out to the farthest non-zero norm), and the first distance at which the norm is below 10⁻³ of the
    nearest one (None: never)."""
    near, far = norms[-1], norms[0]
    ratio = far / near if near > 0 else float("nan")
    reach = max((d for d, n in enumerate(reversed(norms)) if n > 0), default=0)  # the farthest non-zero norm
    per_step = (norms[-1 - reach] / near) ** (1 / reach) if reach and near > 0 else float("nan")
    below = next((d for d, n in enumerate(reversed(norms)) if n < 1e-3 * near), None)
    return {"near": near, "far": far, "far_over_near": ratio, "per_step_factor": per_step, "distance_below_1e-3": below}


def _train(cell: str, lr: float, seed: int, setup: dict[str, Any], model: LastStepRegressor | None = None) -> dict:
    cap = None if setup["minutes"] is None else 60 * setup["minutes"]
    return train_adding(cell, setup["train_T"], steps=setup["steps"], hidden_size=setup["hidden_size"],
                        batch=setup["train_batch"], lr=lr, seed=seed, max_seconds=cap, model=model)


def measure_cell(cell: str, lr: float, seed: int, setup: dict[str, Any]) -> dict[str, Any]:
    """One seed of one cell: its untrained and trained gradient norms on the same held-out batch of length T."""
    torch.manual_seed(seed)
    model = LastStepRegressor(cell, 2, setup["hidden_size"])
    untrained = copy.deepcopy(model)
    trained = _train(cell, lr, seed, setup, model=model)
    x, y = adding_problem(setup["batch"], setup["T"], torch.Generator().manual_seed(2000 + seed))
    norms = {"untrained": gradient_norms(untrained, x, y), "trained": gradient_norms(model, x, y)}
    return {"seed": seed, "test_mse": trained["test_mse"], "steps": trained["steps"], "seconds": trained["seconds"],
            "solved": trained["test_mse"] < SOLVED / 6, "norms": norms,
            "decay": {s: {k: decay(v) for k, v in n.items()} for s, n in norms.items()}}


def run(out: Path, *, quick: bool = False, minutes: float | None = None, seeds: int | None = None,
        log=print) -> dict[str, Any]:
    """Choose each cell's learning rate, then measure every seed untrained and trained."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes=minutes, seeds=seeds)
    cells: dict[str, Any] = {}
    for cell in CELLS:
        def error(lr: float, cell: str = cell) -> float:
            return _train(cell, lr, SELECT_SEED, setup)["test_mse"]

        lr, grid = choose_lr(setup["lr_grid"], error, higher_is_better=False, log=log,
                             what=f"{cell} at T={setup['train_T']}:")
        cells[cell] = {"lr": lr, "validation_mse": grid,
                       "seeds": [measure_cell(cell, lr, s, setup) for s in range(setup["seeds"])]}
        for m in cells[cell]["seeds"]:
            log(f"{cell} seed {m['seed']}: ‖∂L/∂h‖ {setup['T'] - 1} steps back / at the loss: untrained "
                f"{m['decay']['untrained']['h']['far_over_near']:.2e}, trained "
                f"{m['decay']['trained']['h']['far_over_near']:.2e} (test MSE {m['test_mse']:.4f})")
    results = {**stamp("gradient-flow", quick), "setup": {**setup, "lr_grid": list(setup["lr_grid"])},
               "solved_below": SOLVED, "cells": cells}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "gradient_norms.png").name]
    return finish(out, results, report(results))


def factors(results: dict[str, Any], state: str) -> tuple[dict[str, list[float]], list[int]]:
    """Each cell's factor per step, seed by seed, over the seeds that count for ``state`` (trained: the seeds
    where every cell solved its task); and those seeds."""
    cells = results["cells"]
    seeds = range(min(len(c["seeds"]) for c in cells.values()))
    if state == "trained":
        seeds = [s for s in seeds if all(c["seeds"][s]["solved"] for c in cells.values())]
    kept = list(seeds)
    return {c: [v["seeds"][s]["decay"][state]["h"]["per_step_factor"] for s in kept] for c, v in cells.items()}, kept


def vanishing_claim(results: dict[str, Any], state: str) -> Claim:
    """:data:`VANISHING` for one state."""
    factor, seeds = factors(results, state)
    T = results["setup"]["T"]
    said = ", ".join(f"{c} {statistics.fmean(v):.3f}" for c, v in factor.items() if v)
    text = (f"mean factor per step of ‖∂L/∂h_t‖ over {T - 1} steps back: {said or 'no seed'} "
            f"({len(seeds)} seed(s))")
    if state == "trained":
        unsolved = [f"{c} seed {m['seed']}" for c, v in results["cells"].items() for m in v["seeds"] if not m["solved"]]
        if unsolved:
            text += f"; not solved, left out: {', '.join(unsolved)}"
    if not seeds or any(math.isnan(f) for v in factor.values() for f in v):
        holds = None
    else:
        fastest = [min(factor, key=lambda c, i=i: factor[c][i]) == "rnn" and factor["rnn"][i] < 1
                   for i in range(len(seeds))]
        slower = [any(factor[c][i] < factor["rnn"][i] for c in factor if c != "rnn") for i in range(len(seeds))]
        holds = True if all(fastest) else False if 2 * sum(slower) > len(seeds) else None
    holds, text = enough_seeds(holds, len(seeds), text)
    where = "at initialisation" if state == "untrained" else "after training, in models that learned"
    return VANISHING[state].judge(f"Gradients vanish with distance from the loss, fastest in the plain RNN — {where}",
                                  holds, text)


def claims(results: dict[str, Any]) -> list[Claim]:
    return [vanishing_claim(results, state) for state in STATES]


def plot(results: dict[str, Any], path: Path) -> Path:
    """Gradient norm vs distance from the loss, per cell (seed 0), log-y: rows ∂L/∂h_t and ∂L/∂x_t, columns
    untrained and trained."""
    plt = pyplot()
    fig, axes = plt.subplots(2, len(STATES), figsize=(11, 7.5), sharey="row", sharex=True)
    for row, (key, label) in enumerate((("h", "mean ‖∂L/∂h_t‖"), ("x", "mean ‖∂L/∂x_t‖ (input)"))):
        for ax, state in zip(axes[row], STATES, strict=True):
            for cell, v in results["cells"].items():
                norms = v["seeds"][0]["norms"][state][key]
                ax.plot(range(len(norms)), [max(n, 1e-300) for n in reversed(norms)], label=cell)
            ax.set_yscale("log")
            ax.set_title(f"{state}: {label}")
            ax.legend(fontsize=8)
        axes[row][0].set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("distance from the loss (steps back from the last input)")
    s = results["setup"]
    fig.suptitle(f"Gradient flow through T = {s['T']} steps of the adding problem (seed 0; trained at T = "
                 f"{s['train_T']})")
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s = results["setup"]
    T = s["T"]
    rows = []
    for cell, v in results["cells"].items():
        for state in STATES:
            d = [m["decay"][state]["h"] for m in v["seeds"]]
            dx = [m["decay"][state]["x"] for m in v["seeds"]]
            below = [str(x["distance_below_1e-3"]) if x["distance_below_1e-3"] is not None else "never" for x in d]
            trained = ", ".join(f"{m['test_mse']:.4f}" + ("" if m["solved"] else " (not solved)") for m in v["seeds"])
            rows.append([cell, state, ", ".join(f"{x['far_over_near']:.1e}" for x in d),
                         ", ".join(f"{x['per_step_factor']:.4f}" for x in d), ", ".join(below),
                         ", ".join(f"{x['far_over_near']:.1e}" for x in dx),
                         f"{v['lr']:g}: {trained}" if state == "trained" else "–"])
    lines = ["# Gradient flow: ‖∂L/∂h_t‖ vs distance from the loss", "", setup_line(results),
             f"Adding problem, one held-out batch of {s['batch']} sequences of T = {T} per seed; hidden "
             f"{s['hidden_size']}; trained on the adding problem at T = {s['train_T']} (≤ {s['steps']} updates of "
             f"{s['train_batch']}, stopping once solved) with the learning rate per cell the best of "
             f"{', '.join(f'{lr:g}' for lr in s['lr_grid'])} by held-out MSE; {s['seeds']} seed(s), values per "
             f"seed. Solved: held-out MSE below {SOLVED} × 1/6.", "",
             *table(["cell", "state", f"‖∂L/∂h‖ {T - 1} steps back / at the loss", "factor per step",
                     "first distance < 10⁻³ × at the loss", "‖∂L/∂x‖ ratio", "lr: test MSE at train T"], rows),
             "", "The ∂L/∂h_t of the LSTM leaves out its memory cell c_t, the path its gates protect; the input "
             "gradient ∂L/∂x_t (the ‖∂L/∂x‖ column, lower plots) counts every path.", "",
             *verdict_section(results["claims"], RULES), "![gradient norms](gradient_norms.png)", ""]
    return "\n".join(lines)
