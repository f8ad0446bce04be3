"""How to train (not what): :class:`TrainConfig`, whose every field is a flag of ``rnnkit train``, and the
devices a run may name. A resumed run keeps every field but the :attr:`TrainConfig.RUNTIME` ones, which
describe the machine and the log rather than the training itself."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch

from rnnkit.ranges import SEED
from rnnkit.train.runlog import parse_targets

DEFAULT_EPOCHS = 10  # the epochs of a run given neither --epochs nor --max-minutes


@dataclass
class TrainConfig:
    """How to train (not what): every field is a flag of ``rnnkit train``."""

    epochs: int | None = field(default=None, metadata={"help": (
        "passes over the training split (with --resume DIR: extend the run to this many epochs); not given "
        f"(None): {DEFAULT_EPOCHS}, or with --max-minutes as many as fill the budget, planned from epoch 1's "
        "time (the LR schedule then decays to 0 at the budget's end)"),
        "default_text": f"{DEFAULT_EPOCHS}, or fill --max-minutes"})
    lr: float = field(default=2e-3, metadata={"help": "peak learning rate of AdamW"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW decoupled weight decay on weight matrices "
                                                                "(0: none)"})
    clip_norm: float = field(default=1.0, metadata={"help": "clip the global gradient norm to this (0: no clipping); "
                                                            "the exploding-gradient remedy for RNNs"})
    warmup: float = field(default=0.05, metadata={"help": "fraction of all optimizer steps, in [0, 1), over which "
                                                          "the LR rises linearly from 0"})
    schedule: str = field(default="cosine", metadata={"choices": ("cosine", "constant"), "help": (
        "LR after warmup: cosine decays to 0 at the last step, constant keeps --lr")})
    patience: int = field(default=3, metadata={"help": "stop after this many evaluations without a better "
                                                       "validation metric (0: never stop early)"})
    max_minutes: float | None = field(default=None, metadata={"help": (
        "training budget in minutes: stop training once it has run this long (checked after every step), then "
        "evaluate the best weights on the test split; it bounds training only, not data preparation or that "
        "final evaluation (None: no limit)")})
    seed: int = field(default=13, metadata={"help": "seed of the initial weights, batch order and dropout"})
    device: str = field(default="auto", metadata={"help": "auto (CUDA if available, else CPU), cpu, cuda or cuda:N"})
    amp: bool = field(default=True, metadata={"help": "bfloat16 autocast, CUDA only: a run on CPU trains in float32 "
                                                      "and saves amp false"})
    checkpoint_every_s: float = field(default=60.0, metadata={"help": "also write the resumable state mid-epoch "
                                                                      "this often (seconds)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar per epoch when stderr is a "
                                                           "terminal (or a notebook); a log gets one line per epoch"})
    # Fine-tuning a pretrained model (ULMFiT, Howard & Ruder 2018), for models with ``layer_groups()``:
    lr_decay: float = field(default=1.0, metadata={"help": "discriminative LRs for fine-tuning: each layer group "
                                                           "below the top trains at lr / lr_decay^depth (1: one LR)"})
    gradual_unfreeze: bool = field(default=False, metadata={"help": "fine-tuning: epoch 1 trains the top layer "
                                                                    "group only, each later epoch one more below"})
    # Evaluation and logging cadence. Logging never changes a result; --eval-every does (it chooses the best
    # weights and drives --patience), so a resumed run must keep it.
    eval_every: int = field(default=0, metadata={"help": (
        "also evaluate on the validation split every N optimizer steps (0: only at the end of each epoch); "
        "each evaluation may save the best weights and counts toward --patience")})
    log: str = field(default="auto", metadata={"help": (
        "where to log training scalars (loss, LR, gradient norm, items/s, validation metrics): a comma list of "
        "tensorboard (event files in the model directory) and csv (steps.csv), none, or auto (csv, plus "
        "tensorboard when the tensorboard package is installed)")})
    log_every: int = field(default=50, metadata={"help": "log the training scalars every N optimizer steps, "
                                                           "and at each evaluation"})

    # Settings that do not change the result of a step, so a resumed run may change them.
    RUNTIME: ClassVar[tuple[str, ...]] = ("max_minutes", "device", "checkpoint_every_s", "progress", "log",
                                          "log_every")

    def __post_init__(self) -> None:
        self._check_ranges()
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if not self.lr_decay >= 1.0:
            raise ValueError(f"lr_decay must be >= 1 (1: one LR for every layer), got {self.lr_decay}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0 (0: once per epoch), got {self.eval_every}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
        parse_targets(self.log)

    def _check_ranges(self) -> None:
        """Every numeric option inside the range where it means what its help says (NaN is outside every
        range): a negative --clip-norm would scale the gradient by a negative factor (gradient ascent)."""
        for name in ("epochs", "patience", "seed"):
            if name == "epochs" and self.epochs is None:
                continue
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise ValueError(f"--{name} must be a whole number, got {getattr(self, name)!r}")
        checks = (
            ("lr", self.lr > 0 and math.isfinite(self.lr), "a finite number > 0"),
            ("clip_norm", self.clip_norm >= 0 and math.isfinite(self.clip_norm), ">= 0 (0: no clipping)"),
            ("warmup", 0 <= self.warmup < 1, "a fraction of all steps in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0 and math.isfinite(self.weight_decay), ">= 0 (0: no decay)"),
            ("patience", self.patience >= 0, ">= 0 (0: never stop early)"),
            ("seed", SEED[0] <= self.seed <= SEED[1], f"in [{SEED[0]}, {SEED[1]}]"),
            ("checkpoint_every_s", self.checkpoint_every_s >= 0, "a number of seconds >= 0"),
            ("lr_decay", math.isfinite(self.lr_decay), "a finite number >= 1"),
            ("max_minutes", self.max_minutes is None or self.max_minutes > 0, "> 0 minutes"),
        )
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"--{name.replace('_', '-')} must be {allowed}, got {getattr(self, name)}")

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed run must share with the original."""
        return {k: v for k, v in asdict(self).items() if k not in self.RUNTIME}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def uses_amp(cfg: TrainConfig, device: torch.device) -> bool:
    """Whether --amp takes effect on ``device``: bfloat16 autocast runs on CUDA only; elsewhere the run trains
    in float32 (and a new run saves ``amp: false``, what really ran)."""
    return cfg.amp and device.type == "cuda"


def available_devices() -> list[str]:
    """The ``--device`` values this machine can run: auto, cpu, and cuda, cuda:0 … / mps when present."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA if available, else CPU; a device this machine lacks (``cuda`` without a GPU, ``tpu``,
    ``meta``, ``cuda:9``) is a one-line error naming the valid ones."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    valid = available_devices()
    if name not in valid:
        hint = "; torch sees no CUDA GPU" if name.startswith("cuda") and not torch.cuda.is_available() else ""
        raise ValueError(f"--device {name} is not available on this machine{hint}; valid: {', '.join(valid)}")
    return torch.device(name)
