"""One training loop for every task: AdamW, clipping, warmup+cosine, early stopping, exact resume, DDP.

Resuming is exact: the batches of an epoch are a function of (seed, epoch) (the task's contract), the
dropout noise of a step is drawn from a generator seeded by (seed, step, rank), and the checkpoint holds
the model, optimizer, scheduler, task state and counters. A run killed at any point and resumed with
``--resume`` therefore ends with the same weights as one that was never interrupted.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from rnnkit.tasks.base import Task
from rnnkit.train.checkpoint import (
    CONFIG,
    HISTORY,
    METRICS,
    ModelDirError,
    append_jsonl,
    load_training_state,
    load_weights,
    read_jsonl,
    save_training_state,
    save_weights,
    write_json,
    write_jsonl,
)
from rnnkit.train.distributed import DistContext, init_distributed


@dataclass
class TrainConfig:
    """How to train (not what): every field is a flag of ``rnnkit train``."""

    epochs: int = 10
    lr: float = 2e-3
    weight_decay: float = 0.01
    clip_norm: float = 1.0  # clip the global gradient norm: the exploding-gradient remedy for RNNs
    warmup: float = 0.05  # fraction of all steps with a linear LR warmup
    schedule: str = "cosine"  # "cosine" decay to 0 after warmup, or "constant"
    patience: int = 3  # stop after this many evaluations without improvement (0: never)
    max_minutes: float | None = None  # stop (and evaluate) once training has run this long
    seed: int = 13
    device: str = "auto"
    amp: bool = True  # bfloat16 autocast on CUDA; ignored on CPU
    checkpoint_every_s: float = 60.0  # also write the resumable state mid-epoch this often
    progress: bool = True
    # Fine-tuning a pretrained model (ULMFiT, Howard & Ruder 2018), for models with ``layer_groups()``:
    lr_decay: float = 1.0  # discriminative LRs: each layer group below the top trains at lr / lr_decay^depth
    gradual_unfreeze: bool = False  # epoch 1 trains the top layer group only, each later epoch one more below

    # Settings that do not change the result of a step, so a resumed run may change them.
    RUNTIME: ClassVar[tuple[str, ...]] = ("max_minutes", "device", "checkpoint_every_s", "progress")

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if not self.lr_decay >= 1.0:
            raise ValueError(f"lr_decay must be >= 1 (1: one LR for every layer), got {self.lr_decay}")

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed run must share with the original."""
        return {k: v for k, v in asdict(self).items() if k not in self.RUNTIME}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _quiet(_: str) -> None:
    """The log of ranks other than 0."""


def new_run(out: Path, cfg: TrainConfig, log: Callable[[str], None]) -> tuple[Path, DistContext, Callable]:
    """Start a run into the model directory ``out``: join the process group (under torchrun), refuse a
    directory that already holds a model, and silence the log on ranks other than 0."""
    out = Path(out)
    ctx = init_distributed(resolve_device(cfg.device).type)
    if ctx.is_main and (out / CONFIG).exists():
        raise ModelDirError(f"{out} already holds a model; pass --resume {out} to continue it, or choose a new --out")
    ctx.barrier()
    return out, ctx, log if ctx.is_main else _quiet


def resumed_run(config: dict, options: Callable[..., Any], overrides: dict[str, Any],
                log: Callable[[str], None]) -> tuple[Any, TrainConfig, Callable]:
    """The options and training settings a killed run was started with (runtime ``overrides`` applied),
    read from its ``config.json``, with the process group joined and the log of ranks > 0 silenced."""
    cfg = TrainConfig.from_dict({**config["train"], **overrides})
    ctx = init_distributed(resolve_device(cfg.device).type)
    return options(**config["options"]), cfg, log if ctx.is_main else _quiet


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA if available, else CPU; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU; use --device cpu")
    return device


def lr_factor(step: int, total: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base LR at ``step``: linear warmup, then cosine decay to 0 (or constant)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def layer_groups(model: torch.nn.Module) -> list[list[torch.nn.Parameter]]:
    """The model's parameters in layer groups from the input (bottom) to the output (top): the model's own
    ``layer_groups() -> list[list[str]]`` (parameter names), or one group holding every parameter."""
    if not hasattr(model, "layer_groups"):
        return [[p for p in model.parameters() if p.requires_grad]]
    named = dict(model.named_parameters())
    groups = [[named[n] for n in names if named[n].requires_grad] for names in model.layer_groups()]
    if sum(map(len, groups)) != sum(p.requires_grad for p in named.values()):
        raise ValueError(f"{type(model).__name__}.layer_groups() must name every trainable parameter once")
    return groups


def param_groups(model: torch.nn.Module, weight_decay: float, lr: float, lr_decay: float = 1.0) -> list[dict]:
    """Optimizer groups: per layer group (``layer_groups``) an LR of ``lr / lr_decay**depth`` (depth 0 at the
    top), and weight decay on matrices only: not on biases, and not on embeddings (rows of rare words).

    A model may name its own weight-decay exceptions with ``no_weight_decay() -> set[str]`` (parameter names)."""
    if hasattr(model, "no_weight_decay"):
        skip = set(model.no_weight_decay())
        exempt = {id(p) for name, p in model.named_parameters() if name in skip}
        matrices_only = False
    else:
        exempt = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding | torch.nn.EmbeddingBag)}
        matrices_only = True
    groups = layer_groups(model)
    result = []
    for depth, params in enumerate(reversed(groups)):
        decay, no_decay = [], []
        for p in params:
            keep = id(p) not in exempt and (p.dim() >= 2 or not matrices_only)
            (decay if keep else no_decay).append(p)
        group_lr = lr / lr_decay**depth
        result += [{"params": decay, "weight_decay": weight_decay, "lr": group_lr},
                   {"params": no_decay, "weight_decay": 0.0, "lr": group_lr}]
    return result


def frozen_parameters(model: torch.nn.Module, epoch: int) -> list[torch.nn.Parameter]:
    """Gradual unfreezing: the parameters that do not train in ``epoch`` (0-based) — every layer group but
    the top ``epoch + 1``."""
    groups = layer_groups(model)
    return [p for params in groups[: max(0, len(groups) - epoch - 1)] for p in params]


def _step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def _improved(value: float, best: float | None, higher_is_better: bool) -> bool:
    return best is None or (value > best if higher_is_better else value < best)


def fit(model: torch.nn.Module, task: Task, cfg: TrainConfig, directory: Path, *, resume: bool = False,
        metadata: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``model`` on ``task``, writing weights, history and resumable state to ``directory``.

    The caller has written ``config.json`` (and tokenizer files) and seeded the model's initialisation.
    Returns (and writes, on rank 0, to metrics.json) the best validation and the test metrics.
    """
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
    total = steps_per_epoch * cfg.epochs
    warmup_steps = max(1, int(cfg.warmup * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, warmup_steps, cfg.schedule))
    counters: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "best": None, "best_epoch": -1,
                                "bad_evals": 0, "elapsed_s": 0.0, "items": 0, "loss_sum": 0.0,
                                "loss_count": 0, "done": False}
    if resume:
        state = load_training_state(directory)
        saved = {**TrainConfig().fingerprint(), **state.get("train_config", {})}  # defaults: fields added later
        if saved != cfg.fingerprint():
            raise ModelDirError(f"{directory} was trained with other settings; resume without changing them "
                                f"(saved: {state.get('train_config')})")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        task.load_state_dict(state["task"])
        counters.update(state["counters"])
        if ctx.is_main:  # drop history lines written after this checkpoint (a kill between the two writes)
            kept = [r for r in read_jsonl(directory / HISTORY) if r.get("epoch", 0) <= counters["epoch"]]
            write_jsonl(directory / HISTORY, kept)
        log(f"resuming {directory} at epoch {counters['epoch'] + 1}, batch {counters['batch']} "
            f"(step {counters['step']})")

    def checkpoint() -> None:
        if ctx.is_main:
            save_training_state(directory, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "task": task.state_dict(), "counters": dict(counters),
                "train_config": cfg.fingerprint()})

    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if cfg.amp and device.type == "cuda"
                else contextlib.nullcontext())
    started = time.monotonic() - counters["elapsed_s"]
    last_checkpoint = time.monotonic()
    stop = counters["done"]
    while not stop and counters["epoch"] < cfg.epochs:
        epoch = counters["epoch"]
        if counters["batch"] == 0:
            task.start_epoch(epoch)
        batches = task.train_batches(epoch, ctx.rank, ctx.world_size)
        frozen = frozen_parameters(model, epoch) if cfg.gradual_unfreeze else []
        bar = tqdm(total=len(batches), initial=counters["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
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
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
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

        metrics = task.evaluate(model, "val", device)
        value = float(metrics[task.metric])
        record = {"epoch": epoch + 1, "step": counters["step"], "lr": scheduler.get_last_lr()[0],
                  "train_loss": counters["loss_sum"] / max(1, counters["loss_count"]),
                  "train_items_per_s": epoch_items / max(1e-9, time.monotonic() - epoch_start),
                  "elapsed_s": round(counters["elapsed_s"], 2), "val": metrics}
        improved = _improved(value, counters["best"], task.higher_is_better)
        if improved:
            counters.update(best=value, best_epoch=epoch + 1, bad_evals=0)
            if ctx.is_main:
                save_weights(model, directory)
        else:
            counters["bad_evals"] += 1
        if ctx.is_main:
            append_jsonl(directory / HISTORY, record)
        log(f"epoch {epoch + 1}: train loss {record['train_loss']:.4f}, val {task.metric} {value:.4f}"
            f"{' (best)' if improved else ''}, {record['train_items_per_s']:,.0f} items/s, "
            f"{counters['elapsed_s']:.0f} s")
        counters.update(epoch=epoch + 1, batch=0, loss_sum=0.0, loss_count=0)
        stop = out_of_time or (cfg.patience > 0 and counters["bad_evals"] >= cfg.patience)
        if out_of_time:
            log(f"stopping: --max-minutes {cfg.max_minutes} reached")
        elif stop and counters["epoch"] < cfg.epochs:
            log(f"stopping early: no improvement of val {task.metric} in {cfg.patience} evaluations")
        counters["done"] = stop or counters["epoch"] >= cfg.epochs
        checkpoint()
        last_checkpoint = time.monotonic()

    ctx.barrier()
    load_weights(model, directory)
    test = task.evaluate(model, "test", device)
    result = {"test": test, "best_val": {task.metric: counters["best"], "epoch": counters["best_epoch"]},
              "train_seconds": round(counters["elapsed_s"], 2), "steps": counters["step"],
              "device": str(device), "world_size": ctx.world_size, "torch_threads": torch.get_num_threads(),
              "seed": cfg.seed, **(metadata or {})}
    if ctx.is_main:
        write_json(directory / METRICS, result)
    return result
