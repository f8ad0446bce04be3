"""One training loop for every task: AdamW, clipping, warmup+cosine, early stopping, exact resume, DDP.

Resuming is exact: the batches of an epoch are a function of (seed, epoch) (the task's contract), the
dropout noise of a step is drawn from a generator seeded by (seed, step, rank), and the checkpoint holds
the model, optimizer, scheduler, task state and counters. A run killed at any point and resumed with
``--resume`` therefore ends with the same weights as one that was never interrupted.

``--resume DIR --epochs N`` (N above the run's own) extends a finished or killed run: the steps taken stay
as they were, the warmup is kept and the decay after it is recomputed for the new total (so it is not the
run an N-epoch start would give); the first history record after it carries ``"extended"``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from rnnkit.train.checkpoint import (
    HISTORY,
    METRICS,
    ModelDirError,
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
from rnnkit.train.config import DEFAULT_EPOCHS, TrainConfig, resolve_device
from rnnkit.train.distributed import DistContext, init_distributed, is_main_process
from rnnkit.train.optim import frozen_parameters, lr_factor, param_groups
from rnnkit.train.rundir import hold, release, start_new, start_resume
from rnnkit.train.runlog import RunLog, grad_norm, parse_targets, scalars, split_size
from rnnkit.train.schema import check_settings
from rnnkit.train.task import Task


def _quiet(_: str) -> None:
    """The log of ranks other than 0."""


def new_run(out: Path, cfg: TrainConfig, log: Callable[[str], None]) -> tuple[Path, DistContext, Callable]:
    """Start a run into the model directory ``out``: join the process group (under torchrun), lock ``out``
    (refusing a file, a folder of other things, a trained model or a live run: :func:`rundir.start_new`),
    and silence the log on ranks other than 0. Call it before loading any data."""
    out = Path(out)
    ctx = init_distributed(resolve_device(cfg.device).type)
    if ctx.is_main:  # lock the directory before any data is loaded (rnnkit.train.rundir)
        start_new(out, log)
    ctx.barrier()
    return out, ctx, log if ctx.is_main else _quiet


def resumed_run(config: dict, options: Callable[..., Any], overrides: dict[str, Any],
                log: Callable[[str], None], directory: Path | None = None) -> tuple[Any, TrainConfig, Callable]:
    """The options and training settings a killed run was started with (runtime ``overrides`` applied),
    read from its ``config.json``, with the process group joined and the log of ranks > 0 silenced.

    With ``directory`` (the run's), it is also locked before any data is loaded: a run still alive there is
    refused, and one stopped before its first checkpoint says so (:func:`rundir.start_resume`)."""
    where = f"{directory}/config.json" if directory is not None else "config.json"
    for key, cls in (("train", TrainConfig), ("options", options)):
        if not isinstance(config.get(key), dict):
            raise ModelDirError(f"{where}: key {key!r} must be an object of settings, got {config.get(key)!r:.60}")
        if is_dataclass(cls):
            check_settings(cls, config[key], key, where)
    try:
        cfg = TrainConfig.from_dict({**config["train"], **overrides})
    except (TypeError, ValueError) as exc:
        raise ModelDirError(f"{where}: key 'train' does not describe training settings ({exc})") from None
    try:
        opts = options(**config["options"])
    except (TypeError, ValueError) as exc:
        raise ModelDirError(f"{where}: key 'options' does not fit {options.__name__} ({exc})") from None
    ctx = init_distributed(resolve_device(cfg.device).type)
    if ctx.is_main and directory is not None:
        start_resume(Path(directory), log)
    return opts, cfg, log if ctx.is_main else _quiet


def _step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def _improved(value: float, best: float | None, higher_is_better: bool) -> bool:
    return best is None or (value > best if higher_is_better else value < best)


def fit(model: torch.nn.Module, task: Task, cfg: TrainConfig, directory: Path, *, resume: bool = False,
        metadata: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``model`` on ``task``, writing weights, history and resumable state to ``directory``.

    The caller has written ``config.json`` (and tokenizer files) and seeded the model's initialisation.
    Returns (and writes, on rank 0, to metrics.json) the best validation and the test metrics. Rank 0 holds
    the directory's lock (:mod:`rnnkit.train.rundir`; already taken by :func:`new_run`) until it returns.
    """
    if is_main_process():
        hold(Path(directory), log, resume=resume)
    try:
        return _fit(model, task, cfg, directory, resume=resume, metadata=metadata, log=log)
    finally:
        release(Path(directory))


def _fit(model: torch.nn.Module, task: Task, cfg: TrainConfig, directory: Path, *, resume: bool,
         metadata: dict[str, Any] | None, log: Callable[[str], None]) -> dict[str, Any]:
    """:func:`fit`, with the directory locked."""
    directory = Path(directory)
    # Backprop through long sequences yields denormal floats that slow CPU math ~10× (measured): flush them.
    torch.set_flush_denormal(True)
    device = resolve_device(cfg.device)
    ctx: DistContext = init_distributed(device.type)
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    model.to(device)
    train_model: torch.nn.Module = model
    if ctx.enabled:
        train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    if (cfg.lr_decay != 1.0 or cfg.gradual_unfreeze) and not hasattr(model, "layer_groups"):
        log(f"note: {type(model).__name__} is one layer group, so --lr-decay and --gradual-unfreeze change nothing")
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay, cfg.lr, cfg.lr_decay), lr=cfg.lr)
    steps_per_epoch = len(task.train_batches(0, ctx.rank, ctx.world_size))
    if steps_per_epoch == 0:
        raise ValueError("the training split yields no batches; is the dataset empty?")
    # With --max-minutes and no --epochs, DEFAULT_EPOCHS is provisional: the plan is made after epoch 1 (plan_epochs).
    total = steps_per_epoch * (cfg.epochs or DEFAULT_EPOCHS)
    # The schedule reads ``plan`` at every step, so extending a run (below) can recompute it for a new total.
    plan = {"total": total, "warmup": max(1, int(cfg.warmup * total))}
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, plan["total"], plan["warmup"], cfg.schedule))
    counters: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "best": None, "best_epoch": -1,
                                "bad_evals": 0, "elapsed_s": 0.0, "items": 0, "loss_sum": 0.0,
                                "loss_count": 0, "done": False, "warmup_steps": plan["warmup"], "planned_epochs": None}

    def target() -> int:
        """The epochs this run trains: --epochs, else the plan that fills --max-minutes, else DEFAULT_EPOCHS."""
        return cfg.epochs or counters.get("planned_epochs") or DEFAULT_EPOCHS

    if resume:
        state = load_training_state(directory)
        saved = {**TrainConfig().fingerprint(), **state.get("train_config", {})}  # defaults: fields added later
        if {**saved, "epochs": cfg.epochs} != cfg.fingerprint():
            raise ModelDirError(f"{directory} was trained with other settings; resume without changing them "
                                f"(saved: {state.get('train_config')})")
        # A run that fills --max-minutes was started for the epochs it planned (None: killed before planning).
        before = saved["epochs"] or state["counters"].get("planned_epochs")
        if cfg.epochs is not None and before is not None and cfg.epochs < before:
            raise ValueError(f"{directory} was started for {before} epochs; --resume --epochs can only "
                             f"extend a run (give {before} or more)")
        counters.update(restore_training_state(directory, state, model, optimizer, scheduler, task))
        plan["total"] = steps_per_epoch * target()
        plan["warmup"] = counters.get("warmup_steps") or plan["warmup"]
        if cfg.epochs is not None and cfg.epochs != before:  # extend: the steps done stay, warmup too; new decay
            before = before or DEFAULT_EPOCHS  # a budget run killed in epoch 1 had the provisional schedule
            plan["warmup"] = counters.get("warmup_steps") or max(1, int(cfg.warmup * steps_per_epoch * before))
            if counters["done"]:  # a finished (or early-stopped) run trains on, with --patience counted anew
                counters.update(done=False, bad_evals=0)
            # stated in the run's next history record (kept in the counters until then)
            counters["extended"] = {"from_epochs": before, "to_epochs": cfg.epochs,
                                    "at_step": counters["step"], "schedule_steps": plan["total"]}
            log(f"extending {directory} from {before} to {cfg.epochs} epochs at step {counters['step']}: "
                f"the LR schedule is recomputed for {plan['total']} steps (warmup kept)")
        if ctx.is_main:  # drop history lines written after this checkpoint (a kill between the two writes)
            last = counters.get("evaluated_at")  # the step of the last evaluation the checkpoint counts
            if last is None:  # a checkpoint from before --eval-every: evaluations were at epoch ends only
                kept = [r for r in read_jsonl(directory / HISTORY) if r.get("epoch", 0) <= counters["epoch"]]
            else:
                kept = [r for r in read_jsonl(directory / HISTORY) if r.get("step", 0) <= last]
            write_jsonl(directory / HISTORY, kept)
        log(f"resuming {directory} at epoch {counters['epoch'] + 1}, batch {counters['batch']} "
            f"(step {counters['step']})")

    counters.setdefault("evaluated_at", -1)  # the step of the last validation, saved with the counters
    runlog = RunLog(directory, parse_targets(cfg.log) if ctx.is_main else (), every=cfg.log_every,
                    resume_step=counters["step"] if resume else None,
                    evaluated=counters["evaluated_at"] == counters["step"])

    def checkpoint() -> None:
        if ctx.is_main:
            save_training_state(directory, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "task": task.state_dict(), "counters": dict(counters),
                "train_config": cfg.fingerprint()})
        runlog.flush()  # the log on disk reaches at least as far as the state a resume starts from

    if not resume:  # step 0: a run killed before its first evaluation can be resumed, not only started anew
        checkpoint()

    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if cfg.amp and device.type == "cuda"
                else contextlib.nullcontext())
    norm: torch.Tensor | None = None  # the last step's gradient norm before clipping (when clipping)

    def log_train(epochs_done: float) -> None:
        value = grad_norm(model.parameters()) if norm is None else norm.item()
        runlog.train(counters["step"], epochs_done, counters["elapsed_s"], scheduler.get_last_lr()[0], value)

    def validate(epoch: int, where: str, items: int, seconds: float) -> None:
        """Evaluate on the validation split, keep the weights if they are the best so far, and record it."""
        epochs_done = epoch + counters["batch"] / max(1, steps_per_epoch)
        log_train(epochs_done)  # the steps since the last row, timed before the evaluation
        metrics = task.evaluate(model, "val", device)
        value = float(metrics[task.metric])
        record = {"epoch": epoch + 1, "step": counters["step"], "lr": scheduler.get_last_lr()[0],
                  "train_loss": counters["loss_sum"] / max(1, counters["loss_count"]),
                  "train_items_per_s": items / max(1e-9, seconds),
                  "elapsed_s": round(counters["elapsed_s"], 2), "val": metrics}
        if "extended" in counters:  # the first evaluation after --resume --epochs states the extension
            record["extended"] = counters.pop("extended")
        improved = _improved(value, counters["best"], task.higher_is_better)
        if improved:
            counters.update(best=value, best_epoch=epoch + 1, bad_evals=0)
            if ctx.is_main:
                save_weights(model, directory)
        else:
            counters["bad_evals"] += 1
        if ctx.is_main:
            append_jsonl(directory / HISTORY, record)
        runlog.validation(counters["step"], epochs_done, counters["elapsed_s"], metrics)
        log(f"{where}: train loss {record['train_loss']:.4f}, val {task.metric} {value:.4f}"
            f"{' (best)' if improved else ''}, {record['train_items_per_s']:,.0f} items/s, "
            f"{counters['elapsed_s']:.0f} s")

    started = time.monotonic() - counters["elapsed_s"]
    last_checkpoint = time.monotonic()
    stop = counters["done"]

    def planning() -> bool:
        """True until a run that fills --max-minutes has planned its epochs (at the end of epoch 1)."""
        return cfg.epochs is None and cfg.max_minutes is not None and counters.get("planned_epochs") is None

    def plan_epochs() -> None:
        """--max-minutes without --epochs: after epoch 1 (its validation included), plan as many epochs as
        the budget holds at that pace, and stretch the LR schedule's decay to end with them."""
        spent = time.monotonic() - started
        fit = max(1, int(60 * cfg.max_minutes // max(spent, 1e-9)))
        fit = ctx.minimum(fit)  # every rank plans the same number
        counters["planned_epochs"] = fit
        plan["total"] = steps_per_epoch * fit
        log(f"epoch 1 took {spent:.0f} s: planning {fit} epoch{'s' if fit > 1 else ''} to fill --max-minutes "
            f"{cfg.max_minutes:g}; the LR schedule now decays to 0 at the end of epoch {fit}")

    while not stop and counters["epoch"] < target():
        epoch = counters["epoch"]
        if counters["batch"] == 0:
            task.start_epoch(epoch)
        batches = task.train_batches(epoch, ctx.rank, ctx.world_size)
        frozen = frozen_parameters(model, epoch) if cfg.gradual_unfreeze else []
        of = "?" if planning() else target()
        bar = tqdm(total=len(batches), initial=counters["batch"], desc=f"epoch {epoch + 1}/{of}",
                   disable=not (cfg.progress and ctx.is_main), leave=False, dynamic_ncols=True)
        epoch_start, epoch_items = time.monotonic(), 0
        out_of_time = False
        for i in range(counters["batch"], len(batches)):
            torch.manual_seed(_step_seed(cfg.seed, counters["step"], ctx.rank))
            train_model.train()
            with autocast:
                loss, items = task.loss(train_model, batches[i], device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for p in frozen:  # AdamW leaves a parameter without a gradient untouched (no decay, no moments)
                p.grad = None
            if cfg.clip_norm:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            optimizer.step()
            scheduler.step()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"the training loss became {value} at step {counters['step']}; "
                                         "lower --lr or --clip-norm and start again")
            counters.update(batch=i + 1, step=counters["step"] + 1, items=counters["items"] + items,
                            loss_sum=counters["loss_sum"] + value, loss_count=counters["loss_count"] + 1)
            epoch_items += items
            counters["elapsed_s"] = time.monotonic() - started
            runlog.add(value, items)
            if runlog.due(counters["step"]):
                log_train(epoch + (i + 1) / len(batches))
            if cfg.eval_every and counters["step"] % cfg.eval_every == 0 and i + 1 < len(batches):
                eval_start = time.monotonic()
                validate(epoch, f"epoch {epoch + 1}, step {counters['step']}", epoch_items, eval_start - epoch_start)
                counters["evaluated_at"] = counters["step"]
                epoch_start += time.monotonic() - eval_start  # throughput counts training time only
                if cfg.patience > 0 and counters["bad_evals"] >= cfg.patience:
                    break  # the epoch's end below records the stop (a kill before it replays from the last checkpoint)
                checkpoint()
                last_checkpoint = time.monotonic()
            bar.update(1)
            if i % 10 == 0:
                bar.set_postfix(loss=f"{counters['loss_sum'] / counters['loss_count']:.4f}", refresh=False)
            if cfg.max_minutes is not None:
                out_of_time = ctx.any(counters["elapsed_s"] > 60 * cfg.max_minutes)
                if out_of_time:
                    break
            if time.monotonic() - last_checkpoint > cfg.checkpoint_every_s:
                checkpoint()
                last_checkpoint = time.monotonic()
        bar.close()

        if counters["evaluated_at"] != counters["step"]:  # not evaluated already by --eval-every at this step
            validate(epoch, f"epoch {epoch + 1}", epoch_items, time.monotonic() - epoch_start)
            counters["evaluated_at"] = counters["step"]
        counters.update(epoch=epoch + 1, batch=0, loss_sum=0.0, loss_count=0)
        if planning() and not out_of_time:
            plan_epochs()
        stop = out_of_time or (cfg.patience > 0 and counters["bad_evals"] >= cfg.patience)
        if out_of_time:
            log(f"stopping: --max-minutes {cfg.max_minutes} reached")
        elif stop and counters["epoch"] < target():
            log(f"stopping early: no improvement of val {task.metric} in {cfg.patience} evaluations")
        counters["done"] = stop or counters["epoch"] >= target()
        checkpoint()
        last_checkpoint = time.monotonic()

    ctx.barrier()
    load_weights(model, directory)
    notes = [split_size(task, "test")] + (["not part of the --max-minutes budget"] if cfg.max_minutes else [])
    about = "; ".join(note for note in notes if note)
    log(f"training done in {counters['elapsed_s']:.0f} s; evaluating the best weights (epoch {counters['best_epoch']}) "
        f"on the test split{f' ({about})' if about else ''}…")
    test_start = time.monotonic()
    test = task.evaluate(model, "test", device)
    log(f"test evaluation took {time.monotonic() - test_start:.0f} s")
    runlog.write(counters["step"], counters["epoch"], counters["elapsed_s"], scalars(test, "test"))
    runlog.close()
    result = {"test": test, "best_val": {task.metric: counters["best"], "epoch": counters["best_epoch"]},
              "train_seconds": round(counters["elapsed_s"], 2), "steps": counters["step"], "epochs": counters["epoch"],
              **({"planned_epochs": counters["planned_epochs"]} if counters.get("planned_epochs") else {}),
              "device": str(device), "world_size": ctx.world_size, "torch_threads": torch.get_num_threads(),
              "seed": cfg.seed, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(metadata or {})}
    if ctx.is_main:
        write_json(directory / METRICS, result)
    return result
