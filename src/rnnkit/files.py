"""Writing files so that a kill at any moment leaves the old file or the new one, never half of one.

Every file rnnkit writes (model directories, vocabularies, caches, benchmark results) goes through
:func:`atomic_write`: the content is written to a temporary name in the same folder, flushed to disk
(``fsync``), given the mode an ordinary ``open()`` would give (``0o666`` less the umask, so 0644 by
default: a shared model directory stays readable), and moved into place with ``os.replace``. The
folder is synced too, so the rename itself survives a power cut.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


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


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it into place.

    ``write`` may open ``tmp`` any way it likes (text, bytes, ``torch.save``, ``save_file``). On any
    error the temporary file is removed and the old ``path`` (if any) is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
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
