"""``rnnkit train TASK``: one command from nothing to a trained model directory (TASK: any of
:data:`rnnkit.tasks.TASKS`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import rnnkit.cli.settings as settings
from rnnkit.cli.args import add_dataclass_arguments, dataclass_from_args, given
from rnnkit.files import point_link
from rnnkit.train.config import TrainConfig, resolve_device, uses_amp
from rnnkit.train.distributed import is_main_process

INFERS_TASK = ("--resume", "--from", "--config")  # `rnnkit train --from DIR …`: TASK comes from DIR (or FILE)


def with_task(argv: list[str]) -> list[str]:
    """``argv`` with TASK put after ``train`` when it was left out and ``--resume DIR``, ``--from DIR`` or a
    ``--config FILE`` holding ``task:`` names it (a run directory or file that cannot be read exits 1)."""
    if len(argv) < 2 or argv[0] != "train" or not argv[1].startswith("-"):
        return argv
    for flag in INFERS_TASK:
        for i, arg in enumerate(argv[1:], start=1):
            value = argv[i + 1] if arg == flag and i + 1 < len(argv) else None
            value = arg.split("=", 1)[1] if arg.startswith(flag + "=") else value
            if value is None:
                continue
            try:
                task = settings.task_of(value, flag)
            except (ValueError, FileNotFoundError) as exc:
                _exit(str(exc))
            if not task:
                _exit(f"{flag} {value} names no task: give one (rnnkit train TASK {flag} {value}) or add a "
                      "task key to the file")
            return ["train", task, *argv[1:]]
    return argv


def _exit(message: str) -> None:
    """A one-line error before the flags are parsed (exit status 1, as for every other bad input)."""
    print(f"rnnkit train: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _default_link(task: str, opts) -> Path:
    """``runs/TASK-MODEL``: the stable name of the latest successful run trained without ``--out``."""
    kind = getattr(opts, "kind", None) or getattr(opts, "cell", "model")
    return Path("runs") / f"{task}-{kind}"


def _default_out(link: Path) -> Path:
    """``runs/TASK-MODEL-TIME``: a new folder for each run without ``--out``, so no run overwrites another
    (``-2``, ``-3``, … after TIME when a run of the same second holds it)."""
    out = link.with_name(f"{link.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    stem = out.name
    number = 1
    while os.path.lexists(out):
        number += 1
        out = out.with_name(f"{stem}-{number}")
    return out


def _point_latest(link: Path, out: Path) -> None:
    """After a successful run into ``out``, point ``link`` at it (a failed run never gets here, so the link
    keeps naming the last model that trained to the end)."""
    if point_link(link, out.name):
        print(f"{link} now names this run ({out.name}); earlier runs are kept")
    else:
        print(f"note: {link} is not a link rnnkit made (a folder or file of yours), so it was left as it was; "
              f"this run is in {out}")


def _train(args: argparse.Namespace) -> int:
    from rnnkit.tasks import TASKS, run

    app = TASKS[args.task]
    main_process = is_main_process()
    if args.resume is not None:
        if args.config is not None or args.from_dir is not None:
            raise ValueError("--resume continues a run with its own settings; drop --config and --from")
        may_change = {*TrainConfig.RUNTIME, "epochs"}
        changed = sorted(set(given(args, app.options)) | (set(given(args, TrainConfig)) - may_change))
        if changed:
            raise ValueError(f"--resume continues with the settings the run was started with; drop "
                             f"{', '.join('--' + c.replace('_', '-') for c in changed)}")
        if args.print_config:
            return _print_resumed(args)
        from rnnkit.train.checkpoint import read_config

        saved_task = read_config(args.resume).get("task")
        if saved_task != args.task:  # resuming it as another task would write into it, then fail
            raise ValueError(f"{args.resume} holds a {saved_task!r} run, not a {args.task!r} one; resume it with "
                             f"`rnnkit train {saved_task} --resume {args.resume}`")
        result = run.resume(args.resume, **given(args, TrainConfig))
        out = args.resume
    else:
        top, file_opts, file_train = _file_settings(args, app)
        opts = dataclass_from_args(app.options, args, **file_opts)
        cfg = dataclass_from_args(TrainConfig, args, **file_train)
        if given(args, TrainConfig).get("amp") and not uses_amp(cfg, resolve_device(cfg.device)):
            print("note: --amp (bfloat16 autocast) works on CUDA only; this run trains in float32 and saves "
                  "amp false", file=sys.stderr)
        if args.out is None and "out" in top:
            args.out = Path(top["out"])
        if args.print_config:
            shown = {"task": args.task, **({"out": str(args.out)} if args.out else {}),
                     "options": asdict(opts), "train": asdict(cfg)}
            print(settings.render(shown, args.json))
            return 0
        if args.out is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError("with torchrun, pass --out DIR so every process writes to and reads from the same place")
        link = _default_link(args.task, opts) if args.out is None else None
        out = args.out or _default_out(link)
        if main_process:
            print(f"training into {out}")
        result = run.train(opts, cfg, out)
        if link is not None and main_process:
            _point_latest(link, out)
    if not main_process:
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(app.describe(result))
        print(f"model directory: {out}")
    return 0


def _file_settings(args: argparse.Namespace, app) -> tuple[dict, dict, dict]:
    """``(top, options, train)`` of ``--from DIR`` overridden by ``--config FILE`` (flags override both)."""
    top: dict = {}
    opts: dict = {}
    train: dict = {}
    if args.from_dir is not None:
        opts, train = settings.from_run(args.from_dir, args.task, app.options, TrainConfig)
    if args.config is not None:
        source = f"--config {args.config}"
        top, file_opts, file_train = settings.split(settings.read_file(args.config), app.options, TrainConfig, source)
        if top.get("task", args.task) != args.task:
            raise ValueError(f"{source} is for task {top['task']!r}, not {args.task!r}; use `rnnkit train "
                             f"{top['task']} --config {args.config}` or remove its task key")
        opts.update(file_opts)
        train.update(file_train)
    return top, opts, train


def _print_resumed(args: argparse.Namespace) -> int:
    """``--resume DIR --print-config``: the settings the continued run will use."""
    from rnnkit.train.checkpoint import read_config

    config = read_config(args.resume)
    shown = {"task": config.get("task"), "out": str(args.resume), "options": config.get("options", {}),
             "train": {**config.get("train", {}), **given(args, TrainConfig)}}
    print(settings.render(shown, args.json))
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    from rnnkit.tasks import TASKS

    p = sub.add_parser("train", help="train a model for a task into a model directory",
                       description="Train a model for TASK into a model directory. `rnnkit train --from DIR`, "
                                   "`--resume DIR` and `--config FILE` (with a task key) may leave TASK out.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name, app in TASKS.items():
        t = tasks.add_parser(name, help=app.help, description=app.help)
        t.add_argument("--out", type=Path, default=None,
                       help="model directory (default: a new runs/TASK-MODEL-TIME; runs/TASK-MODEL then links to "
                            "the latest such run that finished)")
        t.add_argument("--resume", type=Path, default=None, metavar="DIR",
                       help="continue a killed run in DIR with its own settings (only "
                            f"{', '.join('--' + n.replace('_', '-') for n in TrainConfig.RUNTIME)} may change), "
                            "or extend a finished one with --epochs N (the steps done stay as they were; the LR "
                            "schedule is recomputed for the new total)")
        t.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="read settings from a YAML or JSON file (keys: the flag names, e.g. hidden_size: 128, "
                            "and task, out); flags given here override it")
        t.add_argument("--from", dest="from_dir", type=Path, default=None, metavar="DIR",
                       help="repeat the settings of the run in DIR (its config.json) into a new directory; "
                            "--config and flags override them")
        t.add_argument("--print-config", action="store_true",
                       help="print the resolved settings as YAML (with --json: JSON) and exit without training")
        t.add_argument("--json", action="store_true", help="print the metrics (with --print-config: the settings) "
                                                            "as JSON")
        add_dataclass_arguments(t, app.options, "data and model")
        add_dataclass_arguments(t, TrainConfig, "training")
    return {"train": _train}
