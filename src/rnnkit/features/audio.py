"""Audio in, features out: read any WAV (mono or multichannel, any rate, integer or float samples),
resample it (:mod:`rnnkit.data.readers.audio`), and compute log-mel or MFCC frames with ``librosa``.

    samples (N,) at any rate ──resample──> (N',) at 16 kHz ──STFT 25 ms / hop 10 ms──> power (1 + n_fft/2, T)
        ──mel filter bank──> (n_mels, T) ──log──> [DCT → MFCC] ──per-utterance mean/variance──> (T, F)

``librosa`` (with ``soxr`` for resampling and ``soundfile`` for reading) installs from wheels next to
any torch; ``torchaudio`` would pin its own torch version. It is imported lazily, on first use, so
importing :mod:`rnnkit.features` stays fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.readers.audio import load_audio
from rnnkit.extras import optional_import

FEATURE_KINDS = ("logmel", "mfcc")


@dataclass(frozen=True)
class FeatureConfig:
    """How waveforms become frames; stored in a model directory so inference computes the same features.

    Attributes:
        kind: ``"logmel"`` (log mel-filter-bank energies) or ``"mfcc"`` (their DCT, ``n_mfcc`` coefficients).
        sample_rate: every input is resampled to this rate first.
        n_mels: mel bands; ``n_mfcc``: cepstral coefficients kept (mfcc only).
        win_ms, hop_ms: analysis window and frame shift (10 ms → 100 frames per second).
        cmvn: subtract each channel's mean and divide by its standard deviation over the utterance,
            which removes loudness and channel differences (a microphone, a voice's spectral tilt).
    """

    kind: str = "logmel"
    sample_rate: int = 16_000
    n_mels: int = 40
    n_mfcc: int = 13
    win_ms: float = 25.0
    hop_ms: float = 10.0
    cmvn: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; valid: {', '.join(FEATURE_KINDS)}")
        if self.kind == "mfcc" and not 1 <= self.n_mfcc <= self.n_mels:
            raise ValueError(f"n_mfcc must be in [1, n_mels={self.n_mels}], got {self.n_mfcc}")
        if self.sample_rate < 4000 or self.n_mels < 1 or not 0 < self.hop_ms <= self.win_ms:
            raise ValueError(f"invalid feature settings {self}")

    @property
    def dim(self) -> int:
        """F, the size of one frame."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def win(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_features(samples: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Frames of a mono waveform at ``cfg.sample_rate``: (N,) → float32 (T, F), T = 1 + N // hop.

    Frames are centred on multiples of the hop (the signal is reflect-padded by half a window).
    """
    librosa = optional_import("librosa", "audio features (log-mel, MFCC)")
    if samples.ndim != 1 or samples.shape[0] == 0:
        raise ValueError(f"expected a non-empty mono waveform (N,), got shape {samples.shape}")
    x = samples.astype(np.float32, copy=False)
    if x.shape[0] < cfg.win:  # shorter than one window: zero-pad (the extra frames are cut below)
        x = np.pad(x, (0, cfg.win - x.shape[0]))
    mel = librosa.feature.melspectrogram(y=x, sr=cfg.sample_rate, n_fft=cfg.win, hop_length=cfg.hop,
                                         win_length=cfg.win, n_mels=cfg.n_mels, fmin=20.0, power=2.0)
    feats = np.log(mel + 1e-8)  # (n_mels, T)
    if cfg.kind == "mfcc":
        feats = librosa.feature.mfcc(S=feats, n_mfcc=cfg.n_mfcc)
    feats = feats.T.astype(np.float32)
    if cfg.cmvn:
        feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-5)
    return np.ascontiguousarray(feats[: 1 + samples.shape[0] // cfg.hop])


def wav_features(path: str | Path, cfg: FeatureConfig) -> np.ndarray:
    """:func:`load_audio` then :func:`compute_features`: any audio file → (T, F)."""
    return compute_features(load_audio(path, cfg.sample_rate), cfg)
