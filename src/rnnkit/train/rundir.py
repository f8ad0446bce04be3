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

Within one process the lock is re-entrant (``fit`` after ``new_run``, or a second run after a failed one
in the same Python session); two threads training into one folder are not protected against each other.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from rnnkit.files import TMP_SUFFIX, remove_stale_temps, write_json
from rnnkit.train.checkpoint import CONFIG, FORMAT, TRAINING_STATE, WEIGHTS, ModelDirError
from rnnkit.train.schema import NothingTrainedError, nothing_trained

LOCK = ".rnnkit.lock"
MARKER = ".rnnkit-run.json"
MARKER_FORMAT = "rnnkit-run"
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
    """Lock ``directory`` for :func:`rnnkit.train.fit` (already locked by :func:`start_new` or
    :func:`start_resume` when the caller used them); a resumed run also removes a killed run's temp files."""
    acquire(directory, log, BUSY_RESUME if resume else BUSY_NEW)
    if resume:
        _clean_temps(Path(directory), log)


def _is_rnnkit_config(path: Path) -> bool:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def trained(directory: Path) -> bool:
    """True once a run in ``directory`` wrote a checkpoint or weights (before that, nothing is lost by
    starting it again)."""
    return (Path(directory) / TRAINING_STATE).exists() or (Path(directory) / WEIGHTS).exists()


def start_new(out: Path, log: Callable[[str], None]) -> None:
    """Make ``out`` the directory of a new run: refuse a file, a folder of other things, a trained model or
    a live run; then lock it and mark it. Call before loading any data."""
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


__all__ = ["BUSY_NEW", "BUSY_RESUME", "LOCK", "MARKER", "NothingTrainedError", "RunDirBusyError", "RunLock",
           "acquire", "hold", "release", "start_new", "start_resume", "trained"]
