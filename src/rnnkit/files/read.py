"""Reading a file a user or a model directory names, bounded before a byte is read.

A model directory may come from anyone: its ``config.json`` may be a symbolic link to ``/dev/zero`` (read
forever), a FIFO (an ``open`` that blocks forever) or a file of many gigabytes. :func:`read_bytes` opens
without blocking, requires a regular file, and reads at most ``limit`` bytes, so each of those is one
:class:`UnreadableFileError` at once. The caps below are stated once, here, with why they are enough.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

KIB = 1 << 10
MIB = 1 << 20
CONFIG_BYTES = 16 * MIB  # config.json, metrics.json, a --config file, a run marker: a few KB in practice
HISTORY_BYTES = 64 * MIB  # history.jsonl: one ~300-byte line per evaluation (200,000 evaluations)
TOKENIZER_BYTES = 512 * MIB  # tokenizer.json / vocabulary files: ~40 bytes per entry, 10 million entries


class UnreadableFileError(ValueError):
    """A file that is not a regular file, is larger than its cap, or is not the text it should be."""


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """``open(path, "rb")`` of a regular file (symbolic links followed), for reading in blocks; a FIFO, device,
    socket or directory is an :class:`UnreadableFileError` at once (a FIFO is opened without blocking)."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFileError(f"{path} is {_kind(mode)}, not a regular file; give the {what} itself")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (symbolic links followed), at most ``limit`` of them.

    A FIFO, device, socket or directory, or a file larger than ``limit``, is an :class:`UnreadableFileError`
    naming the file and what to do; it is refused before reading (a FIFO is opened without blocking).
    A missing file raises ``FileNotFoundError`` as ``open`` does."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFileError(f"{path} is {_kind(info.st_mode)}, not a regular file; give the {what} "
                                      "itself")
        if info.st_size > limit:
            raise UnreadableFileError(f"{path} is {info.st_size:,} bytes, more than the {limit:,} a {what} may "
                                      "be; it is not one (or is corrupt)")
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:  # it grew while being read
        raise UnreadableFileError(f"{path} holds more than the {limit:,} bytes a {what} may be")
    return b"".join(chunks)


def read_text(path: str | os.PathLike[str], limit: int, what: str = "file") -> str:
    """:func:`read_bytes` decoded as UTF-8; bytes that are not UTF-8 are an :class:`UnreadableFileError`
    naming the file and the byte offset."""
    raw = read_bytes(path, limit, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{path} is not UTF-8 text (byte {exc.start}); a {what} is UTF-8") from None
