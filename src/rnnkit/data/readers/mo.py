"""GNU gettext ``.mo`` catalogs, and LibreOffice's UI strings as English–French pairs.

The ``.mo`` layout: a little- or big-endian header ``magic, revision, N, O, T``; at ``O`` and ``T`` two
tables of N ``(length, offset)`` entries for the original (``msgid``) and translated (``msgstr``)
strings. A ``msgid`` may start with a context ``"ctx\\x04"`` and a plural entry is
``"singular\\x00plural"`` (its ``msgstr`` one form per ``\\x00``). Entry ``""`` is the header.

What LibreOffice's catalogs contain (libreoffice-l10n-fr 7.4.7, 33 files, 28,447 entries) and what
:func:`libreoffice_pair` does about it:

* every key has a context (``RID_STR_PAPERNAMES\\x04Japanese Postcard``): stripped;
* accelerators are ``~`` (``~Save`` → ``~Enregistrer``) or, in ``.ui`` strings, a single ``_``
  before a letter (``_Port number:`` → ``Numéro de _port :``): removed. A side that still holds a
  ``_`` (``OPT_PROB_HIT``, ``_underline_``, ``Mis_ou_appelé``) is an identifier or markup: dropped;
* placeholders ``%1``, ``%PRODUCTNAME``, ``$(ARG1)``, ``$1`` and ``<...>`` markup: dropped;
* 12 plural entries: the singular forms are used (``One page`` → ``Une page``);
* untranslated entries and entries whose two sides are equal (``Max``, ``OK``): dropped;
* whitespace (``\\n``, no-break spaces of French typography ``Langue :``) is collapsed.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

_MAGIC_LE, _MAGIC_BE = 0x950412DE, 0xDE120495
_UI_ACCELERATOR = re.compile(r"_(?=\w)")
_CHARSET = re.compile(r"charset=([\w.-]+)", re.IGNORECASE)


def read_mo(path: str | Path) -> list[tuple[str, str]]:
    """All ``(msgid, msgstr)`` entries of a ``.mo`` file as stored (context and plural parts included),
    in file order, header entry first. Strings are decoded with the header's charset (UTF-8 if none).

    Raises:
        ValueError: not a ``.mo`` file, or a table/string that points outside the file (one line).
    """
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise ValueError(f"{path}: not a gettext .mo file (only {len(data)} bytes)")
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == _MAGIC_LE else ">" if magic == _MAGIC_BE else None
    if endian is None:
        raise ValueError(f"{path}: not a gettext .mo file (magic {data[:4].hex()}, expected 950412de)")
    _revision, count, originals, translations = struct.unpack(f"{endian}4I", data[4:20])

    def string(table: int, i: int) -> bytes:
        at = table + 8 * i
        if at + 8 > len(data):
            raise ValueError(f"{path}: truncated .mo file (string table entry {i} past the end)")
        length, offset = struct.unpack(f"{endian}2I", data[at : at + 8])
        if offset + length > len(data):
            raise ValueError(f"{path}: truncated .mo file (string {i} past the end)")
        return data[offset : offset + length]

    raw = [(string(originals, i), string(translations, i)) for i in range(count)]
    charset = "utf-8"
    for key, value in raw:
        if key == b"" and (m := _CHARSET.search(value.decode("ascii", "replace"))):
            charset = m.group(1) if m.group(1).upper() != "CHARSET" else "utf-8"
    try:
        return [(key.decode(charset), value.decode(charset)) for key, value in raw]
    except (UnicodeDecodeError, LookupError) as err:
        raise ValueError(f"{path}: strings are not valid {charset} ({err})") from None


def _strip_accelerator(text: str) -> str:
    text = text.replace("~", "")
    if text.count("_") == 1:
        text = _UI_ACCELERATOR.sub("", text)
    return " ".join(text.split())


def libreoffice_pair(msgid: str, msgstr: str) -> tuple[str, str] | None:
    """The cleaned ``(english, translation)`` of one catalog entry, or ``None`` if it is dropped."""
    if not msgid or not msgstr:
        return None
    english = _strip_accelerator(msgid.rsplit("\x04", 1)[-1].split("\x00", 1)[0])
    other = _strip_accelerator(msgstr.split("\x00", 1)[0])
    if not english or not other or english == other:
        return None
    if any(ch in side for side in (english, other) for ch in "%$<_"):
        return None
    return english, other


def read_mo_pairs(folder: str | Path) -> list[tuple[str, str, str]]:
    """``(catalog, english, translation)`` for every kept entry of ``folder/*.mo``, catalogs sorted."""
    paths = sorted(Path(folder).glob("*.mo"))
    if not paths:
        raise ValueError(f"{folder}: no .mo files found (expected LibreOffice's LC_MESSAGES/*.mo)")
    out = []
    for path in paths:
        for msgid, msgstr in read_mo(path):
            pair = libreoffice_pair(msgid, msgstr)
            if pair is not None:
                out.append((path.stem, *pair))
    return out
