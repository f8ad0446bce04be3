"""Per-channel standardisation of (T, C) sequences, fitted on the training split and saved with the model.

Models normalise inputs with a :class:`Standardizer` fitted on the training split only and saved (as
JSON, via ``to_dict``) in the model directory, so prediction applies exactly the same transform.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rnnkit.data.splits import Splits


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
    def fit_train(cls, data: Splits) -> Standardizer:
        """Fit on ``data.train`` only (never on val/test)."""
        return cls.fit((ex.features for ex in data.train), channels=data.channels)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardise ``x`` of shape (T, C) or (B, T, C); returns float32 of the same shape."""
        x = np.asarray(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.num_channels:
            raise ValueError(f"expected features of shape (T, {self.num_channels}) or (B, T, C), got {x.shape}")
        return ((x - self.mean) / self.std).astype(np.float32)

    def apply_data(self, data: Splits) -> Splits:
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
