"""The lines of a text file larger than memory, a block at a time: what :func:`read_text_lines` gives, streamed.

:func:`line_blocks` yields the file's lines in blocks of about :data:`BLOCK_BYTES` bytes, exactly the lines
``read_text_lines`` returns (``\\r\\n`` and ``\\r`` become ``\\n``, a UTF-8 BOM is dropped, one final line end
is not a line), so a corpus streamed from disk is cut and tokenised as the same corpus read whole. Memory
holds one block (and one line, which may not exceed :data:`MAX_LINE_BYTES`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rnnkit.data.readers.encoding import utf8_error

BLOCK_BYTES = 4 << 20
"""Bytes read at a time (4 MiB): large enough that Python's per-block work is small next to tokenising it."""
MAX_LINE_BYTES = 256 << 20
"""The longest line a streamed file may hold (256 MiB): memory holds a whole line."""
BOM = b"\xef\xbb\xbf"


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """sha256 of the file's bytes, read a block at a time; ``progress(n)`` after each block of n bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            digest.update(block)
            if progress is not None:
                progress(len(block))
    return digest.hexdigest()


def line_blocks(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[list[str]]:
    """The lines of ``path`` (no line ends), a block at a time; ``progress(n)`` after each n bytes read.

    Raises:
        ValueError: an unreadable, empty, binary (NUL bytes) or non-UTF-8 file, or a line longer than
            :data:`MAX_LINE_BYTES`, in one line naming the file (and the line).
    """
    try:
        f = open(path, "rb")
    except OSError as err:
        raise ValueError(f"{path}: cannot read a text file ({err.strerror or err})") from None
    with f:
        carry = b""  # the bytes after the last line end so far (a line not yet complete)
        lines_before = 0  # lines yielded so far (for the line number of an error)
        offset = 0  # bytes read so far (for the offset of a NUL byte)
        seen_text = False
        while True:
            raw = f.read(BLOCK_BYTES)
            if offset == 0 and raw.startswith(BOM):
                raw = raw[len(BOM):]
                offset = len(BOM)
            end = not raw
            if progress is not None and raw:
                progress(len(raw))
            _check_binary(path, raw, offset)
            offset += len(raw)
            data = carry + raw
            hold = b""
            if not end and data.endswith(b"\r"):  # a \r\n may straddle the blocks: translate it whole
                data, hold = data[:-1], b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if end:  # what is left is the last line (one final line end is no line of its own)
                if data:
                    seen_text = seen_text or bool(data.strip())
                    yield _decode(path, data.removesuffix(b"\n"), lines_before).split("\n")
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data + hold
                if len(carry) > MAX_LINE_BYTES:
                    raise ValueError(f"{path}: line {lines_before + 1} is longer than {MAX_LINE_BYTES >> 20} MiB; "
                                     "a text corpus is split into lines (one line per paragraph)")
                continue
            head, carry = data[:cut], data[cut + 1:] + hold
            seen_text = seen_text or bool(head.strip())
            lines = _decode(path, head, lines_before).split("\n")
            lines_before += len(lines)
            yield lines
    if not seen_text:
        raise ValueError(f"{path}: empty file; expected plain UTF-8 text")


def _check_binary(path: Path, raw: bytes, offset: int) -> None:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ValueError(f"{path}: binary file (NUL bytes at offset {offset + nul}); expected plain UTF-8 text")


def _decode(path: Path, head: bytes, lines_before: int) -> str:
    """``head`` (whole lines) as text; invalid UTF-8 is :func:`utf8_error`, its line counted from the file's start."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        line = head.count(b"\n", 0, err.start) + 1
        message = str(utf8_error(path, head, err, "plain UTF-8 text"))
        raise ValueError(message.replace(f": line {line}:", f": line {lines_before + line}:", 1)) from None
