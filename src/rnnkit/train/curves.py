"""Training curves of one or more model directories, drawn to a PNG (``rnnkit plot``).

Two panels share the x axis (optimizer steps, or seconds of training):

    ┌ training loss ─────────────┐ ┌ validation <metric> ───────┐
    │ steps.csv train/loss       │ │ history.jsonl val[metric]  │
    │ (history's train_loss when │ │ one point per evaluation   │
    │  the run has no steps.csv) │ │                            │
    └────────────────────────────┘ └────────────────────────────┘

Each run is one colour in both panels, labelled with its directory name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rnnkit.extras import optional_import
from rnnkit.files import CONFIG_BYTES, ParseLimitError, UnreadableFileError, atomic_write, loads_json, read_text
from rnnkit.train.checkpoint import HISTORY, METRICS, ModelDirError, read_jsonl
from rnnkit.train.runlog import STEPS, read_steps

X_AXES = {"step": "optimizer step", "time": "training time (s)"}


@dataclass
class Curves:
    """What one model directory logged: (x, value) points of the training loss and of every validation metric."""

    name: str
    metric: str | None  # the task's validation metric (metrics.json), when the run has finished
    loss: list[tuple[float, float]]
    val: dict[str, list[tuple[float, float]]]


def read_curves(directory: Path, x: str = "step") -> Curves:
    """The curves of the model directory ``directory`` against ``x`` ("step" or "time")."""
    directory = Path(directory)
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    if not directory.is_dir():
        raise ModelDirError(f"{directory} is not a directory; pass model directories written by rnnkit train")
    history = read_jsonl(directory / HISTORY) if (directory / HISTORY).exists() else []
    if not history and not (directory / STEPS).exists():
        raise ModelDirError(f"{directory} holds no training log ({HISTORY} or {STEPS}); pass a model directory "
                            "written by rnnkit train")
    key = "step" if x == "step" else "elapsed_s"
    val: dict[str, list[tuple[float, float]]] = {}
    for record in history:
        for name, value in record.get("val", {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                val.setdefault(name, []).append((record[key], float(value)))
    loss = [(record[key], record["train_loss"]) for record in history]
    if (directory / STEPS).exists():
        loss = _train_loss(directory, x) or loss
    metric = None
    if (directory / METRICS).exists():
        try:
            metrics = loads_json(read_text(directory / METRICS, CONFIG_BYTES, "metrics file"), str(directory / METRICS))
        except (UnreadableFileError, ParseLimitError, json.JSONDecodeError) as exc:
            raise ModelDirError(f"{directory / METRICS}: {exc}") from None
        best = metrics.get("best_val", {}) if isinstance(metrics, dict) else {}
        best = best if isinstance(best, dict) else {}
        metric = next((name for name in best if name != "epoch"), None)
    return Curves(name=directory.resolve().name, metric=metric, loss=loss, val=val)


def _train_loss(directory: Path, x: str) -> list[tuple[float, float]]:
    if x == "step":
        return [(float(step), value) for step, value in read_steps(directory).get("train/loss", [])]
    import csv

    with open(directory / STEPS, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if row["tag"] == "train/loss"]
    return [(float(row["elapsed_s"]), float(row["value"])) for row in rows]


def choose_metric(runs: list[Curves], metric: str | None) -> str:
    """``metric`` if every run has it; by default the first run's own validation metric."""
    if metric is None:
        metric = runs[0].metric or next(iter(runs[0].val), None)
        if metric is None:
            raise ModelDirError(f"{runs[0].name} has no validation record yet; plot it after its first evaluation")
    for run in runs:
        if metric not in run.val:
            raise ValueError(f"{run.name} has no validation metric {metric!r}; choose --metric from "
                             f"{', '.join(sorted(run.val)) or '(none yet)'}")
    return metric


def plot_curves(directories: list[Path], out: Path, *, metric: str | None = None, x: str = "step",
                log_loss: bool = False) -> Path:
    """Draw the training loss and validation ``metric`` of every directory (overlaid) to the PNG ``out``."""
    Figure = optional_import("matplotlib.figure", "drawing plots").Figure  # no pyplot: no GUI backend, no globals
    runs = [read_curves(Path(d), x) for d in directories]
    _unique_names(runs, [Path(d) for d in directories])
    metric = choose_metric(runs, metric)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    loss_ax, val_ax = fig.subplots(1, 2)
    for index, run in enumerate(runs):
        colour = f"C{index % 10}"
        if run.loss:
            loss_ax.plot(*zip(*run.loss, strict=True), color=colour, linewidth=1.2, label=run.name)
        points = run.val[metric]
        val_ax.plot(*zip(*points, strict=True), color=colour, marker="o", markersize=3.5, linewidth=1.2,
                    label=run.name)
    loss_ax.set_title("training loss")
    loss_ax.set_ylabel("training loss (mean over the logged steps)")
    val_ax.set_title(f"validation {metric}")
    val_ax.set_ylabel(f"validation {metric}")
    if log_loss:
        loss_ax.set_yscale("log")
    for ax in (loss_ax, val_ax):
        ax.set_xlabel(X_AXES[x])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def _unique_names(runs: list[Curves], directories: list[Path]) -> None:
    """Label runs that share a folder name (``a/run``, ``b/run``) with their parent folder too."""
    names = [run.name for run in runs]
    for run, directory in zip(runs, directories, strict=True):
        if names.count(run.name) > 1:
            run.name = f"{directory.resolve().parent.name}/{run.name}"
