"""The run directory: one training process at a time, and never into a folder that holds something else.

    DIR/.rnnkit.lock       the PID of the process training into DIR, while it runs
    DIR/.rnnkit-run.json   "this folder is an rnnkit run", written when a new run starts (nothing trained yet)
    DIR/config.json, …     the model directory (:mod:`rnnkit.train.checkpoint`)

A run takes the lock before it loads any data and keeps it until it ends. The lock file is created
exclusively (written under a temporary name, then ``os.link``-ed into place, which fails if the file
exists: the same guarantee as ``O_CREAT | O_EXCL``, with the PID already inside), and the process holds an
``flock`` on it for as long as it lives. The kernel drops that ``flock`` when the process dies however it
dies (SIGKILL included), so a lock whose ``flock`` can be taken is stale: its run was killed. A new run or a
``--resume`` then takes it over with a notice, and removes the half-written temporary files the killed
run left (:func:`rnnkit.files.remove_stale_temps`). A PID alone could be reused by an unrelated process;
the ``flock`` cannot.

Within one process the lock is re-entrant (``train_loop`` after ``new_run``, or a second run after a failed
one in the same Python session); two threads training into one folder are not protected against each other.

A new run that fails before it trained anything (bad data, bad options: no checkpoint, no weights yet) leaves
no folder it made: :func:`removed_if_untrained` deletes the directory and the parents it created for it, never
a folder that was there before.

Under torchrun, rank 0 alone takes the lock and writes; the marker records the torchrun job
(``--rdzv-id``) that started the run, so that a worker group torchrun restarts after a failure continues
that run (:func:`elastic_restart`) while a new job into a used folder is still refused.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

from rnnkit.files import CONFIG_BYTES, TMP_SUFFIX, loads_json, read_text, remove_stale_temps, write_json
from rnnkit.train.checkpoint import CONFIG, FORMAT, TRAINING_STATE, WEIGHTS, ModelDirError
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import DistContext
from rnnkit.train.schema import NothingTrainedError, check_settings, nothing_trained

LOCK = ".rnnkit.lock"
MARKER = ".rnnkit-run.json"
MARKER_FORMAT = "rnnkit-run"
TORCHRUN_DEFAULT_ID = "none"  # torchrun's --rdzv-id when none is given: every job launched without one shares it
BUSY_NEW = "wait for it to finish, or choose another --out"
BUSY_RESUME = "--resume continues a run that was stopped; wait for this one to finish"


class RunDirBusyError(ModelDirError):
    """Another live process is training into the directory."""


class RunLock:
    """The held lock of one run directory: an open, ``flock``-ed file descriptor of ``DIR/.rnnkit.lock``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and drop the ``flock``."""
        try:
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                self.path.unlink()
        except OSError:
            pass  # already gone: nothing to remove
        os.close(self.fd)


_HELD: dict[Path, RunLock] = {}


def _key(directory: Path) -> Path:
    return Path(os.path.abspath(directory))


def _holder(fd: int) -> str:
    """The ``pid started`` text of a lock file, for messages."""
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    if len(text) >= 2:
        return f"PID {text[0]}, started {text[1]}"
    return f"PID {text[0]}" if text else "a process"


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _create(path: Path) -> int | None:
    """Create ``path`` exclusively, holding our PID and our ``flock``; None if it exists already."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file no one else has opened: cannot block
        os.write(fd, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        try:
            os.link(tmp, path)  # atomic, and fails if path exists (even on NFS, unlike O_EXCL on old servers)
        except FileExistsError:
            os.close(fd)
            return None
        return fd
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(path: Path, log: Callable[[str], None], busy: str) -> int | None:
    """Open an existing lock; if its ``flock`` is free (the run died), make it ours. None: it vanished."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    if not _try_flock(fd):
        holder = _holder(fd)
        os.close(fd)
        raise RunDirBusyError(f"{path.parent} is in use by a running rnnkit training ({holder}); {busy}")
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # released and removed between our open and our flock: try again
        os.close(fd)
        return None
    holder = _holder(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode(), 0)
    log(f"note: the run that held {path.parent} ({holder}) is no longer running; taking its lock over")
    return fd


def acquire(directory: Path, log: Callable[[str], None], busy: str) -> RunLock:
    """Lock ``directory`` (created if missing) for this process; ``busy`` ends the error when a live run
    holds it. Re-entrant within a process."""
    key = _key(directory)
    if key in _HELD:
        return _HELD[key]
    key.mkdir(parents=True, exist_ok=True)
    path = key / LOCK
    for _ in range(100):
        fd = _create(path)
        if fd is None:
            fd = _take_over(path, log, busy)
        if fd is not None:
            _HELD[key] = RunLock(path, fd)
            return _HELD[key]
    raise RunDirBusyError(f"{directory}: could not take {LOCK} (another process keeps replacing it); {busy}")


def release(directory: Path) -> None:
    """Release this process's lock of ``directory``, if it holds one."""
    lock = _HELD.pop(_key(directory), None)
    if lock is not None:
        lock.release()


@atexit.register
def _release_all() -> None:
    for key in list(_HELD):
        release(key)


def _clean_temps(directory: Path, log: Callable[[str], None]) -> None:
    stale = remove_stale_temps(directory)
    if stale:
        log(f"note: removed {len(stale)} half-written file(s) a killed run left in {directory} "
            f"({', '.join(p.name for p in stale[:3])})")


def hold(directory: Path, log: Callable[[str], None], *, resume: bool) -> None:
    """Lock ``directory`` for :func:`rnnkit.train.loop.train_loop` (already locked by :func:`start_new` or
    :func:`start_resume` when the caller used them); a resumed run also removes a killed run's temp files."""
    acquire(directory, log, BUSY_RESUME if resume else BUSY_NEW)
    if resume:
        _clean_temps(Path(directory), log)


def _is_rnnkit_config(path: Path) -> bool:
    try:
        config = loads_json(read_text(path, CONFIG_BYTES, "model config"), str(path))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def is_run_directory(directory: Path) -> bool:
    """True for a folder an rnnkit run was started in (its marker, or an rnnkit ``config.json``)."""
    directory = Path(directory)
    return directory.is_dir() and ((directory / MARKER).exists() or _is_rnnkit_config(directory / CONFIG))


def trained(directory: Path) -> bool:
    """True once a run in ``directory`` wrote a checkpoint or weights (before that, nothing is lost by
    starting it again)."""
    return (Path(directory) / TRAINING_STATE).exists() or (Path(directory) / WEIGHTS).exists()


def start_new(out: Path, log: Callable[[str], None], *, run_id: str | None = None) -> None:
    """Make ``out`` the directory of a new run: refuse a file, a folder of other things, a trained model or
    a live run; then lock it and mark it (``run_id``: the torchrun job starting it). Call before loading
    any data."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ModelDirError(f"--out {out} is an existing file, not a folder; choose a new --out")
    if out.is_dir():
        ours = (out / MARKER).exists() or _is_rnnkit_config(out / CONFIG)
        others = sorted(p.name for p in out.iterdir() if not p.name.startswith(LOCK))  # a killed run's lock
        if others and not ours:
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            raise ModelDirError(f"--out {out} is a folder with other files in it ({shown}) and not an rnnkit "
                                "model directory; choose a new or empty --out")
    acquire(out, log, BUSY_NEW)
    try:
        if trained(out):
            raise ModelDirError(f"{out} already holds a model; pass --resume {out} to continue it, or choose a "
                                "new --out")
        _clean_temps(out, log)
        if (out / CONFIG).exists():
            log(f"note: the run in {out} was stopped before it trained anything; starting it anew")
        marker = {"format": MARKER_FORMAT, "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if run_id is not None:
            marker["torchrun_run_id"] = run_id
        write_json(out / MARKER, marker, indent=None)
    except BaseException:
        release(out)
        raise


def start_resume(directory: Path, log: Callable[[str], None]) -> None:
    """Lock ``directory`` to continue its killed run: refuse while the original run is alive, remove the
    temporary files the kill left, and say so when nothing was trained yet (no checkpoint to continue)."""
    directory = Path(directory)
    acquire(directory, log, BUSY_RESUME)
    try:
        _clean_temps(directory, log)
        if not trained(directory):
            raise nothing_trained(directory)
    except BaseException:
        release(directory)
        raise


def _quiet(_: str) -> None:
    """The log of ranks other than 0."""


def _missing(out: Path) -> list[Path]:
    """``out`` and those of its parents that do not exist yet, deepest first (what starting a run there makes)."""
    made = []
    for folder in (out.absolute(), *out.absolute().parents):
        if folder.exists():
            break
        made.append(folder)
    return made


def rank_log(ctx: DistContext, log: Callable[[str], None]) -> Callable[[str], None]:
    """The log of this process: ``log`` on rank 0, silence on the others."""
    return log if ctx.is_main else _quiet


def new_run(out: Path, ctx: DistContext, log: Callable[[str], None]) -> list[Path]:
    """Start a run into the model directory ``out``: lock it on rank 0 (refusing a file, a folder of other
    things, a trained model or a live run: :func:`start_new`), before any data is loaded. Returns the folders
    the run made (``out`` and missing parents, for :func:`removed_if_untrained`)."""
    made = _missing(Path(out))
    if ctx.is_main:
        start_new(Path(out), log, run_id=ctx.run_id)
    ctx.barrier()
    return made


def _started_by(out: Path, run_id: str | None) -> bool:
    """Whether the run in ``out`` was started by the torchrun job ``run_id`` (its marker says so)."""
    try:
        marker = loads_json(read_text(out / MARKER, CONFIG_BYTES, "run marker"), str(out / MARKER))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and run_id is not None and marker.get("torchrun_run_id") == run_id


def elastic_restart(out: Path, ctx: DistContext, log: Callable[[str], None]) -> bool:
    """True, on every rank, when torchrun restarted this worker group after a failure (``--max-restarts``;
    ``ctx.restart`` > 0) and ``out`` holds a checkpoint of the run this torchrun job started: the restarted
    workers then resume that run (from its last checkpoint) instead of starting a new one. Rank 0 decides.

    torchrun's default ``--rdzv-id`` ("none") is shared by every job launched without one, so it cannot
    tell this job's run from another's: such a run is not continued by itself (a note says how)."""
    if ctx.restart == 0:
        return False
    ours = ctx.is_main and trained(out) and _started_by(out, ctx.run_id)
    if ours and ctx.run_id == TORCHRUN_DEFAULT_ID:
        ours = False
        log(f"note: torchrun restarted the workers, but a job without --rdzv-id cannot tell its run in {out} from "
            f"another job's; resume it by hand (rnnkit train TASK --resume {out}) and give torchrun --rdzv-id "
            "JOB_ID (unique per job) for restarts to resume by themselves")
    return ctx.any(ours)


def check_visible(directory: Path, rank: int) -> None:
    """Every process of a resumed run reads the run directory (config.json, the checkpoint): refuse in one
    line, on a rank other than 0 that does not see it, with what the directory must be."""
    if rank != 0 and not (Path(directory) / CONFIG).is_file():
        raise ModelDirError(f"rank {rank} on {socket.gethostname()} does not see {Path(directory) / CONFIG}: every "
                            "process of a resumed run reads the run directory, so --out must be on a filesystem "
                            "all machines share (NFS, Lustre, …), at the same path on each")


@contextlib.contextmanager
def removed_if_untrained(out: Path, made: Sequence[Path], ctx: DistContext) -> Iterator[None]:
    """Within the block, a failure before the run trained anything (no checkpoint, no weights) removes the
    folders in ``made`` — ``out`` and parents this run created — on rank 0; a folder that existed is kept,
    without the run's marker, ``config.json`` and lock (so it is as empty as it was, and a corrected call
    starts cleanly)."""
    try:
        yield
    except BaseException:
        if ctx.is_main and not trained(out):
            release(out)
            if made:
                shutil.rmtree(made[0], ignore_errors=True)
            for name in (MARKER, CONFIG):
                (Path(out) / name).unlink(missing_ok=True)
            for parent in made[1:]:
                with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
                    parent.rmdir()
        raise


def saved_settings(config: dict, options: Callable[..., Any], overrides: dict[str, Any],
                   where: str) -> tuple[Any, TrainConfig]:
    """The options and training settings a run was started with, read from its ``config.json`` (``where``,
    for the errors), with the runtime ``overrides`` applied (:attr:`TrainConfig.RUNTIME`, ``epochs``)."""
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
    return opts, cfg


__all__ = ["BUSY_NEW", "BUSY_RESUME", "LOCK", "MARKER", "TORCHRUN_DEFAULT_ID", "NothingTrainedError",
           "RunDirBusyError", "RunLock", "acquire", "check_visible", "elastic_restart", "hold", "is_run_directory",
           "new_run", "rank_log", "release", "removed_if_untrained", "saved_settings", "start_new", "start_resume",
           "trained"]
