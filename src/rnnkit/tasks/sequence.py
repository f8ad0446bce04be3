"""Many-to-one classification of continuous sequences (signals, frame sequences): the shared task parts.

Examples are ``(x, label)`` with x a float32 tensor of shape (T, *F) — (T, C) for signals, (T, 1, H, W)
for video. A batch pads them to the longest T::

    inputs (B, T_max, *F)   zeros past each sequence's end
    lengths (B,)            true T of each sequence (on CPU)
    labels (B,)             class ids

The model is any ``model(inputs, lengths) -> logits (B, K)``. :mod:`rnnkit.tasks.signals` and
:mod:`rnnkit.tasks.video` build the data and models; this module holds what they share: the
:class:`~rnnkit.tasks.base.Task`, the report (with named confusions) and batched prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.metrics.classification import evaluate_classifier
from rnnkit.tasks.base import Task
from rnnkit.text import BucketBatchSampler
from rnnkit.train.loop import TrainConfig, fit

Example = tuple[Tensor, int]
Augment = Callable[[Tensor, Tensor, torch.Generator], Tensor]  # (inputs, lengths, generator) -> new inputs


@dataclass
class SequenceBatch:
    """A padded batch: inputs (B, T, *F) float32, lengths (B,) int64 on CPU, labels (B,) int64."""

    inputs: Tensor
    lengths: Tensor
    labels: Tensor

    def to(self, device: torch.device | str) -> SequenceBatch:
        """Inputs and labels on ``device`` (lengths stay on the CPU)."""
        return SequenceBatch(self.inputs.to(device), self.lengths, self.labels.to(device))


def pad_sequences(sequences: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Sequences (T_i, *F) → padded (B, T_max, *F) with zeros after each end, and lengths (B,)."""
    if not sequences:
        raise ValueError("cannot pad an empty list of sequences")
    lengths = torch.tensor([len(x) for x in sequences], dtype=torch.long)
    out = sequences[0].new_zeros(len(sequences), int(lengths.max()), *sequences[0].shape[1:])
    for i, x in enumerate(sequences):
        out[i, : len(x)] = x
    return out, lengths


def collate(examples: Sequence[Example]) -> SequenceBatch:
    inputs, lengths = pad_sequences([x for x, _ in examples])
    return SequenceBatch(inputs, lengths, torch.tensor([y for _, y in examples], dtype=torch.long))


def pair_confusion(report: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """How often class ``a`` is taken for ``b`` and back, and that pair's share of all errors."""
    names, matrix = report["confusion"]["labels"], report["confusion"]["matrix"]
    i, j = names.index(a), names.index(b)
    errors = report["n"] - sum(matrix[k][k] for k in range(len(names)))
    a_as_b, b_as_a = matrix[i][j], matrix[j][i]
    return {"pair": [a, b], f"{a}_as_{b}": a_as_b, f"{b}_as_{a}": b_as_a,
            f"{a}_as_{b}_rate": a_as_b / max(1, sum(matrix[i])), f"{b}_as_{a}_rate": b_as_a / max(1, sum(matrix[j])),
            "share_of_errors": (a_as_b + b_as_a) / max(1, errors)}


class SequenceClassificationTask(Task):
    """Cross-entropy on class logits of padded sequences; accuracy selects the best epoch.

    Args:
        splits: ``{"train": [...], "val": [...], "test": [...]}`` lists of ``(x (T, *F), label)``.
        labels: class names.
        pairs: class pairs whose confusion every report names (e.g. SITTING/STANDING).
        eval_batch_size: evaluation batch (video frames are big: keep it small).
        augment: applied to every training batch, with a generator seeded by (seed, epoch, rank) so an
            epoch's batches stay a function of its arguments (and a resumed run sees the same ones).
    """

    name = "sequence-classification"
    metric = "accuracy"

    def __init__(self, splits: dict[str, list[Example]], labels: Sequence[str], *, batch_size: int, seed: int,
                 pairs: Sequence[tuple[str, str]] = (), eval_batch_size: int = 256,
                 augment: Augment | None = None) -> None:
        self.splits, self.labels, self.pairs = splits, list(labels), [tuple(p) for p in pairs]
        self.batch_size, self.seed, self.eval_batch_size = batch_size, seed, eval_batch_size
        self.augment = augment
        self._epoch_cache: tuple[tuple[int, int, int], list[SequenceBatch]] | None = None
        self._eval_cache: dict[str, list[SequenceBatch]] = {}

    def _lengths(self, split: str) -> list[int]:
        return [len(x) for x, _ in self.splits[split]]

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list[SequenceBatch]:
        key = (epoch, rank, world)
        if self._epoch_cache is None or self._epoch_cache[0] != key:
            data = self.splits["train"]
            sampler = BucketBatchSampler(self._lengths("train"), self.batch_size, shuffle=True, seed=self.seed,
                                         num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            batches = [collate([data[i] for i in b]) for b in sampler]
            if self.augment is not None:
                g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7_919 + rank)
                batches = [replace(b, inputs=self.augment(b.inputs, b.lengths, g)) for b in batches]
            self._epoch_cache = (key, batches)
        return self._epoch_cache[1]

    def loss(self, model: torch.nn.Module, batch: SequenceBatch, device: torch.device) -> tuple[Tensor, int]:
        b = batch.to(device)
        return F.cross_entropy(model(b.inputs, b.lengths).float(), b.labels), len(b.lengths)

    def eval_batches(self, split: str) -> list[SequenceBatch]:
        if split not in self._eval_cache:
            data = self.splits[split]
            sampler = BucketBatchSampler(self._lengths(split), self.eval_batch_size, shuffle=False)
            self._eval_cache[split] = [collate([data[i] for i in b]) for b in sampler]
        return self._eval_cache[split]

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, Any]:
        report = evaluate_classifier(model, self.eval_batches(split), self.labels, device,
                                     lambda b: (b.inputs, b.lengths))
        if self.pairs:
            report["pair_confusions"] = [pair_confusion(report, a, b) for a, b in self.pairs]
        return report


def run_fit(model: torch.nn.Module, task: SequenceClassificationTask, cfg: TrainConfig, out: Path, *, resume: bool,
            log: Callable[[str], None], metadata: dict[str, Any]) -> dict[str, Any]:
    """:func:`rnnkit.train.fit` with the run's facts in metrics.json and the wall time."""
    started = time.time()
    result = fit(model, task, cfg, out, resume=resume, log=log,
                 metadata={**metadata, "parameters": sum(p.numel() for p in model.parameters()),
                           "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    result.setdefault("wall_seconds", round(time.time() - started, 1))
    return result


@torch.no_grad()
def predict_proba(model: torch.nn.Module, sequences: Sequence[Tensor], device: torch.device,
                  batch_size: int = 256) -> Tensor:
    """Class probabilities (N, K) of sequences (T_i, *F), in their order."""
    model.eval()
    probs = []
    for start in range(0, len(sequences), batch_size):
        inputs, lengths = pad_sequences(sequences[start:start + batch_size])
        probs.append(torch.softmax(model(inputs.to(device), lengths).float(), dim=1).cpu())
    return torch.cat(probs)


def format_confusion(report: dict[str, Any]) -> list[str]:
    """The confusion matrix as aligned text lines (rows: true, columns: predicted)."""
    cm = report["confusion"]
    width = max(len(n) for n in cm["labels"])
    lines = ["confusion (rows: true, columns: predicted):", " " * (width + 2) + "  ".join(
        f"{n:>{width}}" for n in cm["labels"])]
    lines += [f"  {name:>{width}}" + "".join(f"  {v:>{width}}" for v in row)
              for name, row in zip(cm["labels"], cm["matrix"], strict=True)]
    return lines


def format_report(report: dict[str, Any]) -> list[str]:
    """Per-class F1, the confusion matrix and the named pair confusions, as text lines."""
    lines = ["per-class F1: " + ", ".join(f"{n} {c['f1']:.3f}" for n, c in report["per_class"].items())]
    lines += format_confusion(report)
    for pc in report.get("pair_confusions", []):
        a, b = pc["pair"]
        lines.append(f"{a} taken for {b}: {pc[f'{a}_as_{b}']} ({pc[f'{a}_as_{b}_rate']:.1%} of {a}); {b} taken for "
                     f"{a}: {pc[f'{b}_as_{a}']} ({pc[f'{b}_as_{a}_rate']:.1%}); {pc['share_of_errors']:.0%} of "
                     "all errors")
    return lines


def describe(result: dict[str, Any]) -> str:
    """Summary of a training run's test metrics for the terminal."""
    test = result["test"]
    head = (f"test accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f} on {test['n']} sequences "
            f"(best val accuracy {result['best_val']['accuracy']:.4f} at epoch {result['best_val']['epoch']}, "
            f"{result['train_seconds']:.0f} s training)")
    if result.get("synthetic"):
        head = "SYNTHETIC data: " + head
    return "\n".join([head, *format_report(test)])
