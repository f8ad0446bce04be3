"""The allowed values of an option, declared once on its dataclass field and read everywhere.

A field's ``metadata["range"] = (low, high)`` (inclusive; None: unbounded) or ``metadata["choices"]``, or, for
the numeric options several applications share, its entry in :data:`SHARED_RANGES`, is the one source that

* ``rnnkit train``/``translate``/… flags check at parse time (:mod:`rnnkit.cli.args`),
* the options dataclasses check when they are built (:func:`check_fields` in ``__post_init__``), so
  ``rnnkit.fit``, ``--config`` files and ``config.json`` get the same one-line error,
* the Python methods check their arguments with (:func:`check_value`: ``translate(..., beam=2.5)``),
* the HTTP schema turns into pydantic ``Field(ge=…, le=…)`` constraints (:func:`bounds`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

Range = tuple[float | None, float | None]

# Sizes that reach an allocation, bounded before anything is allocated (issue 26; rnnkit.models.size checks
# config.json and a model's memory with them). Wide: each upper bound is well past what an RNN of this toolkit
# is trained with (hidden sizes 64-1024, 1-4 layers, vocabularies of 10^4-10^5), yet small enough that one bad
# number cannot ask the allocator for terabytes.
WIDTH = (1, 16_384)  # hidden_size, embed_dim, …: GNMT and the largest LSTM LMs use 1,024-8,192 units
DEPTH = (1, 64)  # stacked recurrent layers: GNMT stacks 8
VOCABULARY = (1, 4_000_000)  # tokens or classes: fastText's largest vocabularies hold 2 million words
SEQUENCE = (1, 1_000_000)  # time steps of one sequence (demo --length, --bptt, --max-len)
BATCH = (1, 1_000_000)
SEED = (0, 2**32 - 1)  # every generator rnnkit seeds (torch, numpy, random) accepts this range
WORKERS = (1, 64)  # processes of one `rnnkit serve --workers` (each holds a copy of the models)
KERNEL = (1, 1_024)  # convolution kernels, strides, subsampling factors
SIZE_BOUNDS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("hidden_size", "embed_dim", "frontend_size", "conv_channels", "frame_features",
                     "input_size", "num_features", "in_channels", "n_mels", "frame_size"), WIDTH),
    **dict.fromkeys(("num_layers", "layers"), DEPTH),
    "conv_layers": (0, DEPTH[1]),
    **dict.fromkeys(("vocab_size", "src_vocab_size", "tgt_vocab_size", "num_classes"), VOCABULARY),
    "num_bigrams": (0, VOCABULARY[1]),
    "pad_id": (0, VOCABULARY[1]),
    **dict.fromkeys(("conv_kernel", "conv_stride", "subsample"), KERNEL),
    **dict.fromkeys(("length", "bptt", "max_len", "max_tokens", "max_words", "frames"), SEQUENCE),
    "batch_size": BATCH,
}

# Allowed ranges (inclusive; None: unbounded) of option fields several applications share, by field name (a
# field's metadata["range"] overrides its entry here); sizes take theirs from SIZE_BOUNDS.
SHARED_RANGES: dict[str, Range] = {
    **{name: SIZE_BOUNDS.get(name, (1, None)) for name in (
        "embed_dim", "hidden_size", "layers", "batch_size", "bptt", "min_freq", "max_len", "frames", "frame_size",
        "frame_features", "conv_channels", "conv_kernel", "conv_stride", "frontend_size", "n_mels", "subsample",
        "max_words", "max_tokens", "train_clips", "val_clips", "test_clips", "train_size", "val_size", "test_size",
        "val_voices", "test_voices")},
    **dict.fromkeys(("dropout", "embed_dropout", "recurrent_dropout", "zoneout", "label_smoothing"), (0.0, 0.99)),
    "teacher_forcing": (0.0, 1.0), "src_bpe": (8, None), "tgt_bpe": (8, None), "beam": (1, 256),
    "val_sentences": (0, None), "conv_layers": (0, None), "lm_weight": (0.0, None), "length_penalty": (0.0, None),
}


def _field(cls: Any, name: str) -> dataclasses.Field:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{type(cls).__name__ if not isinstance(cls, type) else cls.__name__} has no field {name!r}")


def field_range(f: dataclasses.Field) -> Range | None:
    """The allowed range of a field: its ``metadata["range"]``, else :data:`SHARED_RANGES`, else None."""
    return f.metadata.get("range", SHARED_RANGES.get(f.name))


def allowed(low: float | None, high: float | None) -> str:
    """``>= 1``, ``<= 5`` or ``in [1, 16]``: a range in words."""
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}"
    return f"in [{low}, {high}]"


def _kind(f: dataclasses.Field) -> str:
    text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return [p.strip() for p in text.split("|") if p.strip() != "None"][0]


def _optional(f: dataclasses.Field) -> bool:
    text = f.type if isinstance(f.type, str) else str(f.type)
    return "None" in text


def check(name: str, value: Any, kind: str, bounds: Range | None = None, choices: Any = None,
          optional: bool = False) -> Any:
    """``value`` of the option ``name`` if it is a ``kind`` (``int``, ``float``, ``str``, ``bool``) within
    ``bounds`` and ``choices``; else a one-line TypeError (wrong type) or ValueError (outside them)."""
    if value is None and optional:
        return value
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if kind == "float" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if kind == "bool" and not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    if kind == "str" and not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    if kind == "float" and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if bounds is not None:
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{name} must be {allowed(low, high)}, got {value!r}")
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def check_value(cls: Any, name: str, value: Any) -> Any:
    """``value`` for the field ``name`` of the dataclass ``cls``, checked against the field's type, range and
    choices (:func:`check`)."""
    f = _field(cls, name)
    return check(name, value, _kind(f), field_range(f), f.metadata.get("choices"), _optional(f))


def check_fields(obj: Any, skip: tuple[str, ...] = ()) -> None:
    """Every field of the dataclass instance ``obj`` that declares a range or choices, checked (:func:`check`);
    ``skip``: fields the class checks itself (e.g. one with deprecated values it translates first)."""
    for f in dataclasses.fields(obj):
        bounds, choices = field_range(f), f.metadata.get("choices")
        if f.name in skip or (bounds is None and choices is None):
            continue
        check(f.name, getattr(obj, f.name), _kind(f), bounds, choices, _optional(f))


def bounds(cls: Any, name: str) -> dict[str, float]:
    """The range of the field ``name`` of ``cls`` as pydantic ``Field`` keywords: ``{"ge": low, "le": high}``."""
    low, high = field_range(_field(cls, name)) or (None, None)
    return {key: value for key, value in (("ge", low), ("le", high)) if value is not None}


__all__ = ["SHARED_RANGES", "allowed", "bounds", "check", "check_fields", "check_value", "field_range"]
