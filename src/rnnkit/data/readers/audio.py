"""Reading audio files: any WAV (mono or multichannel, any rate, integer or float samples) as float32 samples,
mixed to mono and resampled (``soundfile`` reads, ``librosa``/``soxr`` resamples; both of the ``speech`` extra,
imported on first use).
The frames a model sees are computed from these samples by :mod:`rnnkit.features.audio`. Also the
transcription files of CMU Sphinx test data (:func:`read_sphinx_transcription`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.extras import optional_import


def read_audio(path: str | Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """The samples of an audio file as float32 in [-1, 1], shape (N,) or (N, channels), and its rate.

    Anything libsndfile reads is accepted (WAV in 8/16/24/32-bit integer or float, also FLAC, OGG).
    Raises ``FileNotFoundError`` for a missing path and a one-line ``ValueError`` for a file that is
    not audio (a headerless .raw, a text file), that holds no samples, or that lasts longer than
    ``max_seconds`` — computed from the header (frames / rate) before a sample is decoded, so a small
    file that declares 1 Hz (days of audio, gigabytes once resampled) is refused at once.
    """
    sf = optional_import("soundfile", "reading audio")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no audio file at {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes); give a WAV file")
    try:
        if max_seconds is not None:
            _check_duration(path, sf.info(str(path)), max_seconds)
        samples, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except TypeError:  # libsndfile guessed headerless RAW (from the suffix) and wants its format
        raise ValueError(f"{path} is headerless raw audio, not a WAV file; give it a header first, e.g. "
                         f"`sox -t raw -r 16000 -e signed -b 16 -c 1 {path.name} {path.stem}.wav`") from None
    except (sf.LibsndfileError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path} is not a readable WAV file ({reason})") from None
    if samples.shape[0] == 0:
        raise ValueError(f"{path} holds no audio samples")
    return samples, int(rate)


def _check_duration(path: Path, info: Any, max_seconds: float) -> None:
    """Refuse a recording whose header says it lasts longer than ``max_seconds`` (or has no valid rate)."""
    if info.samplerate <= 0:
        raise ValueError(f"{path} declares a sample rate of {info.samplerate} Hz; it is not a recording")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise ValueError(f"{path} lasts {seconds:,.1f} seconds by its header ({info.frames:,} samples at "
                         f"{info.samplerate:,} Hz); at most {max_seconds:g} seconds per file: cut it into parts")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(N,) or (N, channels) → (N,), the mean of the channels."""
    return samples if samples.ndim == 1 else samples.mean(axis=1, dtype=np.float32)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(N,) at ``rate`` → (≈ N·target/rate,) at ``target`` (soxr, high quality); unchanged if equal."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    librosa = optional_import("librosa", "resampling audio")
    return librosa.resample(samples.astype(np.float32, copy=False), orig_sr=rate, target_sr=target).astype(np.float32)


def load_audio(path: str | Path, sample_rate: int = 16_000, max_seconds: float | None = None) -> np.ndarray:
    """Read ``path``, mix it to mono and resample it to ``sample_rate``: float32 (N,); a recording longer
    than ``max_seconds`` (by its header) is refused before it is decoded or resampled."""
    samples, rate = read_audio(path, max_seconds)
    return resample(to_mono(samples), rate, sample_rate)


def read_sphinx_transcription(path: Path) -> dict[str, str]:
    """``<s> words </s> (utterance-id)`` lines → {id: words}."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\(([^()]+)\)\s*", line)
        if match:
            out[match.group(2)] = " ".join(match.group(1).split())
    return out
