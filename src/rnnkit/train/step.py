"""One optimizer step, and the guard that stops a diverging run before a non-finite update lands.

    θ ← AdamW(θ, clip(∇θ L(batch)))      L: the task's mean loss of the batch

The guard: a loss that is NaN or ±inf is refused before ``backward``; a gradient whose norm is not finite
(seen when clipping computes it) before ``optimizer.step``; weights that are not finite before they are
saved (:func:`check_finite`). The run then stops with :class:`DivergedError`, its last checkpoint and best
weights as they were.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import torch

from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import DistContext
from rnnkit.train.task import Task


class DivergedError(FloatingPointError):
    """The training stopped being finite: ``what`` (the training loss, the gradient norm, the weights)
    became ``value`` at optimizer step ``step``."""

    def __init__(self, what: str, value: float | str, step: int) -> None:
        super().__init__(what, value, step)
        self.what = what
        self.value = value
        self.step = step
        self.advice = ""  # what to do, added by the loop that knows the run

    def __str__(self) -> str:
        return f"{self.what} became {self.value} at step {self.step}{self.advice}"


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of a step's dropout noise: a function of (seed, step, rank), so a resumed run draws the same."""
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def check_finite(model: torch.nn.Module, step: int) -> None:
    """Refuse to go on with weights that are NaN or ±inf (an update that overflowed)."""
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise DivergedError(f"the weights ({name})", "non-finite", step)


def train_step(model: torch.nn.Module, train_model: torch.nn.Module, task: Task, batch: Any,
               optimizer: torch.optim.Optimizer, scheduler: Any, *, cfg: TrainConfig, step: int, ctx: DistContext,
               frozen: Sequence[torch.nn.Parameter] = (),
               autocast: Any = None) -> tuple[float, int, torch.Tensor | None]:
    """One step on ``batch``: loss, backward, clipping, AdamW, schedule. Returns the loss (under DDP, the
    mean over the ranks: the global batch's), the items this rank's batch covered and the gradient norm
    before clipping (None without clipping).

    ``model`` is the network, ``train_model`` what computes the loss (``model`` or its DDP wrapper);
    ``frozen``: parameters that keep their values this epoch (gradual unfreezing); ``autocast``: the
    mixed-precision context (:func:`rnnkit.train.config.uses_amp`). Raises :class:`DivergedError` (on every
    rank together) before a non-finite loss or gradient reaches the weights."""
    torch.manual_seed(step_seed(cfg.seed, step, ctx.rank))
    train_model.train()
    with autocast if autocast is not None else contextlib.nullcontext():
        loss, items = task.loss(train_model, batch, ctx.device)
    # The global batch's loss (the ranks' slices are equal: rnnkit.text.BucketBatchSampler), on every rank;
    # NaN or ±inf on any rank makes it so, and every rank stops together.
    value = ctx.mean(loss.item())
    if not math.isfinite(value):
        raise DivergedError("the training loss", value, step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for p in frozen:  # AdamW leaves a parameter without a gradient untouched (no decay, no moments)
        p.grad = None
    norm = None
    if cfg.clip_norm:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
        if not bool(torch.isfinite(norm)):  # the same on every rank: DDP averaged the gradients
            raise DivergedError("the gradient norm", norm.item(), step)
    optimizer.step()
    scheduler.step()
    return value, items, norm
