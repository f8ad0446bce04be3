"""Reading the bytes of a user's text file: UTF-8 or a one-line error naming the file and the line.

Every reader of a format users bring (CSV / TSV / JSONL / plain text / aclImdb / SST-2 / Anki / parallel
text) goes through :func:`read_utf8`, so a Latin-1 or otherwise non-UTF-8 file is reported the same way::

    reviews.csv: line 17: not UTF-8 (byte 0xe9 at column 12); re-encode the file as UTF-8, e.g.
    `iconv -f latin1 -t utf-8 reviews.csv > reviews.utf8.csv`

:func:`csv_field_limit` lifts the csv module's 128 KiB field limit to the size of the text being parsed
(a field cannot be longer than its file), and :func:`line_list` writes the line numbers of skipped
(blank) records the way every warning shows them.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rnnkit.files import open_regular

MAX_FIELD = min(sys.maxsize, 2**31 - 1)
"""The largest value ``csv.field_size_limit`` accepts on every platform (a C long)."""


def utf8_error(path: Path | str, raw: bytes, err: UnicodeDecodeError, expected: str = "") -> ValueError:
    """The one-line error for invalid UTF-8 at byte offset ``err.start`` of ``raw``: file, line, column
    (``expected``: what the file should be, added to the message)."""
    line = raw.count(b"\n", 0, err.start) + 1
    column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
    name = Path(path).name
    what = f"; expected {expected}" if expected else ""
    return ValueError(
        f"{path}: line {line}: not UTF-8 (byte 0x{raw[err.start]:02x} at column {column}){what}; re-encode the "
        f"file as UTF-8, e.g. `iconv -f latin1 -t utf-8 {name} > utf8-{name}`"
    )


def decode_utf8(path: Path | str, raw: bytes, expected: str = "") -> str:
    """``raw`` decoded as UTF-8 (a leading BOM dropped), or :func:`utf8_error`."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise utf8_error(path, raw, err, expected) from None


def read_regular(path: Path | str) -> bytes:
    """The bytes of the regular file ``path``; a folder is ``IsADirectoryError``, a FIFO or a device a one-line
    :class:`rnnkit.files.UnreadableFileError` (a ValueError) at once, not a read that never ends."""
    if Path(path).is_dir():
        raise IsADirectoryError(path)
    with open_regular(path, "data file") as f:
        return f.read()


def read_utf8(path: Path | str, expected: str = "") -> str:
    """The text of ``path`` (UTF-8, BOM dropped); an unreadable or non-UTF-8 file, or one that is not a regular
    file (a FIFO, /dev/zero: refused before reading), is a one-line ``ValueError``."""
    try:
        raw = read_regular(path)
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder; expected a text file") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
    return decode_utf8(path, raw, expected)


@contextmanager
def csv_field_limit(text: str) -> Iterator[None]:
    """Allow CSV fields as long as ``text`` (at least the default 128 KiB) while parsing it, then restore."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(MAX_FIELD, max(previous, len(text) + 1)))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def line_list(numbers: Sequence[int], shown: int = 10) -> str:
    """``"3, 7, 12"`` (or the first ``shown`` numbers and ``"… (25 in all)"``) for warnings and errors."""
    head = ", ".join(str(n) for n in numbers[:shown])
    return head if len(numbers) <= shown else f"{head}, … ({len(numbers)} in all)"
