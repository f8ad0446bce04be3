"""Signal sequence classification: spoken digits (MFCC frames) and activity recognition (motion sensors).

One module for both applications; ``rnnkit train speech-digits`` and ``rnnkit train activity`` differ only in
their defaults (:class:`SpeechDigitsOptions`, :class:`ActivityOptions`: :class:`SignalOptions` with other
defaults). The input pipeline, fitted on the
training split and saved in ``config.json`` so prediction applies exactly the same::

    file / dataset (T, C) ──[gravity split: C → C + 3]──> per-channel standardizer ──> SequenceClassifier
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import SequenceData, open_data, read_features_file
from rnnkit.features.motion import GravitySplit, SensorAugment, sensor_triplets
from rnnkit.features.standardize import Standardizer
from rnnkit.models import model_spec
from rnnkit.models.classifier import POOLINGS
from rnnkit.models.sequence_classifier import FRONTENDS, SequenceClassifier
from rnnkit.tasks.base import App, Predictor, Prepared, Run, with_defaults
from rnnkit.tasks.classify import (
    ClassificationTask,
    Sequences,
    check_split,
    describe,
    expand,
    labelled,
    predict_proba,
    show,
    show_label,
    split_sequences,
)
from rnnkit.tasks.options import EncoderOptions, default
from rnnkit.tracing import trace_sequences

CONFUSABLE = (("SITTING", "STANDING"),)  # pairs every report names when both classes exist


@dataclass
class SignalOptions(EncoderOptions):
    """What to train: data, input features and model (the flags of ``rnnkit train speech-digits|activity``; the
    encoder's are :class:`~rnnkit.tasks.options.EncoderOptions`)."""

    data: str = field(default="fsdd", metadata={"help": "fsdd, hapt, basicmotions, an .npz in FSDD's digits.npz "
                                                        "format (speech), or a UEA .ts file (NAME_TRAIN.ts: "
                                                        "NAME_TEST.ts next to it is the test split)"})
    hapt_split: str = field(default="uci", metadata={"choices": ("uci", "seeded"),
                                                     "help": "hapt: uci = the UCI test subjects, seeded = 70/10/20 "
                                                             "of subjects"})
    gravity: bool = field(default=False, metadata={"help": "split accelerometer channels into gravity (0.3 Hz "
                                                           "low-pass) and body acceleration"})
    cell: str = default("cell", "gru")
    hidden_size: int = default("hidden_size", 128)
    layers: int = default("layers", 2)
    pooling: str = field(default="last", metadata={"choices": POOLINGS})
    frontend: str = field(default="none", metadata={"choices": FRONTENDS,
                                                    "help": "dense: per-frame Linear+ReLU; conv: 1-D convolutions"})
    frontend_size: int = field(default=64, metadata={"help": "dense/conv front end: features per frame"})
    conv_layers: int = field(default=2, metadata={"help": "conv front end: 1-D convolution layers"})
    conv_kernel: int = field(default=5, metadata={"help": "conv front end: kernel width in frames (odd)"})
    conv_stride: int = field(default=1, metadata={"help": "the last convolution's stride (shortens the sequence)"})
    dropout: float = default("dropout", 0.2)
    augment_rotation: float = field(default=0.0, metadata={"help": "training: turn each window's 3-axis sensors by "
                                                                   "a random rotation of up to this many degrees"})
    augment_scale: float = field(default=0.0, metadata={"help": "training: scale each window by 1 ± this"})
    batch_size: int = 32
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})


SpeechDigitsOptions = with_defaults(SignalOptions, "SpeechDigitsOptions",
                                    "``rnnkit train speech-digits``: FSDD MFCCs, a 2-layer bidirectional GRU.",
                                    bidirectional=True)
ActivityOptions = with_defaults(SignalOptions, "ActivityOptions",
                                "``rnnkit train activity``: HAPT windows, gravity split, conv front end, "
                                "bidirectional LSTM, rotations.",
                                data="hapt", gravity=True, cell="lstm", layers=1, bidirectional=True, pooling="mean",
                                frontend="conv", conv_stride=2, augment_rotation=45.0, augment_scale=0.1, batch_size=64)


# ------------------------------------------------------------------------------------------ data
def load_signal_data(source: str, *, seed: int = 13, hapt_split: str = "uci") -> SequenceData:
    """A registered signal dataset (``fsdd``, ``hapt``, ``basicmotions``) or a .npz / .ts file
    (:func:`rnnkit.data.open_data`); ``hapt_split`` is HAPT's split (uci or seeded)."""
    path = Path(source)
    if path.exists() or path.suffix.lower() in (".npz", ".ts"):
        return open_data(path, "signals", seed=seed)
    return open_data(source, "signals", seed=seed, split=hapt_split)


@dataclass(frozen=True)
class SignalFeatures:
    """Raw channels (T, C) → model input: the optional gravity split, then per-channel standardisation."""

    channels: tuple[str, ...]
    standardizer: Standardizer
    gravity: GravitySplit | None = None

    @classmethod
    def fit(cls, data: SequenceData, *, gravity: bool) -> SignalFeatures:
        """Fitted on ``data.train`` only."""
        split = GravitySplit.for_channels(data.channels, data.info.get("sample_rate_hz")) if gravity else None
        train = [ex.features for ex in data.train]
        names = data.channels
        if split is not None:
            train, names = split.apply_all(train), split.channel_names(data.channels)
        return cls(tuple(data.channels), Standardizer.fit(train, channels=names), split)

    @property
    def num_inputs(self) -> int:
        return self.standardizer.num_channels

    def transform(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Sequences (T_i, C) → model inputs (T_i, C') float32 tensors."""
        for i, x in enumerate(sequences):
            if x.ndim != 2 or x.shape[1] != len(self.channels):
                raise ValueError(f"sequence {i}: the model expects {len(self.channels)} channels per frame "
                                 f"({', '.join(self.channels)}), got shape {tuple(x.shape)}")
        if self.gravity is not None:
            sequences = self.gravity.apply_all(sequences)
        return [torch.from_numpy(self.standardizer.apply(x)) for x in sequences]

    def to_dict(self) -> dict[str, Any]:
        return {"channels": list(self.channels), "standardizer": self.standardizer.to_dict(),
                "gravity": self.gravity.to_dict() if self.gravity is not None else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignalFeatures:
        gravity = GravitySplit.from_dict(d["gravity"]) if d.get("gravity") else None
        return cls(tuple(d["channels"]), Standardizer.from_dict(d["standardizer"]), gravity)


def _splits(features: SignalFeatures, data: SequenceData, names: Sequence[str] = ("train", "val", "test")):
    return {s: list(zip(features.transform([ex.features for ex in data.part(s)]),
                        [ex.label for ex in data.part(s)], strict=True)) for s in names}


def _pairs(labels: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in CONFUSABLE if a in labels and b in labels]


# ---------------------------------------------------------------------------------------- training
def build_signal_classifier(opts: SignalOptions, input_size: int, num_classes: int) -> dict[str, Any]:
    return model_spec(SequenceClassifier, input_size=input_size, num_classes=num_classes, frontend=opts.frontend,
                      frontend_size=opts.frontend_size, conv_layers=opts.conv_layers, conv_kernel=opts.conv_kernel,
                      conv_stride=opts.conv_stride, **opts.encoder_kwargs())


def prepare(run: Run) -> Prepared:
    """Data → the input pipeline (fitted on the training split, or the saved one) → the classifier's spec."""
    opts = run.options
    data = load_signal_data(opts.data, seed=opts.split_seed, hapt_split=opts.hapt_split)
    if run.saved is not None:
        features = SignalFeatures.from_dict(run.saved["features"])
    else:
        run.log(f"{data.name}: {data.sizes()} sequences of {data.length_range()} frames, {data.num_channels} "
                f"channels, labels {data.labels}, split {data.split.get('method')}")
        if not data.train or not data.val or not data.test:
            raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
        features = SignalFeatures.fit(data, gravity=opts.gravity)
    task = ClassificationTask(_splits(features, data), data.labels, batch_size=opts.batch_size, seed=run.train.seed,
                              pairs=_pairs(data.labels), augment=_augment(features, opts))

    def summary(model: torch.nn.Module) -> str:
        return (f"model: {opts.cell} {opts.layers}x{opts.hidden_size}{' bidirectional' if opts.bidirectional else ''}, "
                f"front end {opts.frontend}, inputs {list(features.standardizer.channels or [])}, "
                f"{sum(p.numel() for p in model.parameters()):,} parameters")

    return Prepared(spec=build_signal_classifier(opts, features.num_inputs, data.num_labels), task=task,
                    artifacts=lambda directory: {"features": features.to_dict(), "labels": data.labels},
                    metadata={"data": data.name, "sizes": data.sizes(), "split": data.split, "cell": opts.cell},
                    summary=summary)


def _augment(features: SignalFeatures, opts: SignalOptions) -> SensorAugment | None:
    if not (opts.augment_rotation or opts.augment_scale):
        return None
    names = features.standardizer.channels or ()
    triplets = sensor_triplets(names)
    if not triplets:
        raise ValueError(f"--augment-rotation/--augment-scale act on 3-axis sensors (channels NAME-x, NAME-y, "
                         f"NAME-z); the inputs are {list(names)}: pass --augment-rotation 0 --augment-scale 0")
    stats = features.standardizer
    return SensorAugment(tuple(triplets), torch.tensor(stats.mean, dtype=torch.float32),
                         torch.tensor(stats.std, dtype=torch.float32), opts.augment_rotation, opts.augment_scale)


# --------------------------------------------------------------------------------------- using it
class SignalPredictor(Predictor):
    """A trained speech-digits or activity model directory, ready to label feature sequences."""

    def load_artifacts(self) -> None:
        self.features = SignalFeatures.from_dict(self.config["features"])
        self.labels: list[str] = self.config["labels"]

    def predict(self, inputs: Any) -> dict[str, Any] | list[dict[str, Any]]:
        """``{"input", "frames", "label", "probability", "probs"}`` per raw (T, C) sequence (C = the training
        data's channels); a path stands for every sequence of its .npy / .csv / .ts file
        (:func:`rnnkit.data.read_features_file`). One input (a path or one (T, C) array) → one result (a list
        if its file holds several sequences); a list → a list."""
        return self.pipeline(inputs, "sequence")

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool]:
        return split_sequences(inputs, 2)

    def preprocess(self, inputs: list[Any], **_: Any) -> Sequences:
        """Paths and arrays → the raw (T, C) sequences and their names."""
        channels = len(self.features.channels)
        arrays, names = expand(inputs, lambda path: read_features_file(path, channels=channels))
        return Sequences(names, arrays)

    def forward(self, batch: Sequences, **_: Any) -> torch.Tensor:
        """The sequences through the training-time features and the model: class probabilities (N, K)."""
        return predict_proba(self.model, self.features.transform(batch.arrays), self.device)

    def postprocess(self, batch: Sequences, probs: torch.Tensor, **_: Any) -> list[dict[str, Any]]:
        items = [{"input": name, "frames": len(x)} for name, x in zip(batch.names, batch.arrays, strict=True)]
        return labelled(self.labels, probs, items)

    def trace(self, inputs: np.ndarray | Sequence[np.ndarray]) -> Any:
        """The gates per frame of one raw (T, C) sequence (:class:`rnnkit.tracing.GateTrace`), or a list of them."""
        single = isinstance(inputs, np.ndarray) and inputs.ndim == 2
        traces = trace_sequences(self.model, self.features.transform([inputs] if single else list(inputs)))
        return traces[0] if single else traces

    def evaluate(self, data: SequenceData, split: str = "test") -> dict[str, Any]:
        """Metrics on one split of ``data`` (its labels must be the model's)."""
        check_split(data.name, data.labels, data.part(split), split, self.labels, unit="sequences")
        task = ClassificationTask(_splits(self.features, data, [split]), self.labels, batch_size=256, seed=0,
                                  pairs=_pairs(self.labels))
        return task.evaluate(self.model, split, self.device)


def evaluate(predictor: SignalPredictor, *, data: str | None = None, split: str = "test",
             beam: int | None = None) -> dict[str, Any]:
    """A model on its own data's split, or on another signal dataset's (``data``)."""
    opts = predictor.config["options"]
    source = data if data is not None else opts["data"]
    report = predictor.evaluate(load_signal_data(source, seed=opts["split_seed"], hapt_split=opts["hapt_split"]), split)
    report["data"] = source
    return report


_COMMON = {"prepare": prepare, "predictor": SignalPredictor, "evaluate": evaluate,
           "describe": partial(describe, unit="sequences"), "show": partial(show, unit="sequences"),
           "show_prediction": show_label, "scores_all": True,
           "inputs": "files to classify (.npy, .csv or .ts feature sequences (T, C))"}
APPS = (App(name="speech-digits", config_keys=("features", "labels"), options=SpeechDigitsOptions, **_COMMON,
            help="spoken digits (FSDD, 13 MFCCs per frame) with a recurrent sequence classifier"),
        App(name="activity", config_keys=("features", "labels"), options=ActivityOptions, **_COMMON,
            help="human activity from motion sensors (default: UCI HAPT, split by subject; or basicmotions)"))

__all__ = ["APPS", "ActivityOptions", "SignalFeatures", "SignalOptions", "SignalPredictor", "SpeechDigitsOptions",
           "load_signal_data"]
