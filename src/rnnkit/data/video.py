"""SYNTHETIC video clips for action recognition: a moving shape whose motion pattern is the action.

No video corpus can be fetched on these machines, so the frame-sequence pipeline (a CNN per frame, a
recurrent layer over the frames) trains on clips generated here. They are labelled *synthetic*
everywhere (dataset name ``synthetic-video``); numbers on them say the pipeline works, not how it does
on real video.

Each clip is T grey frames of S×S pixels (default 16 frames of 32×32) showing one shape — a square, a
bar, an ellipse or a triangle of random size, orientation, brightness and position, on a random
background with pixel noise. The class is the motion, never the appearance:

==========  ========================================================================
running     fast horizontal translation across the frame (1.2–2.2 px/frame, left or right)
jumping     vertical bounce: y = ground − h·|sin(π t / P)| (h 5–10 px, period P 5–9 frames)
waving      side-to-side oscillation around a point (amplitude 3–7 px, period 4–8 frames)
spinning    rotation in place (0.25–0.6 rad/frame, either way)
standing    still, up to a small jitter of position and angle
==========  ========================================================================

Every class jitters a little (±0.3 px per frame), so "standing" is not simply "identical frames".
A single frame says nothing about the class: only the sequence does. Shapes are drawn with a
1-pixel soft edge so sub-pixel motion is visible. Generation is a pure function of the seed.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.data.splits import SequenceData, SignalExample

VIDEO_CLASSES = ["running", "jumping", "waving", "spinning", "standing"]
SHAPES = ("square", "bar", "ellipse", "triangle")


def _margin(shape: str, u: np.ndarray, v: np.ndarray, radius: float, aspect: float) -> np.ndarray:
    """Distance (px, roughly) from a point (u, v) in the shape's own frame to its edge; > 0 inside."""
    if shape == "square":
        return 0.8 * radius - np.maximum(np.abs(u), np.abs(v))
    if shape == "bar":
        return np.minimum(radius - np.abs(u), radius / aspect - np.abs(v))
    if shape == "ellipse":
        return (1.0 - np.sqrt((u / radius) ** 2 + (v * aspect / radius) ** 2)) * radius / aspect
    normals = [(math.cos(a), math.sin(a)) for a in (math.pi / 2, 7 * math.pi / 6, 11 * math.pi / 6)]
    return np.min([radius / 2 - (nx * u + ny * v) for nx, ny in normals], axis=0)  # triangle, inradius r/2


def _trajectory(action: str, rng: np.random.Generator, frames: int, size: int,
                radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre x, y and angle offset of the shape in each frame, each (T,)."""
    t = np.arange(frames, dtype=np.float64)
    lo, hi = radius + 2, size - radius - 2
    cx, cy = rng.uniform(lo, hi), rng.uniform(lo, hi)
    x, y, angle = np.full(frames, cx), np.full(frames, cy), np.zeros(frames)
    sign = rng.choice([-1.0, 1.0])
    if action == "running":
        x = size / 2 + rng.uniform(-4, 4) + sign * rng.uniform(1.2, 2.2) * (t - (frames - 1) / 2)
    elif action == "jumping":
        height, period = rng.uniform(5, 10), rng.uniform(5, 9)
        ground = float(np.clip(cy + height / 2, lo + height, hi))
        y = ground - height * np.abs(np.sin(math.pi * (t / period + rng.uniform(0, 1))))
    elif action == "waving":
        x = cx + rng.uniform(3, 7) * np.sin(2 * math.pi * t / rng.uniform(4, 8) + rng.uniform(0, 2 * math.pi))
    elif action == "spinning":
        angle = sign * rng.uniform(0.25, 0.6) * t
    elif action == "standing":
        angle = rng.normal(0, 0.05, frames)
    else:
        raise ValueError(f"unknown action {action!r}; valid: {', '.join(VIDEO_CLASSES)}")
    return x + rng.normal(0, 0.3, frames), y + rng.normal(0, 0.3, frames), angle


def render_clip(action: str, rng: np.random.Generator, *, frames: int = 16, size: int = 32) -> np.ndarray:
    """One clip of ``action``: float32 (T, S, S) in [0, 1]."""
    shape = SHAPES[rng.integers(len(SHAPES))]
    radius, aspect = rng.uniform(3.5, 6.0), rng.uniform(1.8, 2.8)
    theta = rng.uniform(0, 2 * math.pi)
    background, foreground = rng.uniform(0.0, 0.3), rng.uniform(0.6, 1.0)
    noise = rng.uniform(0.02, 0.1)
    x, y, angle = _trajectory(action, rng, frames, size, radius)
    grid = np.arange(size, dtype=np.float64) + 0.5
    dx = grid[None, None, :] - x[:, None, None]  # (T, 1, S): pixel column minus centre
    dy = grid[None, :, None] - y[:, None, None]  # (T, S, 1)
    cos, sin = np.cos(theta + angle)[:, None, None], np.sin(theta + angle)[:, None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy  # (T, S, S) in the shape's rotating frame
    coverage = np.clip(_margin(shape, u, v, radius, aspect) + 0.5, 0.0, 1.0)  # 1-px soft edge
    clip = background + (foreground - background) * coverage + rng.normal(0, noise, coverage.shape)
    return np.clip(clip, 0.0, 1.0).astype(np.float32)


def make_clips(n: int, *, seed: int, frames: int = 16, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips, classes balanced and shuffled: float32 (N, T, 1, S, S) and int64 class ids (N,)."""
    if n < 1 or frames < 2 or size < 16:
        raise ValueError(f"need n >= 1 clips of >= 2 frames of >= 16x16 pixels, got {n}, {frames}, {size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(VIDEO_CLASSES))
    clips = np.stack([render_clip(VIDEO_CLASSES[k], rng, frames=frames, size=size) for k in labels])
    return clips[:, :, None], labels.astype(np.int64)


def synthetic_video(*, train: int = 1500, val: int = 300, test: int = 300, frames: int = 16, size: int = 32,
                    seed: int = 13) -> SequenceData:
    """The ``synthetic-video`` dataset: each split drawn from its own seed stream; features (T, 1, S, S)."""
    streams = np.random.SeedSequence(seed).spawn(3)
    parts = {}
    for (split, n), stream in zip((("train", train), ("val", val), ("test", test)), streams, strict=True):
        clips, labels = make_clips(n, seed=int(stream.generate_state(1)[0]), frames=frames, size=size)
        parts[split] = [SignalExample(clip, int(y)) for clip, y in zip(clips, labels, strict=True)]
    return SequenceData(
        name="synthetic-video", labels=list(VIDEO_CLASSES), channels=["grey"], **parts,
        split={"method": "generated", "seed": seed, "sizes": {"train": train, "val": val, "test": test}},
        info={"synthetic": True, "frames": frames, "size": size,
              "note": "SYNTHETIC clips: a moving shape whose motion pattern is the action class"})
