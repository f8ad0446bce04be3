"""The lifecycle of every application, written once: train, resume, load a model directory, evaluate.

    train(opts, cfg, out)       new_run → app.prepare → build the model → config.json → train_loop
                                (a worker group torchrun restarted after a failure: resume(out) instead)
    resume(out)                 config.json → app.prepare(saved config) → the saved model → train_loop(resume=True)
    load(out)                   config.json → TASKS[config["task"]].predictor(out)
    evaluate_directory(out, …)  load → app.evaluate(predictor, data=…, split=…, beam=…)
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch

from rnnkit.data.sources import absolute_options, check_sources, option_sources
from rnnkit.data.splits import ALL
from rnnkit.models import build_model
from rnnkit.models.size import check_memory, meta_model
from rnnkit.tasks import TASKS
from rnnkit.tasks.base import App, Prepared, Run
from rnnkit.train.checkpoint import CONFIG, ModelDirError, build_checked, new_config, read_config, write_json
from rnnkit.train.config import TrainConfig, uses_amp
from rnnkit.train.distributed import DistContext, distributed, launch_rank
from rnnkit.train.loop import train_loop
from rnnkit.train.rundir import (
    check_visible,
    elastic_restart,
    new_run,
    rank_log,
    removed_if_untrained,
    saved_settings,
    start_resume,
)
from rnnkit.train.schema import NothingTrainedError


def config_keys(task: str) -> tuple[str, ...]:
    """The keys a ``task`` model directory's config.json must hold besides the header and the model (its
    application's ``App.config_keys``; an unknown task: none, refused by :func:`app_of`)."""
    app = TASKS.get(task)
    return app.config_keys if app is not None else ()


def read_model_config(directory: Path | str) -> dict[str, Any]:
    """``config.json`` of a model directory, checked for the keys its application needs
    (:func:`rnnkit.train.checkpoint.read_config` with :func:`config_keys`)."""
    return read_config(Path(directory), task_keys=config_keys)


def app_of(config: dict[str, Any], directory: Path | str) -> App:
    """The application of a model directory's ``config.json``."""
    task = config.get("task")
    if task not in TASKS:
        raise ModelDirError(f"{directory} holds a {task!r} model, which this rnnkit does not know "
                            f"(it knows {', '.join(TASKS)})")
    return TASKS[task]


def app_for_options(opts: Any) -> App:
    """The application whose options dataclass ``opts`` is."""
    for app in TASKS.values():
        if type(opts) is app.options:
            return app
    raise TypeError(f"{type(opts).__name__} is not the options of any application")


def train(opts: Any, cfg: TrainConfig, out: Path | str, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train a new model of ``opts``' application into the model directory ``out``; return its metrics.

    A run that fails before it trained anything (bad data, bad options) leaves no folder it made. Under
    torchrun, a worker group restarted after a worker died (``--max-restarts``) continues the run this
    torchrun job started in ``out`` from its last checkpoint, as :func:`resume` does
    (:func:`rnnkit.train.rundir.elastic_restart`)."""
    app = app_for_options(opts)
    with distributed(cfg.device, log) as ctx:
        if elastic_restart(Path(out), ctx, log):
            return _continue_restarted(Path(out), cfg, ctx, rank_log(ctx, log))
        made = new_run(Path(out), ctx, log)  # locks ``out`` before any data is loaded
        with removed_if_untrained(Path(out), made, ctx):
            return _train_new(app, opts, cfg, Path(out), ctx, rank_log(ctx, log))


def _continue_restarted(out: Path, cfg: TrainConfig, ctx: DistContext, log: Callable[[str], None]) -> dict[str, Any]:
    """:func:`train` in a worker group torchrun restarted: the run this torchrun job started in ``out``,
    continued as :func:`resume` continues it, with this command's runtime settings."""
    log(f"torchrun restarted the workers (restart {ctx.restart}): continuing {out} from its last checkpoint")
    check_visible(out, ctx.rank)
    runtime = {key: getattr(cfg, key) for key in TrainConfig.RUNTIME}
    return _continue(out, _saved_run(out, {**runtime, "epochs": cfg.epochs}), ctx, log)


def _train_new(app: App, opts: Any, cfg: TrainConfig, out: Path, ctx: DistContext,
               log: Callable[[str], None]) -> dict[str, Any]:
    """:func:`train` in the locked ``out``: prepare the data, build and seed the model, write config.json, train."""
    opts = absolute_options(opts)  # config.json must find the data from any folder (rnnkit evaluate)
    if cfg.amp and not uses_amp(cfg, ctx.device):  # config.json saves what really runs
        cfg = replace(cfg, amp=False)
    prepared = app.prepare(Run(opts, cfg, out, log, is_main=ctx.is_main, barrier=ctx.barrier))
    torch.manual_seed(cfg.seed)
    check_memory(meta_model(build_model, prepared.spec), 4, "training it (weights, gradients, Adam's moments)",
                 "use a smaller --hidden-size, --embed-dim, --layers or vocabulary")
    model = build_model(prepared.spec)
    if prepared.setup is not None:
        prepared.setup(model)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        saved_opts = prepared.options if prepared.options is not None else opts
        write_json(out / CONFIG, new_config(app.name, model=prepared.spec, **prepared.artifacts(out),
                                            options=asdict(saved_opts), train=asdict(cfg),
                                            sources=option_sources(saved_opts)))
    log(prepared.summary(model))
    return _run_training(model, prepared, cfg, out, ctx, resume=False, log=log)


def resume(out: Path | str, *, log: Callable[[str], None] = print, **overrides: Any) -> dict[str, Any]:
    """Continue a killed run in ``out`` with the settings it was started with (``overrides``: the runtime
    settings of :attr:`TrainConfig.RUNTIME`, and ``epochs``).

    ``epochs`` above the run's own extends it, finished or not: the steps already done stay as they were
    (weights, optimizer, counters, history), the warmup is kept and the LR schedule after it is recomputed
    for the new total of steps; the first history record after that states ``"extended"``, and config.json
    records the new ``epochs``."""
    out = Path(out)
    check_visible(out, launch_rank())
    saved = _saved_run(out, overrides)
    with distributed(saved.cfg.device, log) as ctx:
        return _continue(out, saved, ctx, rank_log(ctx, log))


class _Saved(NamedTuple):
    """A run directory's ``config.json``, its application, and the settings it was started with."""

    config: dict[str, Any]
    app: App
    opts: Any
    cfg: TrainConfig
    started_for: int | None  # the epochs config.json records (None: a run that fills --max-minutes)


def _saved_run(out: Path, overrides: dict[str, Any]) -> _Saved:
    """What :func:`resume` continues in ``out``, with the runtime ``overrides`` (and ``epochs``) applied."""
    config = read_model_config(out)
    app = app_of(config, out)
    started_for = config.get("train", {}).get("epochs") if isinstance(config.get("train"), dict) else None
    if overrides.get("epochs") is not None and isinstance(started_for, int) and overrides["epochs"] < started_for:
        raise ValueError(f"{out} was started for {started_for} epochs; --resume --epochs can only extend a run "
                         f"(give {started_for} or more)")
    opts, cfg = saved_settings(config, app.options, overrides, f"{out}/{CONFIG}")
    return _Saved(config, app, opts, cfg, started_for)


def _continue(out: Path, saved: _Saved, ctx: DistContext, log: Callable[[str], None]) -> dict[str, Any]:
    """:func:`resume` in the run's distributed context: lock ``out``, prepare the data from the saved
    config, rebuild the saved model and train on from the checkpoint."""
    config, app, opts, cfg = saved.config, saved.app, saved.opts, saved.cfg
    try:  # locks ``out`` before any data is loaded (rnnkit.train.rundir)
        if ctx.is_main:
            start_resume(out, log)
    except NothingTrainedError:  # stopped before its first checkpoint: start it again with its own settings
        log(f"note: {out} was stopped before its first checkpoint; training it from the start with its settings")
        new_run(out, ctx, log)
        return _train_new(app, opts, cfg, out, ctx, log)
    prepared = app.prepare(Run(opts, cfg, out, log, is_main=ctx.is_main, barrier=ctx.barrier, saved=config))
    if ctx.is_main and cfg.epochs != saved.started_for:  # an extension: later resumes and --from see the new total
        write_json(out / CONFIG, {**config, "train": {**config["train"], "epochs": cfg.epochs}})
    return _run_training(build_checked(config["model"], out), prepared, cfg, out, ctx, resume=True, log=log)


def _run_training(model: torch.nn.Module, prepared: Prepared, cfg: TrainConfig, out: Path, ctx: DistContext, *,
                  resume: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """:func:`rnnkit.train.loop.train_loop` with the run's facts in metrics.json and the wall time."""
    started = time.time()
    result = train_loop(model, prepared.task, cfg, out, resume=resume, log=log, ctx=ctx,
                        metadata={**prepared.metadata, "parameters": sum(p.numel() for p in model.parameters())})
    result.setdefault("wall_seconds", round(time.time() - started, 1))
    return result


def load(directory: Path | str, device: str = "cpu") -> Any:
    """The predictor of whatever application the model directory holds (dispatch on ``config["task"]``)."""
    app = app_of(read_model_config(directory), directory)
    return app.predictor(directory, device)


def load_for(directory: Path | str, method: str, verb: str) -> Any:
    """:func:`load`, refusing a model whose predictor has no ``method`` (``verb``: the command, for the error)."""
    config = read_model_config(directory)
    app = app_of(config, directory)
    if not hasattr(app.predictor, method):
        serving = [name for name, a in TASKS.items() if hasattr(a.predictor, method)]
        raise ModelDirError(f"{directory} holds a {config['task']!r} model; `rnnkit {verb}` needs a "
                            f"{' or '.join(repr(n) for n in serving)} model")
    return app.predictor(directory)


def evaluation_split(app: App, data: str | None, split: str | None, directory: Path | str) -> str:
    """The split ``evaluate`` scores: ``split`` if given; else every example of an outside file (``data`` a
    file; applications with ``scores_all``), else the test split (the model's own data, a registry corpus, or a
    dataset folder with its own test split: aclImdb, SST-2)."""
    if split is None:
        return ALL if app.scores_all and data is not None and Path(data).is_file() else "test"
    if split == ALL and not app.scores_all:
        serving = [name for name, a in TASKS.items() if a.scores_all]
        raise ValueError(f"--split all scores every example of {' and '.join(serving)} models; {directory} holds "
                         f"a {app.name!r} model: give --split train, val or test")
    return split


def evaluate_directory(directory: Path | str, *, data: str | None = None, split: str | None = None,
                       beam: int | None = None, ensemble: Sequence[Path] = (), **options: Any) -> dict[str, Any]:
    """Metrics of a model directory on a split of its own data (or of ``data``; ``split`` None: the test
    split, or every example of an outside file: :func:`evaluation_split`); ``ensemble``: more
    directories whose probabilities are averaged with it (applications that have an ensemble); ``options``
    (``label_map``, ``text_col``, ``label_col``; ``None`` = not given) go to applications that take them.
    The report names the ``split`` it scored."""
    config = read_model_config(directory)
    app = app_of(config, directory)
    split = evaluation_split(app, data, split, directory)
    if data is None and isinstance(config.get("sources"), dict):  # its own data: is it still what it trained on?
        for problem in check_sources(config["sources"]):
            warnings.warn(f"{directory}: training data {problem}; metrics may differ from metrics.json",
                          UserWarning, stacklevel=2)
    if ensemble:
        if app.ensemble is None:
            serving = [name for name, a in TASKS.items() if a.ensemble is not None]
            raise ValueError(f"--ensemble averages {' or '.join(serving)} models; {directory} holds a "
                             f"{config['task']!r} model")
        predictor = app.ensemble([Path(directory), *ensemble])
    else:
        predictor = app.predictor(directory)
    extra = {key: value for key, value in options.items() if value is not None}
    for key in extra:
        if key not in inspect.signature(app.evaluate).parameters:
            serving = [name for name, a in TASKS.items() if key in inspect.signature(a.evaluate).parameters]
            raise ValueError(f"--{key.replace('_', '-')} applies to {' and '.join(serving) or 'no'} models; "
                             f"{directory} holds a {config['task']!r} model")
    report = app.evaluate(predictor, data=data, split=split, beam=beam, **extra)
    report["split"] = split
    return report


__all__ = ["app_for_options", "app_of", "config_keys", "evaluate_directory", "evaluation_split", "load", "load_for",
           "read_model_config", "resume", "train"]
