"""The plan of a run: how many epochs it trains, and how many steps its learning-rate schedule spans.

    --epochs N                  N epochs
    --max-minutes M, no epochs  DEFAULT_EPOCHS provisionally; after epoch 1, as many epochs as M minutes hold
                                at that pace, and the schedule's decay stretched to end with them (plan_budget)
    neither                     DEFAULT_EPOCHS
    --resume                    the plan the run was started with (resume_plan; other settings are refused)
    --resume --epochs N         N above the run's own extends it: the steps taken stay as they were, the warmup
                                is kept and the decay after it recomputed for the new total (so it is not the
                                run an N-epoch start would give); the first history record after it carries
                                ``"extended"``

The plan's numbers that a resumed run needs are saved with the loop's counters in ``checkpoint.pt``
(``warmup_steps``, ``planned_epochs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.train.config import DEFAULT_EPOCHS, TrainConfig
from rnnkit.train.distributed import DistContext
from rnnkit.train.schema import ModelDirError


@dataclass
class Plan:
    """The schedule's length: ``total`` optimizer steps, the first ``warmup`` of them rising linearly
    (:func:`rnnkit.train.optim.lr_factor` reads both at every step, so a plan made later stretches it)."""

    steps_per_epoch: int
    total: int
    warmup: int


def new_plan(cfg: TrainConfig, steps_per_epoch: int) -> Plan:
    """The plan of a new run; with --max-minutes and no --epochs, DEFAULT_EPOCHS is provisional."""
    total = steps_per_epoch * (cfg.epochs or DEFAULT_EPOCHS)
    return Plan(steps_per_epoch, total, max(1, int(cfg.warmup * total)))


def target_epochs(cfg: TrainConfig, counters: dict[str, Any]) -> int:
    """The epochs this run trains: --epochs, else the plan that fills --max-minutes, else DEFAULT_EPOCHS."""
    return cfg.epochs or counters.get("planned_epochs") or DEFAULT_EPOCHS


def planning(cfg: TrainConfig, counters: dict[str, Any]) -> bool:
    """True until a run that fills --max-minutes has planned its epochs (at the end of epoch 1)."""
    return cfg.epochs is None and cfg.max_minutes is not None and counters.get("planned_epochs") is None


def plan_budget(plan: Plan, cfg: TrainConfig, counters: dict[str, Any], spent: float, ctx: DistContext,
                log: Callable[[str], None]) -> None:
    """--max-minutes without --epochs, after epoch 1 (its validation included) took ``spent`` seconds: plan
    as many epochs as the budget holds at that pace (the same on every rank: the smallest), and stretch the
    schedule's decay to end with them."""
    fit = max(1, int(60 * cfg.max_minutes // max(spent, 1e-9)))
    fit = ctx.minimum(fit)
    counters["planned_epochs"] = fit
    plan.total = plan.steps_per_epoch * fit
    log(f"epoch 1 took {spent:.0f} s: planning {fit} epoch{'s' if fit > 1 else ''} to fill --max-minutes "
        f"{cfg.max_minutes:g}; the LR schedule now decays to 0 at the end of epoch {fit}")


def resumable(state: dict[str, Any], cfg: TrainConfig, directory: Path, world_size: int = 1) -> int | None:
    """Check that ``cfg`` on ``world_size`` processes may continue the saved training ``state``; return the
    epochs the run was started for (None: a budget run stopped before it planned them). Refused: other
    settings, fewer epochs, another number of processes (a step's batch is --batch-size × processes: the
    steps of an epoch and the schedule would change under the counters), and a run stopped by its
    divergence guard (resuming would repeat the same steps)."""
    saved = {**TrainConfig().fingerprint(), **state.get("train_config", {})}  # defaults: fields added later
    if {**saved, "epochs": cfg.epochs} != cfg.fingerprint():
        raise ModelDirError(f"{directory} was trained with other settings; resume without changing them "
                            f"(saved: {state.get('train_config')})")
    trained_on = state["counters"].get("world_size")  # checkpoints from before it was recorded: not checked
    if trained_on is not None and trained_on != world_size:
        raise ModelDirError(f"{directory} was trained on {trained_on} process(es) and this resume runs on "
                            f"{world_size}; a step's batch is --batch-size × processes, so resume it on "
                            f"{trained_on} (torchrun: --nnodes × --nproc-per-node)")
    diverged = state["counters"].get("diverged")
    if diverged is not None:
        raise ModelDirError(f"{directory} stopped at step {diverged.get('step')} because {diverged.get('what')} "
                            f"became {diverged.get('value')}; a resume would repeat the same steps: start a new "
                            f"run with a lower --lr, e.g. `rnnkit train --from {directory} --lr "
                            f"{saved['lr'] / 10:g} --out NEW_DIR`")
    before = saved["epochs"] or state["counters"].get("planned_epochs")
    if cfg.epochs is not None and before is not None and cfg.epochs < before:
        raise ValueError(f"{directory} was started for {before} epochs; --resume --epochs can only "
                         f"extend a run (give {before} or more)")
    return before


def resume_plan(plan: Plan, cfg: TrainConfig, counters: dict[str, Any], before: int | None, directory: Path,
                log: Callable[[str], None]) -> None:
    """The plan of a resumed run from its restored ``counters``; --epochs above ``before`` extends it."""
    plan.total = plan.steps_per_epoch * target_epochs(cfg, counters)
    plan.warmup = counters.get("warmup_steps") or plan.warmup
    if cfg.epochs is None or cfg.epochs == before:
        return
    before = before or DEFAULT_EPOCHS  # a budget run killed in epoch 1 had the provisional schedule
    plan.warmup = counters.get("warmup_steps") or max(1, int(cfg.warmup * plan.steps_per_epoch * before))
    if counters["done"]:  # a finished (or early-stopped) run trains on, with --patience counted anew
        counters.update(done=False, bad_evals=0)
    # stated in the run's next history record (kept in the counters until then)
    counters["extended"] = {"from_epochs": before, "to_epochs": cfg.epochs, "at_step": counters["step"],
                            "schedule_steps": plan.total}
    log(f"extending {directory} from {before} to {cfg.epochs} epochs at step {counters['step']}: "
        f"the LR schedule is recomputed for {plan.total} steps (warmup kept)")


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 05 min``: a time for a person to read."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def estimate(cfg: TrainConfig, counters: dict[str, Any], epoch_seconds: float) -> str:
    """The log line after the first whole epoch a process trained: how long the run's epochs take at that
    pace (a budget run: its budget), and how much of that is left."""
    epochs = target_epochs(cfg, counters)
    left = max(0, epochs - counters["epoch"]) * epoch_seconds
    total = epochs * epoch_seconds
    if cfg.max_minutes is not None:
        left = min(left, max(0.0, 60 * cfg.max_minutes - counters["elapsed_s"]))
        total = min(total, 60 * cfg.max_minutes)
    early = ", less if it stops early (--patience)" if cfg.patience > 0 else ""
    return (f"an epoch takes {duration(epoch_seconds)}: {epochs} epochs, about {duration(total)} of training in "
            f"all, {duration(left)} left{early}")
