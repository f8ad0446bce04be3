"""The one split container, :class:`Splits`, and the ways rnnkit splits data into train / val / test.

Every split is reproducible on every machine and with every NumPy version: random orders come from
SHA-256 of ``f"{seed}\\0{key}"`` (:func:`seeded_order`), never from a random generator, and the keys of
each split are stored in ``Splits.split`` so ``metrics.json`` records exactly which examples were tested.

==================  ==========================================================  =========================
split               rule                                                        used by
==================  ==========================================================  =========================
seeded (by key)     distinct keys in seeded order, cut at the fractions         :func:`split_keys`
stratified          each class spread evenly over the splits (seeded order)     :func:`stratified_split`
grouped             all examples of a group (movie, subject, source sentence)   rt-polarity, hapt,
                    in one split: split the group keys, then the examples       translation
positional          the tail of every document (a book, a play) held out        :func:`split_documents`
official            a published test set kept, a stratified val from train      :func:`split_ts`
==================  ==========================================================  =========================
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import numpy as np

if TYPE_CHECKING:
    from rnnkit.data.readers.ts import TsData

K = TypeVar("K", bound=Hashable)

SPLITS = ("train", "val", "test")
ALL = "all"  # every example of every split (Splits.part)
DEFAULT_SEED = 13
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
DOC_FRACTIONS: tuple[float, float, float] = (0.9, 0.05, 0.05)
"""Per document: the first 90 % trains, the next 5 % validates, the last 5 % tests."""
UNLABELLED = -1
"""Label of an example whose file carries no label (e.g. a GLUE test TSV read with labels optional)."""
UCI_TEST_SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
"""The test subjects of the UCI HAR / HAPT release, so test numbers compare with published ones."""


# ---------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Example:
    """One text and its class id (an index into the dataset's ``labels``)."""

    text: str
    label: int


class SignalExample(NamedTuple):
    """One sequence: ``features`` float32 (T, C) and ``label`` (class id). Unpacks as ``x, y = ex``."""

    features: np.ndarray
    label: int


@dataclass(frozen=True)
class Pair:
    """One sentence pair; ``domain`` names where it comes from (``"bible"``, ``"libreoffice"``, …)."""

    src: str
    tgt: str
    domain: str = ""


# -------------------------------------------------------------------------------------- container
@dataclass
class Splits:
    """Train / val / test data and how the split was made — for every task.

    Attributes:
        name: dataset name (registry name or file path).
        train, val, test: the items of each split: :class:`Example` (text classification),
            :class:`SignalExample` (sequences, features (T, C)), :class:`Pair` (translation), or one
            string of running text (language modelling). val or train may be empty (test-only sets).
        split: JSON-serialisable: ``method``, ``seed``, ``fractions`` and the ``keys`` of every split
            (movie names, subject ids, row numbers) so it can be reproduced and stored.
        labels: class names; ``labels[i]`` is the name of class id ``i`` (classification only).
        channels: the C channel names of sequence features, in column order (sequences only).
        groups: per split, the group (subject / speaker) of every item, parallel to that split's list.
        info: facts about the data (sample rate, window length, units, source files).
        src_lang, tgt_lang: language codes (translation only).
        level: the natural tokenisation of running text, ``"word"`` or ``"char"`` (a hint).
        description: one sentence about the data.
    """

    name: str
    train: Any
    val: Any
    test: Any
    split: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    groups: dict[str, list[int]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    src_lang: str = ""
    tgt_lang: str = ""
    level: str = "char"
    description: str = ""

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    def part(self, split: str) -> Any:
        """The items of ``split`` (``train``, ``val`` or ``test``), or of all three (:data:`ALL`: every
        example of the data, as ``rnnkit evaluate --data FILE`` scores an outside file)."""
        if split == ALL:
            if isinstance(self.train, str):
                raise ValueError(f"{self.name}: running text is scored one split at a time (train, val or test)")
            return [*self.train, *self.val, *self.test]
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join((*SPLITS, ALL))}")
        return getattr(self, split)

    def sizes(self) -> dict[str, Any]:
        """Items per split; for running text, characters and whitespace-separated words per split."""
        out: dict[str, Any] = {}
        for s in SPLITS:
            items = self.part(s)
            out[s] = {"chars": len(items), "words": len(items.split())} if isinstance(items, str) else len(items)
        return out

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Per split, examples per label name."""
        out: dict[str, dict[str, int]] = {}
        for s in SPLITS:
            counts = Counter(ex.label for ex in self.part(s))
            out[s] = {name: counts.get(i, 0) for i, name in enumerate(self.labels)}
        return out

    def length_range(self) -> tuple[int, int]:
        """Shortest and longest T of the sequences over all splits."""
        lengths = [len(ex.features) for s in SPLITS for ex in self.part(s)]
        return (min(lengths), max(lengths)) if lengths else (0, 0)

    def domains(self) -> dict[str, dict[str, int]]:
        """Per split, pairs per domain (pairs on disk of a single domain name it: ``.domain``)."""
        out = {}
        for s in SPLITS:
            items = self.part(s)
            one = getattr(items, "domain", None)
            out[s] = {one: len(items)} if one is not None else dict(Counter(p.domain for p in items))
        return out

    def vocabulary(self) -> list[str]:
        """The distinct characters of running text over all splits, sorted."""
        return sorted(set(self.train) | set(self.val) | set(self.test))

    def map_features(self, fn: Callable[[np.ndarray], np.ndarray]) -> Splits:
        """A copy whose every feature array is ``fn(features)`` (labels, split and groups unchanged)."""
        parts = {s: [SignalExample(fn(ex.features), ex.label) for ex in self.part(s)] for s in SPLITS}
        return replace(self, **parts)

    def summary(self) -> dict[str, Any]:
        """Small JSON-able description (no keys) for logs and reports."""
        out: dict[str, Any] = {"name": self.name}
        if self.src_lang:
            out["direction"] = f"{self.src_lang}-{self.tgt_lang}"
        if self.labels:
            out["labels"] = list(self.labels)
        if self.channels:
            out["channels"] = list(self.channels)
        out["sizes"] = self.sizes()
        if self.labels:
            out["label_counts"] = self.label_counts()
        if self.channels:
            out["length_range"] = list(self.length_range())
        if self.src_lang:
            out["domains"] = self.domains()
        out["split_method"] = self.split.get("method")
        out["seed"] = self.split.get("seed")
        return out


# The names of the four containers this one replaced (every field is keyword-compatible).
TextClassificationData = Splits
SequenceData = Splits
ParallelData = Splits
TextCorpus = Splits


# -------------------------------------------------------------------------------------- seeded
def seeded_order(keys: Sequence[K], seed: int) -> list[K]:
    """Keys in a pseudo-random order fixed by ``seed`` (SHA-256 of ``seed`` and ``str(key)``)."""
    if len(set(map(str, keys))) != len(keys):
        raise ValueError("seeded_order needs keys with distinct str() forms")
    return sorted(keys, key=lambda k: order_digest(k, seed))


def order_digest(key: Any, seed: int) -> bytes:
    """The 32 bytes :func:`seeded_order` sorts ``key`` by: SHA-256 of ``seed``, a NUL and ``str(key)``."""
    return hashlib.sha256(f"{seed}\0{key}".encode()).digest()


def check_fractions(fractions: Sequence[float]) -> None:
    """Three non-negative numbers summing to 1, or a one-line ``ValueError``."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")


def cut_sizes(n: int, fractions: Sequence[float]) -> tuple[int, int]:
    """Where ``n`` ordered keys are cut: keys ``[0, a)`` train, ``[a, b)`` val, ``[b, n)`` test."""
    check_fractions(fractions)
    n_train = round(fractions[0] * n)
    n_val = min(round(fractions[1] * n), n - n_train)
    return n_train, n_train + n_val


def split_keys(
    keys: Sequence[K], *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> tuple[list[K], list[K], list[K]]:
    """Split distinct keys (movie names, subjects, source sentences) into train/val/test by
    :func:`seeded_order`: the grouped split, once each example is sent where its group's key went."""
    order = seeded_order(list(keys), seed)
    a, b = cut_sizes(len(order), fractions)
    return order[:a], order[a:b], order[b:]


def stratified_split(
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keys: Sequence[Hashable] | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """Split example indices so each split keeps the label proportions.

    Within each class the examples are put in :func:`seeded_order`; example ``j`` of a class of size
    ``n_c`` gets the fractional rank ``(j + 0.5) / n_c``. All examples are then sorted by that rank and
    cut at ``round(f_train * N)`` and ``round((f_train + f_val) * N)``, so split sizes match an
    unstratified split exactly while every class is spread evenly (a class too small to reach a split
    is the only one that can miss it).

    Args:
        labels: label of each example, shape (N,).
        keys: stable identity of each example (default: its index) used to seed the order.

    Returns:
        Three sorted lists of indices into ``labels``.
    """
    keys = list(range(len(labels))) if keys is None else list(keys)
    if len(keys) != len(labels):
        raise ValueError("keys and labels must have the same length")
    ranked: list[tuple[float, bytes, int]] = []
    for label in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == label]
        position = {str(keys[i]): i for i in members}
        order = seeded_order([str(keys[i]) for i in members], seed)
        for j, key in enumerate(order):
            tie = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
            ranked.append(((j + 0.5) / len(order), tie, position[key]))
    ranked.sort()
    a, b = cut_sizes(len(ranked), fractions)
    index = [i for _, _, i in ranked]
    return sorted(index[:a]), sorted(index[a:b]), sorted(index[b:])


def stratified_split_arrays(
    labels: np.ndarray, keys: np.ndarray, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`stratified_split` for millions of examples: the same three index arrays (sorted, int64) for
    ``labels`` (N,) and integer ``keys`` (N,) (the examples' keys are ``str(keys[i])``), holding per example a
    SHA-256 digest as four big-endian words and two numbers instead of Python tuples (about 64 bytes)."""
    labels = np.asarray(labels)
    n = len(labels)
    words = np.empty((n, 4), dtype=">u8")  # digest of f"{seed}\0{key}", as stratified_split ranks and ties it
    for i, key in enumerate(np.asarray(keys).tolist()):
        words[i] = np.frombuffer(hashlib.sha256(f"{seed}\0{key}".encode()).digest(), dtype=">u8")
    digest = [words[:, w].astype(np.uint64) for w in range(4)]
    rank = np.empty(n, dtype=np.float64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        order = members[np.lexsort([d[members] for d in reversed(digest)])]  # the seeded order of the class
        rank[order] = (np.arange(len(order)) + 0.5) / len(order)
    index = np.lexsort([np.arange(n), *reversed(digest), rank])  # by rank, then digest, then position
    a, b = cut_sizes(n, fractions)
    return np.sort(index[:a]), np.sort(index[a:b]), np.sort(index[b:])


def split_examples(
    name: str,
    examples: Sequence[Example],
    labels: list[str],
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keys: Sequence[str] | None = None,
) -> Splits:
    """A seeded stratified 80/10/10 (by default) split of examples that came without one.

    ``keys`` (default: the row numbers as strings) identify the examples in ``split["keys"]``.
    """
    keys = [str(i) for i in range(len(examples))] if keys is None else list(keys)
    parts = stratified_split([ex.label for ex in examples], seed=seed, fractions=fractions, keys=keys)
    train, val, test = ([examples[i] for i in part] for part in parts)
    return Splits(
        name=name,
        labels=labels,
        train=train,
        val=val,
        test=test,
        split={
            "method": "stratified",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {s: [keys[i] for i in part] for s, part in zip(SPLITS, parts, strict=True)},
        },
    )


# ------------------------------------------------------------------------------------- grouped
def subject_split(
    subjects: Sequence[int],
    *,
    method: str = "uci",
    seed: int = DEFAULT_SEED,
    val_subjects: int = 3,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
) -> tuple[list[int], list[int], list[int]]:
    """Disjoint (train, val, test) subject lists (sorted), so that no subject is in two splits.

    * ``"uci"``: test = :data:`UCI_TEST_SUBJECTS`; val = ``val_subjects`` of the others, chosen by a
      seeded hash order (seed 13: 14, 16, 17); train = the rest.
    * ``"seeded"``: subjects split by the seeded hash order into ``fractions`` (default 70/10/20).
    """
    subjects = sorted(set(subjects))
    if method == "uci":
        test = [s for s in subjects if s in UCI_TEST_SUBJECTS]
        rest = [s for s in subjects if s not in UCI_TEST_SUBJECTS]
        if not 0 <= val_subjects < len(rest):
            raise ValueError(f"val_subjects must be in [0, {len(rest) - 1}], got {val_subjects}")
        val = sorted(seeded_order(rest, seed)[:val_subjects])
        return sorted(set(rest) - set(val)), val, test
    if method == "seeded":
        train, val, test = split_keys(subjects, seed=seed, fractions=fractions)
        return sorted(train), sorted(val), sorted(test)
    raise ValueError(f"unknown subject split {method!r}; valid: uci, seeded")


# ----------------------------------------------------------------------------------- positional
def positional_cut(units: Sequence[str], fractions: Sequence[float] = DOC_FRACTIONS) -> tuple[int, int]:
    """Indices ``(a, b)``: ``units[:a]`` train, ``units[a:b]`` val, ``units[b:]`` test, cut where the
    running character count first reaches each fraction (never inside a unit, e.g. a line or speech).
    A document of three or more units gives at least one unit to each split whose fraction is non-zero."""
    return positional_cut_lengths(np.fromiter((len(u) for u in units), dtype=np.int64, count=len(units)), fractions)


def positional_cut_lengths(lengths: np.ndarray, fractions: Sequence[float] = DOC_FRACTIONS) -> tuple[int, int]:
    """:func:`positional_cut` from the characters of each unit, ``lengths`` (N,)."""
    a, b, _ = positional_cut_blocks(lambda: [np.asarray(lengths)], fractions)
    return a, b


def positional_cut_blocks(blocks: Callable[[], Iterable[np.ndarray]],
                          fractions: Sequence[float] = DOC_FRACTIONS) -> tuple[int, int, int]:
    """:func:`positional_cut` from the characters of each unit given block by block: ``blocks()`` yields their
    lengths (a few thousand units at a time) and is called twice — once for the total, once to find the cuts —
    so a reader of a file larger than memory (:mod:`rnnkit.data.tokenstream`) holds one block. Returns
    ``(a, b, N)``."""
    check_fractions(fractions)
    n = 0
    total = 0
    for lengths in blocks():
        n += len(lengths)
        total += int(np.sum(lengths, dtype=np.int64)) + len(lengths)  # each unit's characters + 1 separator
    # the first unit whose running count (the characters ahead of it) reaches each target; none: n
    targets = (fractions[0] * total - 1e-9, (fractions[0] + fractions[1]) * total - 1e-9)
    cuts = [n, n]
    ahead = 0
    start = 0
    for lengths in blocks():
        if all(cut < n for cut in cuts):
            break
        steps = np.cumsum(np.asarray(lengths, dtype=np.int64) + 1)
        before = ahead + steps - (np.asarray(lengths, dtype=np.int64) + 1)  # characters ahead of each unit
        for k, target in enumerate(targets):
            i = int(np.searchsorted(before, target, side="left"))  # exact: counts are integers below 2**53
            if cuts[k] == n and i < len(before):
                cuts[k] = start + i
        ahead += int(steps[-1]) if len(steps) else 0
        start += len(lengths)
    a, b = cuts
    if n >= 3:  # a short document still gives every split with a non-zero fraction one unit
        b = min(b, n - 1) if fractions[2] > 0 else b
        a = min(a, b - 1) if fractions[1] > 0 else a
    return a, b, n


def split_documents(
    name: str,
    documents: Sequence[tuple[str, Sequence[str]]],
    *,
    sep: str,
    doc_sep: str = "\n\n",
    level: str,
    description: str,
    fractions: Sequence[float] = DOC_FRACTIONS,
) -> Splits:
    """Hold out the tail of every document: each is a (title, units) pair; a split's units are joined
    with ``sep`` within a document and the documents with ``doc_sep``. Held-out text is never sampled at
    random: neighbouring lines share names and phrasing, so a random line split would leak."""
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    record: dict[str, dict[str, int]] = {}
    for title, units in documents:
        a, b = positional_cut(units, fractions)
        for target, chunk in zip(parts, (units[:a], units[a:b], units[b:]), strict=True):
            if chunk:
                target.append(sep.join(chunk))
        record[title] = {"units": len(units), "val_start": a, "test_start": b}
    train, val, test = (doc_sep.join(p) for p in parts)
    split = {"method": "tail_of_each_document", "fractions": list(fractions), "documents": record}
    return Splits(name=name, train=train, val=val, test=test, level=level, description=description, split=split)


# ------------------------------------------------------------------------------------- official
def split_ts(
    name: str,
    train_file: TsData,
    test_file: TsData,
    *,
    seed: int = DEFAULT_SEED,
    val_fraction: float = 0.2,
    channels: Sequence[str] | None = None,
) -> Splits:
    """A UEA problem split as published: official TRAIN (minus a seeded stratified val) and TEST.

    Class ids follow the ``@classLabel`` order of the TRAIN header. ``split["keys"]`` are series
    indices in the TRAIN file (train, val) and the TEST file (test).
    """
    for ts in (train_file, test_file):
        if ts.labels is None or ts.class_labels is None:
            raise ValueError(f"{name}: a classification .ts file needs '@classLabel true ...'")
    classes = list(train_file.class_labels or [])
    unknown = sorted(set(test_file.labels or []) - set(classes))
    if unknown:
        raise ValueError(f"{name}: TEST labels {unknown} are not among the TRAIN classes {classes}")
    if train_file.num_dimensions != test_file.num_dimensions:
        raise ValueError(f"{name}: TRAIN has {train_file.num_dimensions} dimensions, TEST {test_file.num_dimensions}")
    y_train = [classes.index(label) for label in train_file.labels or []]
    y_test = [classes.index(label) for label in test_file.labels or []]
    tr, va, _ = stratified_split(y_train, seed=seed, fractions=(1.0 - val_fraction, val_fraction, 0.0))
    channel_names = list(channels) if channels is not None else [f"dim{i}" for i in range(train_file.num_dimensions)]
    return Splits(
        name=name,
        labels=classes,
        train=[SignalExample(train_file.series[i], y_train[i]) for i in tr],
        val=[SignalExample(train_file.series[i], y_train[i]) for i in va],
        test=[SignalExample(x, y) for x, y in zip(test_file.series, y_test, strict=True)],
        channels=channel_names,
        split={
            "method": "official_test_stratified_val",
            "seed": seed,
            "val_fraction": val_fraction,
            "keys": {"train": tr, "val": va, "test": list(range(len(y_test)))},
        },
    )
