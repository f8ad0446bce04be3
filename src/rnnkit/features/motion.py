"""Gravity / body-acceleration split of accelerometer channels (the UCI HAR preprocessing).

A phone's accelerometer measures gravity plus the body's own acceleration. Gravity changes slowly
(only when the phone turns), so a low-pass filter at ~0.3 Hz isolates it and the remainder is body
motion. Posture lives in the gravity direction — SITTING and STANDING differ mainly in how the phone is
tilted — while walking lives in the body part; giving a model both as separate channels spares it
from learning that separation from a few thousand windows.

The filter is a 2nd-order Butterworth low-pass run forwards and backwards (zero phase, like
``scipy.signal.filtfilt``), started from the steady state of the first sample so a window's edges do
not ring. It runs per sequence (a window), exactly as it will at prediction time.

:class:`SensorAugment` is the training-time counterpart: random small rotations of the sensor axes
(a phone worn at another angle) and amplitude scaling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


def butterworth_lowpass(cutoff_hz: float, rate_hz: float) -> tuple[tuple[float, float, float], tuple[float, float]]:
    """Coefficients ``(b0, b1, b2), (a1, a2)`` of a 2nd-order Butterworth low-pass (bilinear transform)."""
    if not 0 < cutoff_hz < rate_hz / 2:
        raise ValueError(f"the cutoff must be in (0, {rate_hz / 2}) Hz (below Nyquist), got {cutoff_hz}")
    k = math.tan(math.pi * cutoff_hz / rate_hz)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0 = k * k * norm
    return (b0, 2 * b0, b0), (2 * (k * k - 1) * norm, (1 - math.sqrt(2.0) * k + k * k) * norm)


def _filter(x: np.ndarray, b: tuple[float, float, float], a: tuple[float, float]) -> np.ndarray:
    """One causal pass over axis 0 of x (T, …), started in the steady state of x[0]."""
    b0, b1, b2 = b
    a1, a2 = a
    y = np.empty_like(x)
    z1, z2 = (1.0 - b0) * x[0], (b2 - a2) * x[0]  # state that a constant x[0] would have reached
    for t in range(len(x)):
        y[t] = b0 * x[t] + z1
        z1 = b1 * x[t] - a1 * y[t] + z2
        z2 = b2 * x[t] - a2 * y[t]
    return y


def lowpass(x: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """Zero-phase low-pass of x (T, …) along axis 0 (forward, then backward), float64."""
    b, a = butterworth_lowpass(cutoff_hz, rate_hz)
    x = np.asarray(x, dtype=np.float64)
    return _filter(_filter(x, b, a)[::-1], b, a)[::-1].copy()


@dataclass(frozen=True)
class GravitySplit:
    """Replace accelerometer channels by their body part and append their gravity part.

    (T, C) → (T, C + A), A = ``len(acc)``: channel ``acc[i]`` becomes ``body-…`` (signal − gravity), and
    A ``gravity-…`` channels (the low-passed signal) are appended after the C originals.

    Attributes:
        acc: indices of the accelerometer channels.
        rate_hz: sample rate of the signals.
        cutoff_hz: low-pass cutoff separating gravity from body motion.
    """

    acc: tuple[int, ...]
    rate_hz: float
    cutoff_hz: float = 0.3

    @classmethod
    def for_channels(cls, channels: Sequence[str], rate_hz: float | None, cutoff_hz: float = 0.3) -> GravitySplit:
        """The split of every channel whose name starts with ``acc`` (``acc-x``, …)."""
        acc = tuple(i for i, name in enumerate(channels) if name.lower().startswith("acc"))
        if not acc:
            raise ValueError(f"--gravity needs accelerometer channels named acc-…; the data has {list(channels)}")
        if not rate_hz:
            raise ValueError("--gravity needs the sample rate of the signals, which this dataset does not give")
        butterworth_lowpass(cutoff_hz, rate_hz)  # validate now, not at the first window
        return cls(acc, float(rate_hz), cutoff_hz)

    def channel_names(self, channels: Sequence[str]) -> list[str]:
        names = [f"body-{name}" if i in self.acc else name for i, name in enumerate(channels)]
        return names + [f"gravity-{channels[i]}" for i in self.acc]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """x (T, C) or (N, T, C) (N sequences of one length, filtered at once) → float32 (…, T, C + A)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (2, 3) or x.shape[-1] <= max(self.acc):
            raise ValueError(f"expected (T, C) or (N, T, C) with channels {list(self.acc)}, got shape {x.shape}")
        acc = list(self.acc)
        gravity = lowpass(np.moveaxis(x[..., acc], -2, 0), self.cutoff_hz, self.rate_hz)  # time first
        gravity = np.moveaxis(gravity, 0, -2)
        out = x.copy()
        out[..., acc] -= gravity
        return np.concatenate([out, gravity], axis=-1).astype(np.float32)

    def apply_all(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`apply` to each (T_i, C) sequence, filtering sequences of equal length together."""
        out: list[np.ndarray] = [np.empty(0)] * len(sequences)
        by_length: dict[int, list[int]] = {}
        for i, x in enumerate(sequences):
            by_length.setdefault(len(x), []).append(i)
        for members in by_length.values():
            for i, y in zip(members, self.apply(np.stack([sequences[i] for i in members])), strict=True):
                out[i] = y
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "gravity_split", "acc": list(self.acc), "rate_hz": self.rate_hz, "cutoff_hz": self.cutoff_hz}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GravitySplit:
        if not isinstance(d, dict) or d.get("kind") != "gravity_split":
            raise ValueError("not a gravity_split dict (from GravitySplit.to_dict)")
        return cls(tuple(d["acc"]), float(d["rate_hz"]), float(d["cutoff_hz"]))


def sensor_triplets(channels: Sequence[str]) -> list[tuple[int, int, int]]:
    """Indices of every ``NAME-x, NAME-y, NAME-z`` channel triple (one 3-axis sensor), in order."""
    index = {name: i for i, name in enumerate(channels)}
    return [(i, index[name[:-1] + "y"], index[name[:-1] + "z"]) for i, name in enumerate(channels)
            if name.endswith("-x") and name[:-1] + "y" in index and name[:-1] + "z" in index]


def random_rotations(n: int, max_degrees: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` rotation matrices (n, 3, 3): a uniform random axis, an angle uniform in ±max_degrees (Rodrigues)."""
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=generator), dim=1)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_degrees)
    K = torch.zeros(n, 3, 3)  # the cross-product matrix of each axis
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    K = K - K.transpose(1, 2)
    sin, cos = angle.sin()[:, None, None], angle.cos()[:, None, None]
    return torch.eye(3) + sin * K + (1 - cos) * K @ K


@dataclass(frozen=True, eq=False)
class SensorAugment:
    """Training augmentation for motion sensors: the phone worn at another angle, a stronger or weaker mover.

    Every 3-axis sensor of a window (accelerometer, gyroscope — and the gravity/body parts, which a
    rotation commutes with) is turned by the same random rotation of up to ``max_degrees`` and scaled by
    one factor in ``1 ± scale``. It acts on standardised model inputs: un-standardise, rotate and scale,
    standardise again.

    Attributes:
        triplets: channel indices of each 3-axis sensor (:func:`sensor_triplets`).
        mean, std: the standardizer's, shape (C,).
    """

    triplets: tuple[tuple[int, int, int], ...]
    mean: torch.Tensor
    std: torch.Tensor
    max_degrees: float = 20.0
    scale: float = 0.1

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x (B, T, C) standardised, zero past each length → augmented, likewise."""
        B, T, _ = x.shape
        raw = x * self.std + self.mean
        rotation = random_rotations(B, self.max_degrees, generator)
        factor = 1 + (torch.rand(B, 1, 1, generator=generator) * 2 - 1) * self.scale
        out = raw.clone()
        for triplet in self.triplets:
            out[:, :, triplet] = torch.einsum("bij,btj->bti", rotation, raw[:, :, triplet]) * factor
        valid = (torch.arange(T)[None, :] < lengths[:, None]).unsqueeze(2)
        return ((out - self.mean) / self.std * valid).float()
