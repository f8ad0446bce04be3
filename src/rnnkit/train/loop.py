"""One training loop for every task: AdamW, clipping, warmup+cosine, early stopping, exact resume, DDP.

    train_loop(model, task, cfg, DIR)
      setup       the device and DDP wrapper of the run's one DistContext, AdamW, the schedule of the plan
                  (rnnkit.train.plan), the counters; --resume: the checkpoint, its plan or an extension
      epochs      train_step (rnnkit.train.step) per batch; a validation at each epoch's end (and every
                  --eval-every steps) keeps the best weights and counts toward --patience; a checkpoint after
                  each epoch and every --checkpoint-every-s; --max-minutes stops it, or plans its epochs
      finish      the best weights on the test split → metrics.json

Resuming is exact: the batches of an epoch are a function of (seed, epoch) (the task's contract), the
dropout noise of a step is drawn from a generator seeded by (seed, step, rank), and the checkpoint holds
the model, optimizer, scheduler, task state and counters. A run killed at any point and resumed with
``--resume`` therefore ends with the same weights as one that was never interrupted.

The counters (saved in ``checkpoint.pt``; their types in :data:`rnnkit.train.schema.COUNTERS`): epoch and
batch (where the run is), step (optimizer steps done), best / best_epoch / bad_evals (the validation metric
and early stopping), elapsed_s, items, loss_sum / loss_count (the epoch's mean loss), done, warmup_steps and
planned_epochs (the plan), evaluated_at (the step of the last validation), world_size (the processes it
trains on, which a resume must match), and — until the next history record states it — extended; a run
stopped by its divergence guard also records diverged.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from rnnkit.train.checkpoint import (
    HISTORY,
    METRICS,
    TRAINING_STATE,
    WEIGHTS,
    append_jsonl,
    load_training_state,
    load_weights,
    read_jsonl,
    restore_training_state,
    save_training_state,
    save_weights,
    write_json,
    write_jsonl,
)
from rnnkit.train.config import TrainConfig, uses_amp
from rnnkit.train.distributed import DistContext, distributed
from rnnkit.train.optim import frozen_parameters, lr_factor, param_groups
from rnnkit.train.plan import Plan, estimate, new_plan, plan_budget, planning, resumable, resume_plan, target_epochs
from rnnkit.train.rundir import hold, release
from rnnkit.train.runlog import RunLog, grad_norm, parse_targets, scalars, split_size
from rnnkit.train.step import DivergedError, check_finite, train_step
from rnnkit.train.task import Task


@dataclass
class _Run:
    """What the loop's parts share, for one call of :func:`train_loop`."""

    model: torch.nn.Module  # the network (its weights are saved)
    train_model: torch.nn.Module  # what computes the loss: the network or its DDP wrapper
    task: Task
    cfg: TrainConfig
    directory: Path
    ctx: DistContext
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    plan: Plan
    counters: dict[str, Any]
    runlog: RunLog
    log: Callable[[str], None]
    started: float = 0.0  # time.monotonic() at which elapsed_s was 0
    last_checkpoint: float = 0.0
    norm: torch.Tensor | None = None  # the last step's gradient norm before clipping (when clipping)


def train_loop(model: torch.nn.Module, task: Task, cfg: TrainConfig, directory: Path, *, resume: bool = False,
               metadata: dict[str, Any] | None = None, log: Callable[[str], None] = print,
               ctx: DistContext | None = None) -> dict[str, Any]:
    """Train ``model`` on ``task``, writing weights, history and resumable state to ``directory``.

    The caller has written ``config.json`` (and tokenizer files) and seeded the model's initialisation;
    ``ctx`` is the run's distributed context (None: made here, and closed at the end). Returns (and writes,
    on rank 0, to metrics.json) the best validation and the test metrics. Rank 0 holds the directory's lock
    (:mod:`rnnkit.train.rundir`; already taken by :func:`rnnkit.train.rundir.new_run`) until it returns.
    A loss, gradient or weight that stops being finite ends it with :class:`DivergedError`.
    """
    directory = Path(directory)
    with contextlib.ExitStack() as stack:
        if ctx is None:
            ctx = stack.enter_context(distributed(cfg.device))
        if ctx.is_main:
            hold(directory, log, resume=resume)
        stack.callback(release, directory)
        run = _setup(model, task, cfg, directory, ctx, resume, log)
        try:
            _epochs(run)
        except DivergedError as exc:
            _record_divergence(run, exc)
            raise
        return _finish(run, metadata)


def _setup(model: torch.nn.Module, task: Task, cfg: TrainConfig, directory: Path, ctx: DistContext,
           resume: bool, log: Callable[[str], None]) -> _Run:
    """The model on its device (wrapped for DDP), AdamW and the schedule of the plan, the counters — restored
    from the checkpoint on --resume — and the training log; a new run's step-0 checkpoint."""
    # Backprop through long sequences yields denormal floats that slow CPU math ~10× (measured): flush them.
    torch.set_flush_denormal(True)
    model.to(ctx.device)
    train_model = model
    if ctx.enabled:
        train_model = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda"
                                              else None)
    if (cfg.lr_decay != 1.0 or cfg.gradual_unfreeze) and not hasattr(model, "layer_groups"):
        log(f"note: {type(model).__name__} is one layer group, so --lr-decay and --gradual-unfreeze change nothing")
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay, cfg.lr, cfg.lr_decay), lr=cfg.lr)
    steps_per_epoch = len(task.train_batches(0, ctx.rank, ctx.world_size))
    if steps_per_epoch == 0:
        raise ValueError("the training split yields no batches; is the dataset empty?")
    plan = new_plan(cfg, steps_per_epoch)
    # The schedule reads the plan at every step, so a plan made later (a budget, an extension) stretches it.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, plan.total, plan.warmup, cfg.schedule))
    counters: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "best": None, "best_epoch": -1,
                                "bad_evals": 0, "elapsed_s": 0.0, "items": 0, "loss_sum": 0.0,
                                "loss_count": 0, "done": False, "warmup_steps": plan.warmup, "planned_epochs": None,
                                "world_size": ctx.world_size}
    if resume:
        _resume(directory, cfg, model, optimizer, scheduler, task, plan, counters, ctx, log)
    counters.setdefault("evaluated_at", -1)  # the step of the last validation, saved with the counters
    runlog = RunLog(directory, parse_targets(cfg.log) if ctx.is_main else (), every=cfg.log_every,
                    resume_step=counters["step"] if resume else None,
                    evaluated=counters["evaluated_at"] == counters["step"])
    run = _Run(model, train_model, task, cfg, directory, ctx, optimizer, scheduler, plan, counters, runlog, log)
    if not resume:  # step 0: a run killed before its first evaluation can be resumed, not only started anew
        _checkpoint(run)
    return run


def _resume(directory: Path, cfg: TrainConfig, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: Any, task: Task, plan: Plan, counters: dict[str, Any], ctx: DistContext,
            log: Callable[[str], None]) -> None:
    """Load the checkpoint into the model, optimizer, scheduler, task and ``counters``; make the plan (or the
    extension) of the resumed run; drop the history lines written after the checkpoint (a kill between the
    two writes)."""
    state = load_training_state(directory)
    before = resumable(state, cfg, directory, ctx.world_size)
    counters.update(restore_training_state(directory, state, model, optimizer, scheduler, task))
    resume_plan(plan, cfg, counters, before, directory, log)
    if ctx.is_main:
        last = counters.get("evaluated_at")  # the step of the last evaluation the checkpoint counts
        if last is None:  # a checkpoint from before --eval-every: evaluations were at epoch ends only
            kept = [r for r in read_jsonl(directory / HISTORY) if r.get("epoch", 0) <= counters["epoch"]]
        else:
            kept = [r for r in read_jsonl(directory / HISTORY) if r.get("step", 0) <= last]
        write_jsonl(directory / HISTORY, kept)
    log(f"resuming {directory} at epoch {counters['epoch'] + 1}, batch {counters['batch']} "
        f"(step {counters['step']})")


def _checkpoint(run: _Run) -> None:
    """The resumable state to ``checkpoint.pt`` (rank 0), once the weights are known to be finite; the log on
    disk then reaches at least as far as the state a resume starts from."""
    check_finite(run.model, run.counters["step"])
    if run.ctx.is_main:
        save_training_state(run.directory, {
            "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(), "task": run.task.state_dict(), "counters": dict(run.counters),
            "train_config": run.cfg.fingerprint()})
    run.runlog.flush()
    run.last_checkpoint = time.monotonic()


def _log_train(run: _Run, epochs_done: float) -> None:
    value = grad_norm(run.model.parameters()) if run.norm is None else run.norm.item()
    run.runlog.train(run.counters["step"], epochs_done, run.counters["elapsed_s"], run.scheduler.get_last_lr()[0],
                     value)


def _validate(run: _Run, epoch: int, where: str, items: int, seconds: float) -> None:
    """Evaluate on the validation split, keep the weights if they are the best so far, count toward
    --patience, and record it (history.jsonl, the training log, one line of the log)."""
    counters, task = run.counters, run.task
    epochs_done = epoch + counters["batch"] / max(1, run.plan.steps_per_epoch)
    _log_train(run, epochs_done)  # the steps since the last row, timed before the evaluation
    metrics = task.evaluate(run.model, "val", run.ctx.device)
    value = float(metrics[task.metric])
    record = {"epoch": epoch + 1, "step": counters["step"], "lr": run.scheduler.get_last_lr()[0],
              "train_loss": counters["loss_sum"] / max(1, counters["loss_count"]),
              "train_items_per_s": items / max(1e-9, seconds),
              "elapsed_s": round(counters["elapsed_s"], 2), "val": metrics}
    if "extended" in counters:  # the first evaluation after --resume --epochs states the extension
        record["extended"] = counters.pop("extended")
    best = counters["best"]
    improved = best is None or (value > best if task.higher_is_better else value < best)
    if improved:
        counters.update(best=value, best_epoch=epoch + 1, bad_evals=0)
        check_finite(run.model, counters["step"])
        if run.ctx.is_main:
            save_weights(run.model, run.directory)
    else:
        counters["bad_evals"] += 1
    if run.ctx.is_main:
        append_jsonl(run.directory / HISTORY, record)
    run.runlog.validation(counters["step"], epochs_done, counters["elapsed_s"], metrics)
    counters["evaluated_at"] = counters["step"]
    run.log(f"{where}: train loss {record['train_loss']:.4f}, val {task.metric} {value:.4f}"
            f"{' (best)' if improved else ''}, {record['train_items_per_s']:,.0f} items/s, "
            f"{counters['elapsed_s']:.0f} s")


def _patience_spent(run: _Run) -> bool:
    return run.cfg.patience > 0 and run.counters["bad_evals"] >= run.cfg.patience


def _interactive() -> bool:
    """Progress bars are for a person watching: a terminal, or a notebook; a log file gets one line per epoch."""
    stream = sys.stderr
    return stream is not None and (stream.isatty() or type(stream).__module__.startswith("ipykernel"))


@contextlib.contextmanager
def _bar(run: _Run, epoch: int, batches: int) -> Iterator[Any]:
    of = "?" if planning(run.cfg, run.counters) else target_epochs(run.cfg, run.counters)
    bar = tqdm(total=batches, initial=run.counters["batch"], desc=f"epoch {epoch + 1}/{of}", leave=False,
               disable=not (run.cfg.progress and run.ctx.is_main and _interactive()), dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def _train_epoch(run: _Run) -> bool:
    """Train the rest of the current epoch (from the counters' batch); True if --max-minutes ran out."""
    counters, cfg = run.counters, run.cfg
    epoch = counters["epoch"]
    if counters["batch"] == 0:
        run.task.start_epoch(epoch)
    batches = run.task.train_batches(epoch, run.ctx.rank, run.ctx.world_size)
    frozen = frozen_parameters(run.model, epoch) if cfg.gradual_unfreeze else []
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if uses_amp(cfg, run.ctx.device) else None
    epoch_start, epoch_items = time.monotonic(), 0
    out_of_time = False
    with _bar(run, epoch, len(batches)) as bar:
        for i in range(counters["batch"], len(batches)):
            value, items, run.norm = train_step(run.model, run.train_model, run.task, batches[i], run.optimizer,
                                                run.scheduler, cfg=cfg, step=counters["step"], ctx=run.ctx,
                                                frozen=frozen, autocast=autocast)
            counters.update(batch=i + 1, step=counters["step"] + 1, items=counters["items"] + items,
                            loss_sum=counters["loss_sum"] + value, loss_count=counters["loss_count"] + 1)
            epoch_items += items
            counters["elapsed_s"] = time.monotonic() - run.started
            run.runlog.add(value, items)
            if run.runlog.due(counters["step"]):
                _log_train(run, epoch + (i + 1) / len(batches))
            if cfg.eval_every and counters["step"] % cfg.eval_every == 0 and i + 1 < len(batches):
                eval_start = time.monotonic()
                _validate(run, epoch, f"epoch {epoch + 1}, step {counters['step']}", epoch_items,
                          eval_start - epoch_start)
                epoch_start += time.monotonic() - eval_start  # throughput counts training time only
                if _patience_spent(run):
                    break  # the epoch's end records the stop (a kill before it replays from the last checkpoint)
                _checkpoint(run)
            bar.update(1)
            if i % 10 == 0:
                bar.set_postfix(loss=f"{counters['loss_sum'] / counters['loss_count']:.4f}", refresh=False)
            if cfg.max_minutes is not None and run.ctx.any(counters["elapsed_s"] > 60 * cfg.max_minutes):
                out_of_time = True
                break
            if time.monotonic() - run.last_checkpoint > cfg.checkpoint_every_s:
                _checkpoint(run)
    if counters["evaluated_at"] != counters["step"]:  # not evaluated already by --eval-every at this step
        _validate(run, epoch, f"epoch {epoch + 1}", epoch_items, time.monotonic() - epoch_start)
    return out_of_time


def _epochs(run: _Run) -> None:
    """Epoch after epoch until the plan's last, early stopping, or the budget; a checkpoint after each."""
    counters, cfg = run.counters, run.cfg
    run.started = time.monotonic() - counters["elapsed_s"]
    run.last_checkpoint = time.monotonic()
    stop = counters["done"]
    estimated = False
    while not stop and counters["epoch"] < target_epochs(cfg, counters):
        whole = counters["batch"] == 0  # an epoch this process trains from its first batch
        epoch_start = time.monotonic()
        out_of_time = _train_epoch(run)
        counters.update(epoch=counters["epoch"] + 1, batch=0, loss_sum=0.0, loss_count=0)
        planned = planning(cfg, counters) and not out_of_time
        if planned:
            plan_budget(run.plan, cfg, counters, time.monotonic() - run.started, run.ctx, run.log)
        stop = out_of_time or _patience_spent(run)
        if out_of_time:
            run.log(f"stopping: --max-minutes {cfg.max_minutes} reached")
        elif stop and counters["epoch"] < target_epochs(cfg, counters):
            run.log(f"stopping early: no improvement of val {run.task.metric} in {cfg.patience} evaluations")
        counters["done"] = stop or counters["epoch"] >= target_epochs(cfg, counters)
        _checkpoint(run)
        if whole and not estimated and not planned and not counters["done"]:
            run.log(estimate(cfg, counters, time.monotonic() - epoch_start))
        estimated = estimated or whole


def _record_divergence(run: _Run, exc: DivergedError) -> None:
    """Note in the last checkpoint (its state untouched) that the run diverged after it, so that --resume
    says so instead of repeating the same steps; complete the error with what to do."""
    diverged = {"step": exc.step, "what": exc.what, "value": str(exc.value)}
    path = run.directory / TRAINING_STATE
    if run.ctx.is_main and path.exists():
        state = load_training_state(run.directory)
        state["counters"]["diverged"] = diverged
        save_training_state(run.directory, state)
    last = "its best weights and " if (run.directory / WEIGHTS).exists() else ""
    exc.advice = (f": the run diverged and stopped before that update; start a new run with a lower --lr (this "
                  f"one: {run.cfg.lr:g}), e.g. `rnnkit train --from {run.directory} --lr {run.cfg.lr / 10:g} "
                  f"--out NEW_DIR` ({run.directory} keeps {last}its last good checkpoint)")


def _finish(run: _Run, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The best weights on the test split: the result, written to metrics.json on rank 0."""
    counters, cfg = run.counters, run.cfg
    run.ctx.barrier()
    load_weights(run.model, run.directory)
    notes = [split_size(run.task, "test")] + (["not part of the --max-minutes budget"] if cfg.max_minutes else [])
    about = "; ".join(note for note in notes if note)
    run.log(f"training done in {counters['elapsed_s']:.0f} s; evaluating the best weights (epoch "
            f"{counters['best_epoch']}) on the test split{f' ({about})' if about else ''}…")
    test_start = time.monotonic()
    test = run.task.evaluate(run.model, "test", run.ctx.device)
    run.log(f"test evaluation took {time.monotonic() - test_start:.0f} s")
    run.runlog.write(counters["step"], counters["epoch"], counters["elapsed_s"], scalars(test, "test"))
    run.runlog.close()
    result = {"test": test, "best_val": {run.task.metric: counters["best"], "epoch": counters["best_epoch"]},
              "train_seconds": round(counters["elapsed_s"], 2), "steps": counters["step"],
              "epochs": counters["epoch"],
              **({"planned_epochs": counters["planned_epochs"]} if counters.get("planned_epochs") else {}),
              "device": str(run.ctx.device), "world_size": run.ctx.world_size,
              "torch_threads": torch.get_num_threads(), "seed": cfg.seed,
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(metadata or {})}
    if run.ctx.is_main:
        write_json(run.directory / METRICS, result)
    return result


__all__ = ["train_loop"]
