"""GNU gettext ``.mo`` catalogs (read by the standard library's :mod:`gettext`), and LibreOffice's UI
strings as English–French pairs.

``gettext.GNUTranslations`` parses the file and decodes it with the header's charset. Its catalog keeps a
key's context as a ``"ctx\\x04"`` prefix and stores a plural entry under ``(singular, n)`` for each form n;
:func:`read_mo` lists the entries in file order (header ``""`` first), a plural entry once, as its singular
with its forms joined by ``\\x00``.

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

import gettext
import re
import struct
from pathlib import Path

_UI_ACCELERATOR = re.compile(r"_(?=\w)")


def read_mo(path: str | Path) -> list[tuple[str, str]]:
    """All ``(msgid, msgstr)`` entries of a ``.mo`` file, context prefixes kept, in file order, header entry
    first; a plural entry is ``(singular, "form0\\x00form1…")``. Strings are decoded with the header's charset.

    Raises:
        ValueError: not a ``.mo`` file, a truncated one, or strings that are not in its charset (one line).
    """
    try:
        with open(path, "rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    except FileNotFoundError:
        raise
    except (OSError, struct.error) as err:  # gettext: "Bad magic number", "File is corrupt"; struct: tables cut
        if isinstance(err, struct.error) or err.strerror == "File is corrupt":
            raise ValueError(f"{path}: truncated or corrupt gettext .mo file (a string lies past its end)") from None
        raise ValueError(f"{path}: not a gettext .mo file ({err.strerror})") from None
    except (ValueError, LookupError) as err:  # undecodable strings, unknown charset, bad Plural-Forms
        raise ValueError(f"{path}: unreadable strings in a gettext .mo file ({err})") from None
    entries: dict[str, list[str]] = {}
    for key, value in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key  # (singular, n): the n-th plural form
        entries.setdefault(msgid, []).append(value)
    return [(msgid, "\x00".join(forms)) for msgid, forms in entries.items()]


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
