"""The texts ``rnnkit predict`` and ``rnnkit translate`` read: arguments, or stdin lines streamed in chunks.

Every text carries where it came from (``input 2`` for the second argument, ``stdin line 7``), so an error
or a warning names it. Stdin is read as bytes and decoded line by line: invalid UTF-8 is an error naming
the line and the byte (``--errors replace`` turns the bad bytes into U+FFFD with a warning instead); a blank
line is skipped with a warning and the other lines are still answered; a large input is answered
:data:`CHUNK` lines at a time, so memory does not grow with the input. A line is read at most
``4 × max_chars`` bytes at a time (UTF-8 spends at most 4 bytes on a character), so one longer than the
command takes is refused by its bytes while reading, before it is held whole or tokenized.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, TypeVar

CHUNK = 256  # stdin lines answered together: one batch of the model, then printed
T = TypeVar("T")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def decode_line(raw: bytes, where: str, errors: str = "strict") -> str:
    """One line of bytes as text (without its line ending); invalid UTF-8 is a ValueError naming ``where``,
    or with ``errors="replace"`` U+FFFD and a warning."""
    raw = raw.rstrip(b"\r\n")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        if errors != "replace":
            raise ValueError(f"{where} is not valid UTF-8 (byte 0x{byte:02x} at byte {exc.start + 1}); convert the "
                             f"input to UTF-8, or pass --errors replace to read bad bytes as U+FFFD") from None
        warn(f"{where} is not valid UTF-8 (byte 0x{byte:02x} at byte {exc.start + 1}); read bad bytes as U+FFFD")
        return raw.decode("utf-8", errors="replace")


def too_long(where: str, max_chars: int) -> ValueError:
    return ValueError(f"{where} is longer than {max_chars:,} characters, the most one input may be: cut it into "
                      "parts (one per line)")


def stdin_texts(stream: BinaryIO, errors: str = "strict", max_chars: int | None = None) -> Iterator[tuple[str, str]]:
    """(where, text) of each non-blank line of ``stream`` (bytes), lazily; a UTF-8 byte-order mark on line 1 is
    dropped; blank lines are skipped with a warning; no non-blank line at all is a ValueError; a line of more
    than ``max_chars`` characters is a ValueError, found after reading at most ``4 * max_chars + 2`` bytes."""
    blank = 0
    answered = 0
    most = None if max_chars is None else 4 * max_chars  # bytes: UTF-8 spends 1-4 per character
    number = 0
    while True:
        raw = stream.readline() if most is None else stream.readline(most + 2)  # + a line ending "\r\n"
        if not raw:
            break
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        where = f"stdin line {number}"
        if most is not None and len(raw.rstrip(b"\r\n")) > most:
            raise too_long(where, max_chars)
        text = decode_line(raw, where, errors)
        if max_chars is not None and len(text) > max_chars:
            raise too_long(where, max_chars)
        if not text.strip():
            blank += 1
            warn(f"{where} is blank; skipped")
            continue
        answered += 1
        yield where, text
    if answered == 0:
        raise ValueError("stdin held no text" + (f" (only {blank} blank lines)" if blank else "") +
                         ": pipe one input per line, or give them as arguments")


def argument_texts(texts: Sequence[str], errors: str = "strict", max_chars: int | None = None) -> list[tuple[str, str]]:
    """(where, text) of the arguments; one that is not valid UTF-8 (the shell passed bytes that are not) is a
    ValueError naming it, or with ``errors="replace"`` U+FFFD and a warning; one that is an existing folder
    (a second model directory, not a text) is a ValueError; so is one of more than ``max_chars`` characters."""
    out = []
    for i, text in enumerate(texts, 1):
        where = f"input {i}"
        if max_chars is not None and len(text) > max_chars:
            raise too_long(where, max_chars)
        if os.path.isdir(text):  # `rnnkit predict runs/sentiment-lstm-*/ "…"` when the glob matched two runs
            raise ValueError(f"{where} ({text}) is a folder, not a text: give one model directory, then the texts "
                             "(to average several sentiment models, add each with --ensemble DIR)")
        out.append((where, decode_line(text.encode("utf-8", "surrogateescape"), where, errors)))
    return out


def texts_of(args: Any, errors: str = "strict", max_chars: int | None = None) -> Iterable[tuple[str, str]]:
    """The inputs of a command: its arguments, or stdin lines when none were given and stdin is not a terminal;
    ``max_chars``: the longest input the command takes (a longer stdin line is refused while it is read)."""
    if args.texts:
        return argument_texts(args.texts, errors, max_chars)
    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        raise ValueError("give one or more texts as arguments, or pipe lines on stdin")
    return stdin_texts(getattr(stdin, "buffer", None) or _Encoded(stdin), errors, max_chars)


class _Encoded:
    """A text stream (a test's captured stdin) read as UTF-8 bytes, line by line."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readline(self, size: int = -1) -> bytes:
        return self.stream.readline(size).encode("utf-8", "surrogateescape")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (the last may be shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Characters str.splitlines() (and other line readers) break a line at, which json.dumps(ensure_ascii=False) leaves
# raw: escaped, so one JSON object stays one line of output (the control characters json.dumps escapes itself).
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_line(obj: Any) -> str:
    """``obj`` as one line of JSON (UTF-8 text kept readable; the line separators it may hold escaped)."""
    text = json.dumps(obj, ensure_ascii=False)
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


def relabel(message: str, chunk: Sequence[tuple[str, str]]) -> str:
    """``message`` with its first ``input N`` (N counted in ``chunk``) replaced by where that text came from."""
    def where(match: re.Match) -> str:
        k = int(match.group(1))
        return chunk[k - 1][0] if 1 <= k <= len(chunk) else match.group(0)

    return re.sub(r"\binput (\d+)\b", where, message, count=1)


def answer(chunk: Sequence[tuple[str, str]], fn: Callable[[list[str]], list[T]]) -> list[T]:
    """``fn`` of the chunk's texts; a ValueError or warning that names an ``input N`` of the chunk names where
    that text came from instead (``stdin line 812``); warnings are printed as ``warning: …`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            results = fn([text for _, text in chunk])
        except ValueError as exc:
            raise ValueError(relabel(str(exc), chunk)) from None
    for w in caught:
        warn(relabel(str(w.message), chunk))
    return results
