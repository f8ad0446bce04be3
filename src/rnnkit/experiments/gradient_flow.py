"""The vanishing gradient behind Issue 1: ‖∂L/∂h_t‖ against the distance from the loss, per cell.

One real batch: B long reviews (Pang & Lee by default) of at least T words, cut to their first T. Each
cell's classifier reads them with ``pooling="last"``, so the loss sees only the final state h_T and every
gradient that reaches h_t has travelled T − 1 − t steps back through the recurrence. The encoder is run
one input at a time (``Recurrent.step``: the layer's own function) keeping every h_t in the autograd
graph; L is the batch's summed cross-entropy, so each review's gradients are its own. Reported per step:
the mean over the batch of ‖∂L/∂h_t‖₂ — T values — for every cell, untrained (fresh initialisation) and
briefly trained (a few epochs on the reviews of at least T words, cut to T: equal lengths keep training on
torch's fast CPU kernels; "untrained" is the very initialisation that training started from).

The gradient of the loss with respect to each input embedding, ‖∂L/∂x_t‖, is reported alongside: it counts
every path back to step t, including the LSTM's memory cell, which ∂L/∂h_t leaves out.

Writes ``results.json``, ``gradient_norms.png`` (log-y) and ``report.md``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data import load_text_classification
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, long_texts_only, train_sentiment_arm
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
from rnnkit.models import RecurrentClassifier, build_model
from rnnkit.tasks.sentiment import SentimentOptions, SentimentPredictor
from rnnkit.train.config import TrainConfig

CELLS = ("rnn", "lstm", "gru", "gru-reset-before")
STATES = ("untrained", "trained")
ABOVE_CHANCE = 0.02  # a "trained" model must beat the majority class by this much to count as trained
FULL = {"steps": 400, "batch": 32, "embed_dim": 64, "hidden_size": 128, "epochs": 3, "minutes": 4.0}
QUICK = {"steps": 16, "batch": 8, "epochs": 1, "minutes": None, **QUICK_SENTIMENT}


def gradient_norms(model: RecurrentClassifier, tokens: Tensor, labels: Tensor) -> dict[str, list[float]]:
    """Per step t = 0 … T−1, the batch means of ‖∂L/∂h_t‖₂ ("h") and of ‖∂L/∂x_t‖₂ ("x", the input
    embedding), L = summed cross-entropy of the last-step logits.

    ∂L/∂h_t is the gradient of the hidden state (for the LSTM the memory c_t is a second path that it does
    not include); ∂L/∂x_t says how much the loss still depends on input t, whatever the path.
    tokens: (B, T) ids without padding, labels: (B,). Needs a one-layer unidirectional encoder. Runs on a
    float64 copy of the model: hundreds of steps back the norms fall far below float32's range."""
    if model.encoder.num_layers != 1 or model.encoder.bidirectional:
        raise ValueError("gradient flow is measured on a one-layer unidirectional encoder")
    model = copy.deepcopy(model).double().eval()
    x = model.embedding(tokens)  # (B, T, E)
    x.retain_grad()
    state, hidden = None, []
    for t in range(tokens.shape[1]):
        h, state = model.encoder.step(x[:, t], state)  # h: (B, H), the very tensor the next step reads
        h.retain_grad()
        hidden.append(h)
    loss = F.cross_entropy(model.head(hidden[-1]), labels, reduction="sum")
    loss.backward()
    return {"h": [h.grad.norm(dim=1).mean().item() for h in hidden], "x": x.grad.norm(dim=2).mean(0).tolist()}


def long_batch(predictor: SentimentPredictor, data: str, steps: int, batch: int) -> tuple[Tensor, Tensor, int]:
    """The first ``batch`` reviews (test split first, then val, then train) with at least ``steps`` tokens,
    cut to ``steps``; if too few are that long, T shrinks to the ``batch``-th longest length."""
    corpus = load_text_classification(data)
    encoder = predictor.encoder
    examples = (*corpus.test, *corpus.val, *corpus.train)
    pool = list(zip(encoder.ids([ex.text for ex in examples]), (ex.label for ex in examples), strict=True))
    if len(pool) < batch:
        raise ValueError(f"{data} has {len(pool)} examples, fewer than a batch of {batch}")
    T = min(steps, sorted((len(ids) for ids, _ in pool), reverse=True)[batch - 1])
    chosen = [(ids[:T], label) for ids, label in pool if len(ids) >= T][:batch]
    return torch.tensor([ids for ids, _ in chosen]), torch.tensor([label for _, label in chosen]), T


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


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "pang-lee", seed: int = 13,
        log=print) -> dict[str, Any]:
    """Train each cell briefly, then measure both its untrained and its trained gradient flow."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    data, profile = long_texts_only(experiment_data(data, out, quick), out, setup["steps"])
    test_labels = [ex.label for ex in load_text_classification(data).test]
    chance = max(test_labels.count(y) for y in set(test_labels)) / len(test_labels)  # the majority class
    model_opts = {k: setup[k] for k in ("embed_dim", "hidden_size")}
    extra = {k: setup[k] for k in ("min_freq", "batch_size") if k in setup}
    cells: dict[str, Any] = {}
    T = setup["steps"]
    for cell in CELLS:
        opts = SentimentOptions(data=data, cell=cell, pooling="last", max_len=setup["steps"], **model_opts, **extra)
        cfg = TrainConfig(epochs=setup["epochs"], max_minutes=setup["minutes"], seed=seed, progress=False)
        log(f"training {cell} briefly (pooling last, reviews cut to {setup['steps']} tokens)")
        trained = train_sentiment_arm(opts, cfg, out / "models" / cell, log=log)
        predictor = SentimentPredictor(out / "models" / cell)
        tokens, labels, T = long_batch(predictor, data, setup["steps"], setup["batch"])
        torch.manual_seed(seed)
        fresh = build_model(predictor.config["model"])
        norms = {"untrained": gradient_norms(fresh, tokens, labels),
                 "trained": gradient_norms(predictor.model, tokens, labels)}
        cells[cell] = {"test_accuracy": trained["accuracy"], "train_seconds": trained["train_seconds"],
                       "above_chance": trained["accuracy"] > chance + ABOVE_CHANCE, "norms": norms,
                       "decay": {s: {k: decay(v) for k, v in n.items()} for s, n in norms.items()}}
        log(f"{cell}: ‖∂L/∂h‖ {T - 1} steps back / at the loss: untrained "
            f"{cells[cell]['decay']['untrained']['h']['far_over_near']:.2e}, trained "
            f"{cells[cell]['decay']['trained']['h']['far_over_near']:.2e}")
    results = {**stamp("gradient-flow", quick), "data": data, "setup": setup, "T": T, "batch": setup["batch"],
               "texts": profile, "chance": chance, "cells": cells}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "gradient_norms.png").name]
    return finish(out, results, report(results))


def claims(results: dict[str, Any]) -> list[Claim]:
    """The plain RNN's gradient shrinks with distance, and faster than any gated cell's, untrained and trained."""
    verdicts, parts = [], []
    for state in STATES:
        cells = results["cells"]
        note = ""
        if state == "trained":  # a model at chance has not learned: its gradients say nothing about training
            at_chance = [c for c, v in cells.items() if not v["above_chance"]]
            cells = {c: v for c, v in cells.items() if v["above_chance"]}
            if at_chance:
                note = (f" ({', '.join(at_chance)} tested at chance, {100 * results['chance']:.0f} % majority "
                        "class, and are left out)")
        factor = {c: v["decay"][state]["h"]["per_step_factor"] for c, v in cells.items()}
        if "rnn" not in factor or len(factor) < 2 or any(math.isnan(f) for f in factor.values()):
            verdicts.append(None)
        else:
            verdicts.append(factor["rnn"] < 1 and min(factor, key=factor.get) == "rnn")
        ratios = ", ".join(f"{c} {v['decay'][state]['h']['far_over_near']:.1e}" for c, v in cells.items())
        parts.append(f"{state}: {ratios or 'no model'}{note}")
    judged = [(state, v) for state, v in zip(STATES, verdicts, strict=True) if v is not None]
    holds = all(v for _, v in judged) if judged else None
    scope = "" if len(judged) == len(STATES) else \
        f" (judged on the {' and '.join(s for s, _ in judged) or 'no'} state only)"
    return [Claim(claim="Gradients vanish with distance from the loss, fastest in the plain RNN", holds=holds,
                  verdict=f"‖∂L/∂h‖ {results['T'] - 1} steps back relative to at the loss — " + "; ".join(parts)
                          + scope)]


def plot(results: dict[str, Any], path: Path) -> Path:
    """Gradient norm vs distance from the loss, per cell, log-y: rows ∂L/∂h_t and ∂L/∂x_t, columns untrained
    and trained."""
    plt = pyplot()
    fig, axes = plt.subplots(2, len(STATES), figsize=(11, 7.5), sharey="row", sharex=True)
    for row, (key, label) in enumerate((("h", "mean ‖∂L/∂h_t‖"), ("x", "mean ‖∂L/∂x_t‖ (input)"))):
        for ax, state in zip(axes[row], STATES, strict=True):
            for cell, v in results["cells"].items():
                norms = v["norms"][state][key]
                ax.plot(range(len(norms)), [max(n, 1e-300) for n in reversed(norms)], label=cell)
            ax.set_yscale("log")
            at_chance = [c for c, v in results["cells"].items() if not v.get("above_chance", True)]
            note = ""
            if state == "trained" and at_chance:
                note = f" — {len(at_chance)} of {len(results['cells'])} at chance"
            ax.set_title(f"{state}: {label}{note}")
            ax.legend(fontsize=8)
        axes[row][0].set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("distance from the loss (steps back from the last token)")
    fig.suptitle(f"Gradient flow through {results['T']} steps of {results['batch']} real reviews "
                 "(loss at the last step)")
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s, T = results["setup"], results["T"]
    cap = f" and ≤ {s['minutes']} min" if s["minutes"] else ""
    rows = []
    for cell, v in results["cells"].items():
        for state in STATES:
            d, dx = v["decay"][state]["h"], v["decay"][state]["x"]
            below = "never" if d["distance_below_1e-3"] is None else d["distance_below_1e-3"]
            rows.append([cell, state, f"{d['near']:.2e}", f"{d['far']:.2e}", f"{d['far_over_near']:.1e}",
                         f"{d['per_step_factor']:.4f}", below, f"{dx['far_over_near']:.1e}",
                         (f"{v['test_accuracy']:.3f}" + ("" if v["above_chance"] else " (chance)"))
                         if state == "trained" else "–"])
    lines = ["# Gradient flow: ‖∂L/∂h_t‖ vs distance from the loss", "", setup_line(results),
             f"Data `{results['data']}`: one batch of {results['batch']} reviews cut to T = {T} tokens. Classifiers: "
             f"embedding {s['embed_dim']}, hidden {s['hidden_size']}, pooling last; trained ≤ {s['epochs']} epochs"
             f"{cap} on the {results['texts']['kept']} reviews of at least {T} words (of {results['texts']['texts']}),"
             f" cut to T. A trained model counts as trained when its test accuracy beats the majority class "
             f"({results['chance']:.3f}) by {ABOVE_CHANCE}; below that it is marked (chance) and left out of the "
             "trained verdict.", "",
             *table(["cell", "state", "‖∂L/∂h‖ at the loss", f"{T - 1} steps back", "ratio", "factor per step",
                     "first distance < 10⁻³ × at the loss", "‖∂L/∂x‖ ratio", "test acc."], rows),
             "", "The ∂L/∂h_t of the LSTM leaves out its memory cell c_t, the path its gates protect; the input "
             "gradient ∂L/∂x_t (the ‖∂L/∂x‖ column, lower plots) counts every path.",
             "", "## Verdict", "", *claims_section(results["claims"]), "", "![gradient norms](gradient_norms.png)", ""]
    return "\n".join(lines)
