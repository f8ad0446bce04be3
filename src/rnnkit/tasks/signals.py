"""Signal sequence classification: spoken digits (MFCC frames) and activity recognition (motion sensors).

One task for both; ``rnnkit train speech-digits`` and ``rnnkit train activity`` differ only in their
defaults (:class:`SpeechDigitsOptions`, :class:`ActivityOptions`). The input pipeline, fitted on the
training split and saved in ``config.json`` so prediction applies exactly the same::

    file / dataset (T, C) ──[gravity split: C → C + 3]──> per-channel standardizer ──> SequenceClassifier
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from rnnkit.data import (
    SequenceData,
    SignalExample,
    Standardizer,
    get_spec,
    load,
    read_basicmotions,
    read_features_file,
    read_fsdd,
    read_ts,
    split_ts,
    stratified_split,
)
from rnnkit.data.motion import GravitySplit, SensorAugment, sensor_triplets
from rnnkit.models import build_model, model_spec
from rnnkit.models.classifier import POOLINGS
from rnnkit.models.sequence_classifier import FRONTENDS, SequenceClassifier
from rnnkit.nn import CELLS
from rnnkit.tasks.sequence import SequenceClassificationTask, predict_proba, run_fit
from rnnkit.train.checkpoint import CONFIG, ModelDirError, load_weights, new_config, read_config, write_json
from rnnkit.train.loop import TrainConfig, new_run, resumed_run

SIGNAL_TASKS = ("speech-digits", "activity")
CONFUSABLE = (("SITTING", "STANDING"),)  # pairs every report names when both classes exist


@dataclass
class SignalOptions:
    """What to train: data, input features and model (the flags of ``rnnkit train speech-digits|activity``)."""

    task: ClassVar[str] = "speech-digits"
    data: str = field(default="fsdd", metadata={"help": "fsdd, hapt, basicmotions, an .npz in FSDD's digits.npz "
                                                        "format, or a UEA .ts file (NAME_TRAIN.ts: NAME_TEST.ts "
                                                        "next to it is the test split)"})
    hapt_split: str = field(default="uci", metadata={"choices": ("uci", "seeded"),
                                                     "help": "hapt: uci = the UCI test subjects, seeded = 70/10/20 "
                                                             "of subjects"})
    gravity: bool = field(default=False, metadata={"help": "split accelerometer channels into gravity (0.3 Hz "
                                                           "low-pass) and body acceleration"})
    cell: str = field(default="gru", metadata={"choices": tuple(CELLS)})
    hidden_size: int = 128
    layers: int = 2
    bidirectional: bool = False
    pooling: str = field(default="last", metadata={"choices": POOLINGS})
    frontend: str = field(default="none", metadata={"choices": FRONTENDS,
                                                    "help": "dense: per-frame Linear+ReLU; conv: 1-D convolutions"})
    frontend_size: int = 64
    conv_layers: int = 2
    conv_kernel: int = 5
    conv_stride: int = field(default=1, metadata={"help": "the last convolution's stride (shortens the sequence)"})
    dropout: float = 0.2
    augment_rotation: float = field(default=0.0, metadata={"help": "training: turn each window's 3-axis sensors by "
                                                                   "a random rotation of up to this many degrees"})
    augment_scale: float = field(default=0.0, metadata={"help": "training: scale each window by 1 ± this"})
    batch_size: int = 32
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})


@dataclass
class SpeechDigitsOptions(SignalOptions):
    """``rnnkit train speech-digits``: FSDD MFCCs, a 2-layer bidirectional GRU."""

    task: ClassVar[str] = "speech-digits"
    bidirectional: bool = True


@dataclass
class ActivityOptions(SignalOptions):
    """``rnnkit train activity``: HAPT windows, gravity split, conv front end, bidirectional LSTM, rotations."""

    task: ClassVar[str] = "activity"
    data: str = field(default="hapt", metadata={"help": "hapt, basicmotions, or a UEA .ts file (NAME_TRAIN.ts: "
                                                        "NAME_TEST.ts next to it is the test split)"})
    gravity: bool = field(default=True, metadata={"help": "split accelerometer channels into gravity (0.3 Hz "
                                                          "low-pass) and body acceleration"})
    cell: str = field(default="lstm", metadata={"choices": tuple(CELLS)})
    layers: int = 1
    bidirectional: bool = True
    pooling: str = field(default="mean", metadata={"choices": POOLINGS})
    frontend: str = field(default="conv", metadata={"choices": FRONTENDS,
                                                    "help": "dense: per-frame Linear+ReLU; conv: 1-D convolutions"})
    conv_stride: int = field(default=2, metadata={"help": "the last convolution's stride (shortens the sequence)"})
    augment_rotation: float = field(default=45.0, metadata={"help": "training: turn each window's 3-axis sensors by "
                                                                    "a random rotation of up to this many degrees"})
    augment_scale: float = field(default=0.1, metadata={"help": "training: scale each window by 1 ± this"})
    batch_size: int = 64


OPTIONS: dict[str, type[SignalOptions]] = {"speech-digits": SpeechDigitsOptions, "activity": ActivityOptions}


# ------------------------------------------------------------------------------------------ data
def _read_ts_data(path: Path, seed: int) -> SequenceData:
    """A UEA .ts file: with its NAME_TEST.ts sibling the official split, else a stratified 80/10/10."""
    test = path.with_name(path.name.replace("_TRAIN", "_TEST"))
    if "_TRAIN" in path.name and test.exists():
        if path.name.startswith("BasicMotions_"):
            return read_basicmotions(path, test, seed=seed)
        return split_ts(path.stem.replace("_TRAIN", ""), read_ts(path), read_ts(test), seed=seed)
    ts = read_ts(path)
    if ts.labels is None or ts.class_labels is None:
        raise ValueError(f"{path}: training needs labelled series ('@classLabel true ...')")
    y = [ts.class_labels.index(label) for label in ts.labels]
    parts = stratified_split(y, seed=seed)
    train, val, test_ = ([SignalExample(ts.series[i], y[i]) for i in part] for part in parts)
    return SequenceData(name=str(path), labels=list(ts.class_labels), train=train, val=val, test=test_,
                        channels=[f"dim{i}" for i in range(ts.num_dimensions)],
                        split={"method": "stratified", "seed": seed, "keys": dict(zip(("train", "val", "test"),
                                                                                      parts, strict=True))})


def load_signal_data(source: str, *, seed: int = 13, hapt_split: str = "uci") -> SequenceData:
    """A registered signal dataset (``fsdd``, ``hapt``, ``basicmotions``) or a .npz / .ts file."""
    path = Path(source)
    if path.suffix.lower() == ".npz":
        return read_fsdd(path, seed=seed)
    if path.suffix.lower() == ".ts":
        return _read_ts_data(path, seed)
    if path.exists():
        raise ValueError(f"{path}: a signal dataset file must be .npz (FSDD's format) or .ts (UEA)")
    spec = get_spec(source)
    if spec.task not in SIGNAL_TASKS:
        raise ValueError(f"{source!r} is a {spec.task} dataset; signal datasets are fsdd, hapt and basicmotions")
    return load(source, seed=seed, **({"split": hapt_split} if source == "hapt" else {}))


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
    return model_spec(SequenceClassifier, input_size=input_size, num_classes=num_classes, cell=opts.cell,
                      hidden_size=opts.hidden_size, num_layers=opts.layers, bidirectional=opts.bidirectional,
                      pooling=opts.pooling, dropout=opts.dropout, frontend=opts.frontend,
                      frontend_size=opts.frontend_size, conv_layers=opts.conv_layers, conv_kernel=opts.conv_kernel,
                      conv_stride=opts.conv_stride)


def train_signals(opts: SignalOptions, cfg: TrainConfig, out: Path, *, log=print) -> dict[str, Any]:
    """Train a new signal classifier into ``out`` (a model directory) and return its metrics."""
    out, ctx, log = new_run(out, cfg, log)
    data = load_signal_data(opts.data, seed=opts.split_seed, hapt_split=opts.hapt_split)
    log(f"{data.name}: {data.sizes()} sequences of {data.length_range()} frames, {data.num_channels} channels, "
        f"labels {data.labels}, split {data.split.get('method')}")
    if not data.train or not data.val or not data.test:
        raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
    features = SignalFeatures.fit(data, gravity=opts.gravity)
    torch.manual_seed(cfg.seed)
    spec = build_signal_classifier(opts, features.num_inputs, data.num_labels)
    model = build_model(spec)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / CONFIG, new_config(opts.task, model=spec, features=features.to_dict(), labels=data.labels,
                                            options=asdict(opts), train=asdict(cfg)))
    log(f"model: {opts.cell} {opts.layers}x{opts.hidden_size}{' bidirectional' if opts.bidirectional else ''}, "
        f"front end {opts.frontend}, inputs {list(features.standardizer.channels or [])}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters")
    return _fit(model, data, features, opts, cfg, out, resume=False, log=log)


def resume_signals(out: Path, *, log=print, **overrides: Any) -> dict[str, Any]:
    """Continue a killed ``train_signals`` run from its directory, with the settings it was started with."""
    out = Path(out)
    config = _read_signal_config(out)
    opts, cfg, log = resumed_run(config, OPTIONS[config["task"]], overrides, log)
    data = load_signal_data(opts.data, seed=opts.split_seed, hapt_split=opts.hapt_split)
    model = build_model(config["model"])
    return _fit(model, data, SignalFeatures.from_dict(config["features"]), opts, cfg, out, resume=True, log=log)


def _fit(model, data: SequenceData, features: SignalFeatures, opts: SignalOptions, cfg: TrainConfig, out: Path, *,
         resume: bool, log) -> dict[str, Any]:
    task = SequenceClassificationTask(_splits(features, data), data.labels, batch_size=opts.batch_size, seed=cfg.seed,
                                      pairs=_pairs(data.labels), augment=_augment(features, opts))
    return run_fit(model, task, cfg, out, resume=resume, log=log,
                   metadata={"data": data.name, "sizes": data.sizes(), "split": data.split, "cell": opts.cell})


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


def _read_signal_config(directory: Path) -> dict[str, Any]:
    config = read_config(directory)
    if config.get("task") not in SIGNAL_TASKS:
        raise ModelDirError(f"{directory} holds a {config.get('task')!r} model, not a signal classifier "
                            f"({' or '.join(SIGNAL_TASKS)})")
    return config


# --------------------------------------------------------------------------------------- using it
class SignalPredictor:
    """A trained speech-digits or activity model directory, ready to label feature sequences."""

    def __init__(self, directory: Path, device: str = "cpu") -> None:
        self.directory = Path(directory)
        self.config = _read_signal_config(self.directory)
        self.features = SignalFeatures.from_dict(self.config["features"])
        self.labels: list[str] = self.config["labels"]
        self.model = build_model(self.config["model"])
        load_weights(self.model, self.directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    def predict(self, sequences: Sequence[np.ndarray], names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Label and probabilities of each raw (T, C) sequence (C = the training data's channels)."""
        probs = predict_proba(self.model, self.features.transform(sequences), self.device)
        names = list(names) if names is not None else [str(i) for i in range(len(sequences))]
        results = []
        for name, x, p in zip(names, sequences, probs, strict=True):
            k = int(p.argmax())
            results.append({"input": name, "label": self.labels[k], "probability": float(p[k]), "frames": len(x),
                            "probabilities": dict(zip(self.labels, map(float, p), strict=True))})
        return results

    def predict_files(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        """Every sequence of every .npy / .csv / .ts file (see :func:`rnnkit.data.read_features_file`)."""
        sequences, names = [], []
        for path in paths:
            found = read_features_file(Path(path), channels=len(self.features.channels))
            sequences += found
            names += [str(path)] if len(found) == 1 else [f"{path}[{i}]" for i in range(len(found))]
        return self.predict(sequences, names)

    def evaluate(self, data: SequenceData, split: str = "test") -> dict[str, Any]:
        """Metrics on one split of ``data`` (its labels must be the model's)."""
        if list(data.labels) != self.labels:
            raise ValueError(f"{data.name} has labels {data.labels}, the model predicts {self.labels}")
        if not data.part(split):
            raise ValueError(f"{data.name} has no {split} sequences")
        task = SequenceClassificationTask(_splits(self.features, data, [split]), self.labels, batch_size=256, seed=0,
                                          pairs=_pairs(self.labels))
        return task.evaluate(self.model, split, self.device)


def evaluate_signals_dir(directory: Path, data_name: str | None = None, split: str = "test") -> dict[str, Any]:
    """Evaluate a model directory on its own data's split, or on another signal dataset's."""
    predictor = SignalPredictor(directory)
    opts = predictor.config["options"]
    source = data_name if data_name is not None else opts["data"]
    report = predictor.evaluate(load_signal_data(source, seed=opts["split_seed"], hapt_split=opts["hapt_split"]), split)
    report["data"] = source
    return report


__all__ = ["ActivityOptions", "SignalFeatures", "SignalOptions", "SignalPredictor", "SpeechDigitsOptions",
           "evaluate_signals_dir", "load_signal_data", "resume_signals", "train_signals"]
