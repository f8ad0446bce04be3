"""The speech feature cache: audio features of a list of WAVs, computed once and verified on every load.

    key    = sha256(format, feature config, sha256 of every WAV's bytes in order)[:16]
    file   = cache_dir()/speech/features/<key>.npz   frames (ΣT, F) float16, offsets (N + 1,) int64,
                                                      digest = sha256(frames bytes ‖ offsets bytes)

The key hashes each WAV's **content**, not the manifest that lists it: replacing a recording under an
unchanged manifest (or the same name in another folder) computes new features instead of reusing
stale ones. The stored ``digest`` is checked on load, so a cut-off or corrupted ``.npz`` (a killed write
on a full disk, a flipped byte) is noticed, reported in one line and rebuilt — never a BadZipFile
traceback and never silently wrong frames. Utterance ``i`` is ``frames[offsets[i]:offsets[i + 1]]``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rnnkit.data.fetching import cache_dir
from rnnkit.data.readers.audio import load_audio
from rnnkit.data.sources import file_sha256
from rnnkit.features.audio import FeatureConfig, compute_features
from rnnkit.files import atomic_write

CACHE_FORMAT = 2
"""Part of the key: bump it when a change here changes what is stored (1: keyed by the manifest only)."""


def cache_key(wavs: Sequence[Path | str], cfg: FeatureConfig) -> str:
    """16 hex digits of sha256 over the format, the feature config and the sha256 of each WAV's bytes."""
    digest = hashlib.sha256(json.dumps([CACHE_FORMAT, cfg.to_dict()], sort_keys=True).encode())
    for wav in wavs:
        digest.update(file_sha256(Path(wav)).encode())
    return digest.hexdigest()[:16]


def _digest(frames: np.ndarray, offsets: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frames).tobytes() + np.ascontiguousarray(offsets).tobytes()).hexdigest()


def read_cached(path: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, offsets)`` of a cache file holding ``count`` utterances.

    Raises:
        ValueError: one line naming the file when it is cut off, not an npz, or its digest does not match.
    """
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:  # np.load(path) leaks it on a bad zip
            frames, offsets, stored = npz["frames"], npz["offsets"], str(npz["digest"])
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: damaged feature cache ({type(err).__name__}: {err})") from None
    if offsets.shape != (count + 1,) or int(offsets[-1]) != frames.shape[0] or _digest(frames, offsets) != stored:
        raise ValueError(f"{path}: damaged feature cache (its checksum or its shape does not match)")
    return frames, offsets


def compute_all(wavs: Sequence[Path | str], cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """frames (ΣT, F) float16 and offsets (N + 1,) int64 of every WAV, in order."""
    arrays = [compute_features(load_audio(wav, cfg.sample_rate), cfg) for wav in wavs]
    frames = np.concatenate(arrays).astype(np.float16) if arrays else np.zeros((0, cfg.dim), np.float16)
    offsets = np.cumsum([0] + [a.shape[0] for a in arrays]).astype(np.int64)
    return frames, offsets


def cached_features(
    wavs: Sequence[Path | str],
    cfg: FeatureConfig,
    *,
    root: Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, offsets)`` of ``wavs`` under ``cfg``: from the verified cache, else computed and stored.

    A damaged cache file is reported through ``log`` and rebuilt (the new file replaces it atomically)."""
    key = cache_key(wavs, cfg)
    path = (Path(root) if root is not None else cache_dir()) / "speech" / "features" / f"{key}.npz"
    if path.is_file():
        try:
            return read_cached(path, len(wavs))
        except ValueError as err:
            log(f"{err}; computing the features again")
    log(f"computing {cfg.kind} features of {len(wavs)} utterances")
    frames, offsets = compute_all(wavs, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = _digest(frames, offsets)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, frames=frames, offsets=offsets, digest=np.array(digest))

    atomic_write(path, save)
    return frames, offsets
