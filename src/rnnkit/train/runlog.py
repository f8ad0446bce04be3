"""The training log beside the model: a CSV of scalars (``steps.csv``) and TensorBoard event files.

``train_loop`` writes a row every ``--log-every`` optimizer steps and at each evaluation; only rank 0 writes.
The same tags are used in both places::

    train/loss         mean training loss of the steps since the previous row
    train/lr           learning rate (top layer group) after the step
    train/grad_norm    global L2 norm ‖∇θ L‖₂ of the step's gradient, before clipping (what --clip-norm bounds)
    train/items_per_s  throughput since the previous row (items: the task's unit — tokens, sequences)
    val/<name>         every numeric validation metric, at each evaluation (val/accuracy, val/perplexity, …)

``steps.csv`` is long-format (``step,epoch,elapsed_s,tag,value``: one scalar a line), so a run of any task
has the same columns and a resumed run can drop the rows logged after its checkpoint. TensorBoard's own
reader does the same for its event files, from the ``purge_step`` a resumed writer records.

Logging never changes a result: it reads the loss, the LR and the gradient after the step has used them.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from rnnkit.extras import installed, require
from rnnkit.files import atomic_write, full_disk_is_one_line

STEPS = "steps.csv"
COLUMNS = ("step", "epoch", "elapsed_s", "tag", "value")
TARGETS = ("tensorboard", "csv")


def tensorboard_installed() -> bool:
    """True when ``torch.utils.tensorboard`` can write event files (it needs the ``log`` extra's tensorboard)."""
    return installed("tensorboard")


def parse_targets(spec: str) -> tuple[str, ...]:
    """``--log``: ``auto`` (the CSV, plus TensorBoard where installed), ``none``, or a comma list of
    ``tensorboard`` and ``csv``. Unknown names are a one-line error that lists the choices."""
    text = spec.strip().lower()
    if text == "auto":
        return ("csv", "tensorboard") if tensorboard_installed() else ("csv",)
    if text == "none":
        return ()
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in TARGETS]
    if unknown or not names:
        raise ValueError(f"--log {spec!r}: choose auto, none, or a comma list of {', '.join(TARGETS)}")
    return names


def grad_norm(parameters: Iterable[torch.nn.Parameter]) -> float:
    """‖g‖₂ over every gradient: the same quantity ``clip_grad_norm_`` returns (0 when none has a gradient)."""
    norms = [torch.linalg.vector_norm(p.grad.detach().float()) for p in parameters if p.grad is not None]
    if not norms:
        return 0.0
    return torch.linalg.vector_norm(torch.stack(norms)).item()


def scalars(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    """The numeric, finite top-level entries of ``metrics`` as ``prefix/name`` tags (bools, lists, dicts and
    text — samples, per-bucket tables, the decoding method — are left out)."""
    result = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            result[f"{prefix}/{name}"] = float(value)
    return result


class RunLog:
    """Writer of ``steps.csv`` and the TensorBoard events of one run; every method is a no-op when
    ``targets`` is empty (ranks other than 0, ``--log none``)."""

    def __init__(self, directory: Path, targets: tuple[str, ...], *, every: int, resume_step: int | None = None,
                 evaluated: bool = True):
        """``resume_step``: the step of the checkpoint a resumed run starts from; ``evaluated``: whether that
        checkpoint counts the validation at that step (the loop may have saved it between the step and the
        evaluation). The rows the resumed run will write again are dropped."""
        self.directory = Path(directory)
        self.targets = targets
        self.every = every
        self._loss_sum = 0.0
        self._steps = 0
        self._items = 0
        self._since = time.monotonic()
        self._csv: Path | None = None
        self._tb: Any = None
        if "tensorboard" in targets:
            self._tb = _tensorboard_writer(self.directory, resume_step, evaluated)
        if "csv" in targets:
            self._csv = self.directory / STEPS
            if resume_step is not None and self._csv.exists():
                _drop_rows_after(self._csv, resume_step, evaluated)
            if not self._csv.exists():
                with open(self._csv, "w", newline="", encoding="utf-8") as f:
                    csv.writer(f).writerow(COLUMNS)

    def add(self, loss: float, items: int) -> None:
        """Count one optimizer step (its loss and items) into the next ``train/*`` row."""
        self._loss_sum += loss
        self._steps += 1
        self._items += items

    def due(self, step: int) -> bool:
        """True when ``step`` (counted from 1) is one to log a ``train/*`` row at."""
        return bool(self.targets) and step % self.every == 0

    def train(self, step: int, epoch: float, elapsed_s: float, lr: float, norm: float) -> None:
        """Write the ``train/*`` row of the steps counted since the previous one."""
        if not self.targets or self._steps == 0:
            return
        seconds = max(1e-9, time.monotonic() - self._since)
        self.write(step, epoch, elapsed_s, {"train/loss": self._loss_sum / self._steps, "train/lr": lr,
                                            "train/grad_norm": norm, "train/items_per_s": self._items / seconds})
        self._loss_sum = 0.0
        self._steps = 0
        self._items = 0
        self._since = time.monotonic()

    def validation(self, step: int, epoch: float, elapsed_s: float, metrics: dict[str, Any]) -> None:
        """Write the numeric validation metrics as ``val/*``; the time spent evaluating is not counted
        as training throughput."""
        if not self.targets:
            return
        self.write(step, epoch, elapsed_s, scalars(metrics, "val"))
        self._since = time.monotonic()

    def write(self, step: int, epoch: float, elapsed_s: float, values: dict[str, float]) -> None:
        """One row per scalar in ``steps.csv``, one scalar event per tag."""
        if self._csv is not None:  # opened per row: a run that dies holds no open file, and loses no row
            with full_disk_is_one_line(self.directory), open(self._csv, "a", newline="", encoding="utf-8") as f:
                rows = csv.writer(f)
                for tag, value in values.items():
                    rows.writerow((step, round(epoch, 4), round(elapsed_s, 2), tag, repr(float(value))))
        if self._tb is not None:
            for tag, value in values.items():
                self._tb.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        """Push buffered TensorBoard events to disk (the CSV is written through at every row)."""
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        """Flush and close the TensorBoard writer; later calls write nothing."""
        self.targets = ()
        self._csv = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _tensorboard_writer(directory: Path, resume_step: int | None, evaluated: bool) -> Any:
    require("log", "--log tensorboard", alternative="pass --log csv")
    from torch.utils.tensorboard import SummaryWriter

    # A resumed run repeats the steps after its checkpoint (and the validation at it, when the checkpoint came
    # first): purge_step makes TensorBoard's reader drop the events the killed process logged from there on.
    purge = None if resume_step is None else resume_step + int(evaluated)
    return SummaryWriter(log_dir=str(directory), purge_step=purge, flush_secs=30)


def _drop_rows_after(path: Path, step: int, evaluated: bool) -> None:
    """Keep the header and the rows the checkpoint being resumed has seen: steps < ``step``, and at ``step``
    the training rows (and the validation, if ``evaluated``); never the final test rows (a resumed run
    evaluates the test split again)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [row for row in rows[1:] if row]
    kept = [header]
    for row in body:
        seen = int(row[0]) < step or (int(row[0]) == step and (evaluated or row[3].startswith("train/")))
        if seen and not row[3].startswith("test/"):
            kept.append(row)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)

    atomic_write(path, write)


def read_steps(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """``steps.csv`` of a model directory as ``{tag: [(step, value), …]}`` ({} when there is none)."""
    path = Path(directory) / STEPS
    if not path.exists():
        return {}
    series: dict[str, list[tuple[int, float]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["tag"], []).append((int(row["step"]), float(row["value"])))
    return series


def split_size(task: Any, split: str) -> str | None:
    """How much ``split`` holds, for the notice before an evaluation ("1,621 examples", "61,834 tokens"),
    read from the containers rnnkit's tasks keep (``splits``, ``pairs``, token streams ``ids``); None when
    the task keeps its data otherwise."""
    for attribute in ("splits", "pairs"):
        container = getattr(task, attribute, None)
        data = container.get(split) if isinstance(container, dict) else None
        if hasattr(data, "__len__") and not isinstance(data, tuple | torch.Tensor):  # a tuple: (inputs, targets)
            return f"{len(data):,} examples"
    ids = getattr(task, "ids", None)
    if isinstance(ids, dict) and isinstance(ids.get(split), torch.Tensor):
        return f"{ids[split].numel():,} tokens"
    return None
