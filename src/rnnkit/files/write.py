"""Writing files so that a kill at any moment leaves the old file or the new one, never half of one.

Every file rnnkit writes (model directories, vocabularies, caches, benchmark results) goes through
:func:`atomic_write`: the content is written to a temporary name in the same folder, flushed to disk
(``fsync``), given the mode an ordinary ``open()`` would give (``0o666`` less the umask, so 0644 by
default: a shared model directory stays readable), and moved into place with ``os.replace``. The
folder is synced too, so the rename itself survives a power cut.

A full disk (``ENOSPC``, a quota, or the file-size limit ``ulimit -f``: ``EFBIG``) during a write is one
:class:`DiskFullError` that names the folder and its free space; the previous file is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"
FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# Libraries that write in native code report the errno only in their message: safetensors says
# "(os error 28)"; torch.save's own writer loses it (it is kept on the exception chain, see _full_errno).
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


class DiskFullError(OSError):
    """A write ran out of room: the disk or quota is full, or the file-size limit (``ulimit -f``) was reached."""


def _full_errno(exc: BaseException | None) -> int | None:
    """The ENOSPC/EFBIG/EDQUOT behind ``exc``, its cause or its context (None: not a full disk)."""
    seen = 0
    while exc is not None and seen < 16:
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return exc.errno
        match = _OS_ERROR.search(str(exc))
        if match and int(match.group(1)) in FULL_ERRNOS:
            return int(match.group(1))
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def disk_full(folder: Path, code: int) -> DiskFullError:
    """The one-line error for a write into ``folder`` that failed with ``code`` (ENOSPC, EFBIG, EDQUOT)."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    if code == errno.EFBIG:
        reason = "the disk is full or the file-size limit (ulimit -f) was reached"
    else:
        reason = "the disk is full"
    return DiskFullError(f"{reason}: {free:,} bytes free in {folder}; make room there (or write elsewhere) "
                         "and run again; the files already there are unchanged")


@contextlib.contextmanager
def full_disk_is_one_line(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, a write that fails for lack of room raises :class:`DiskFullError` for ``folder``
    (for writers that append, such as history.jsonl and steps.csv)."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        code = _full_errno(exc)
        if code is None:
            raise
        raise disk_full(Path(folder), code) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the data itself was synced
    finally:
        os.close(fd)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back while a file is written, delivered as soon as it is in place.

    A Ctrl-C inside ``torch.save`` interrupts its zip writer, whose clean-up then fails ("unexpected pos")
    and replaces the KeyboardInterrupt with a RuntimeError the training loop cannot recognise. While the
    file is written the two signals are only noted; afterwards the program's own handlers are put back and
    a noted signal is raised again for them. Writes are short, so a signal waits milliseconds. Handlers can
    be set from the main thread only: elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: a handler set outside Python, which could not be put back
            previous[signum] = signal.signal(signum, lambda number, frame: noted.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if noted:
            signal.raise_signal(noted[0])

def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it into place.

    ``write`` may open ``tmp`` any way it likes (text, bytes, ``torch.save``, ``save_file``). On any
    error the temporary file is removed and the old ``path`` (if any) is left untouched; a full disk is a
    :class:`DiskFullError` naming the folder and its free space.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with full_disk_is_one_line(path.parent):  # no inode left is a full disk too
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with full_disk_is_one_line(path.parent), _interrupts_held():
            write(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a plain open() would give 0644
            _fsync(tmp)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """``path.write_text(text)`` (UTF-8), atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2) -> Path:
    """``data`` as UTF-8 JSON (non-ASCII kept as is), atomically."""
    return write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files a killed :func:`atomic_write` left in ``folder``; return them."""
    stale = sorted(Path(folder).glob(f".*{TMP_SUFFIX}"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def point_link(link: str | os.PathLike[str], target: str) -> bool:
    """Make ``link`` a symbolic link to ``target`` (a name relative to ``link``'s folder), atomically: a new
    link is made under a temporary name and moved over the old one with ``os.replace``, so a reader sees the
    old target or the new one, never no link. ``link`` that exists and is not a symbolic link (a user's own
    file or folder) is left alone: returns False."""
    link = Path(link)
    if os.path.lexists(link) and not link.is_symlink():
        return False
    tmp = link.with_name(f".{link.name}.{os.getpid()}{TMP_SUFFIX}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(link.parent)
    return True
