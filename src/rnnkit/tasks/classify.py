"""Many-to-one classification, shared by sentiment (token ids), signals (feature frames) and video (clips).

Examples are ``(x, label)``: x a list of token ids, or a float32 tensor of shape (T, *F) — (T, C) for
signals, (T, 1, H, W) for video. A batch pads them to the longest T; the model is any
``model(inputs, lengths) -> logits (B, K)``. This module holds the one :class:`ClassificationTask`, the
padded batch of continuous sequences, the report printer (confusion matrix, named confusions) and the
predictor results every classifier returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.metrics.classification import evaluate_classifier
from rnnkit.text import BucketBatchSampler
from rnnkit.train.task import Task

Example = tuple[Any, int]
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


def sequence_inputs(batch: SequenceBatch) -> tuple[Tensor, Tensor]:
    return batch.inputs, batch.lengths


def pair_confusion(report: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """How often class ``a`` is taken for ``b`` and back, and that pair's share of all errors."""
    names, matrix = report["confusion"]["labels"], report["confusion"]["matrix"]
    i, j = names.index(a), names.index(b)
    errors = report["n"] - sum(matrix[k][k] for k in range(len(names)))
    a_as_b, b_as_a = matrix[i][j], matrix[j][i]
    return {"pair": [a, b], f"{a}_as_{b}": a_as_b, f"{b}_as_{a}": b_as_a,
            f"{a}_as_{b}_rate": a_as_b / max(1, sum(matrix[i])), f"{b}_as_{a}_rate": b_as_a / max(1, sum(matrix[j])),
            "share_of_errors": (a_as_b + b_as_a) / max(1, errors)}


class Collated(Sequence[Any]):
    """An epoch's batches, padded when the loop asks for one (not all up front: an epoch of millions of
    rows would hold every padded batch at once): batch i is ``collate([data[j] for j in batches[i]])``."""

    def __init__(self, data: Sequence[Any], batches: list[list[int]], collate: Callable[[list[Any]], Any]) -> None:
        self.data, self.batches, self.collate = data, batches, collate

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]
        return self.collate([self.data[j] for j in self.batches[i]])


class ClassificationTask(Task):
    """Cross-entropy on class logits of padded sequences; accuracy selects the best epoch.

    Args:
        splits: ``{"train": [...], "val": [...], "test": [...]}``: sequences of ``(x, label)``.
        labels: class names.
        collate: examples → a batch with ``.lengths`` (B,), ``.labels`` (B,) and ``.to(device)``.
        inputs: a batch → the model's arguments, e.g. ``(tokens, lengths)``.
        count_steps: the loss covers the batch's time steps (tokens), not its sequences (for throughput).
        pairs: class pairs whose confusion every report names (e.g. SITTING/STANDING).
        eval_batch_size: evaluation batch (video frames are big: keep it small).
        augment: applied to every training batch's ``inputs``, with a generator seeded by (seed, epoch,
            rank) so an epoch's batches stay a function of its arguments (and a resumed run sees the same).
    """

    name = "classification"
    metric = "accuracy"

    def __init__(self, splits: dict[str, Sequence[Example]], labels: Sequence[str], *, batch_size: int, seed: int,
                 collate: Callable[[list[Example]], Any] = collate,
                 inputs: Callable[[Any], tuple[Tensor, Tensor]] = sequence_inputs, count_steps: bool = False,
                 pairs: Sequence[tuple[str, str]] = (), eval_batch_size: int = 256,
                 augment: Augment | None = None) -> None:
        self.splits, self.labels, self.pairs = splits, list(labels), [tuple(p) for p in pairs]
        self.batch_size, self.seed, self.eval_batch_size = batch_size, seed, eval_batch_size
        self.collate, self.inputs, self.count_steps, self.augment = collate, inputs, count_steps, augment
        self._epoch_cache: tuple[tuple[int, int, int], list[Any]] | None = None
        self._eval_cache: dict[str, list[Any]] = {}

    def _lengths(self, split: str) -> list[int]:
        data = self.splits[split]
        known = getattr(data, "lengths", None)  # encoded texts know theirs (rows on disk: without reading them)
        return [int(n) for n in known] if known is not None else [len(x) for x, _ in data]

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> Sequence[Any]:
        key = (epoch, rank, world)
        if self._epoch_cache is None or self._epoch_cache[0] != key:
            data = self.splits["train"]
            sampler = BucketBatchSampler(self._lengths("train"), self.batch_size, shuffle=True, seed=self.seed,
                                         num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            batches: Sequence[Any] = Collated(data, list(sampler), self.collate)
            if self.augment is not None:  # one generator runs through the epoch's batches in order
                g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7_919 + rank)
                batches = [replace(b, inputs=self.augment(b.inputs, b.lengths, g)) for b in batches]
            self._epoch_cache = (key, batches)
        return self._epoch_cache[1]

    def loss(self, model: torch.nn.Module, batch: Any, device: torch.device) -> tuple[Tensor, int]:
        b = batch.to(device)
        items = int(b.lengths.sum()) if self.count_steps else len(b.lengths)
        return F.cross_entropy(model(*self.inputs(b)).float(), b.labels), items

    def eval_batches(self, split: str) -> list[Any]:
        if split not in self._eval_cache:
            data = self.splits[split]
            sampler = BucketBatchSampler(self._lengths(split), self.eval_batch_size, shuffle=False)
            self._eval_cache[split] = [self.collate([data[i] for i in b]) for b in sampler]
        return self._eval_cache[split]

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, Any]:
        report = evaluate_classifier(model, self.eval_batches(split), self.labels, device, self.inputs)
        if self.pairs:
            report["pair_confusions"] = [pair_confusion(report, a, b) for a, b in self.pairs]
        return report


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


def labelled(labels: Sequence[str], probs: Tensor, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ``items[i]`` with the most probable ``label``, its ``probability`` and every class's ``probs``."""
    results = []
    for item, p in zip(items, probs, strict=True):
        k = int(p.argmax())
        results.append({**item, "label": labels[k], "probability": float(p[k]),
                        "probs": dict(zip(labels, map(float, p), strict=True))})
    return results


def check_split(name: str, data_labels: Sequence[str], examples: Sequence[Any], split: str,
                labels: Sequence[str], unit: str = "examples") -> None:
    """Refuse a dataset whose labels are not the model's, or an empty split."""
    if list(data_labels) != list(labels):
        raise ValueError(f"{name} has labels {list(data_labels)}, the model predicts {list(labels)}")
    if not examples:
        raise ValueError(f"{name} has no {split} {unit}")


def format_report(report: dict[str, Any]) -> list[str]:
    """Per-class F1, the confusion matrix and the named pair confusions, as text lines."""
    lines = ["per-class F1: " + ", ".join(f"{n} {c['f1']:.3f}" for n, c in report["per_class"].items())]
    cm = report["confusion"]
    width = max(len(n) for n in cm["labels"])
    lines.append("confusion (rows: true, columns: predicted):")
    lines.append(" " * (width + 2) + "  ".join(f"{n:>{width}}" for n in cm["labels"]))
    for name, row in zip(cm["labels"], cm["matrix"], strict=True):
        lines.append(f"  {name:>{width}}" + "".join(f"  {v:>{width}}" for v in row))
    for pc in report.get("pair_confusions", []):
        a, b = pc["pair"]
        lines.append(f"{a} taken for {b}: {pc[f'{a}_as_{b}']} ({pc[f'{a}_as_{b}_rate']:.1%} of {a}); {b} taken for "
                     f"{a}: {pc[f'{b}_as_{a}']} ({pc[f'{b}_as_{a}_rate']:.1%}); {pc['share_of_errors']:.0%} of "
                     "all errors")
    return lines


def describe(result: dict[str, Any], unit: str = "examples") -> str:
    """A training run's test metrics for the terminal (``unit``: examples, sequences)."""
    test = result["test"]
    head = (f"test accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f} on {test['n']} {unit} "
            f"(best val accuracy {result['best_val']['accuracy']:.4f} at epoch {result['best_val']['epoch']}, "
            f"{result['train_seconds']:.0f} s training)")
    note = "SYNTHETIC data: " if result.get("synthetic") else ""
    return "\n".join([note + head, *format_report(test)])


def show(report: dict[str, Any], split: str, unit: str = "examples") -> str:
    """An evaluation report (of one model or an ensemble) for the terminal."""
    lines = [f"member {m}: accuracy {a:.4f}" for m, a in report.get("members", {}).items()]
    who = f"ensemble of {len(report['members'])}, " if "members" in report else ""
    note = "SYNTHETIC " if report.get("synthetic") else ""
    part = "every row" if split == "all" else split
    lines.append(f"{note}{report['data']} ({who}{part}, {report['n']} {unit}): accuracy {report['accuracy']:.4f}, "
                 f"macro-F1 {report['macro_f1']:.4f}")
    return "\n".join([*lines, *format_report(report)])


def split_sequences(inputs: Any, ndim: int) -> tuple[list[Any], bool]:
    """Inputs of a sequence classifier as a list, and whether one input was given: a file path, or one array of
    ``ndim`` dimensions (a list, tuple or stacked array of them is several)."""
    if isinstance(inputs, (str, Path)) or (isinstance(inputs, np.ndarray) and inputs.ndim == ndim):
        return [inputs], True
    if inputs is None or isinstance(inputs, (bytes, dict)):
        raise TypeError(f"give a file path, an array or a list of them, got {type(inputs).__name__}")
    return list(inputs), False


class Sequences(NamedTuple):
    """A batch of a sequence classifier's ``preprocess``: each sequence's name and its array."""

    names: list[str]
    arrays: list[np.ndarray]


def expand(inputs: Sequence[Any], read: Callable[[Path], list[np.ndarray]]) -> tuple[list[np.ndarray], list[str]]:
    """Inputs that are arrays or files → the arrays and their names (``FILE``, or ``FILE[i]`` for a file holding
    several; an array is named by its position)."""
    arrays, names = [], []
    for i, item in enumerate(inputs):
        if isinstance(item, (str, Path)):
            found = read(Path(item))
            arrays += found
            names += [str(item)] if len(found) == 1 else [f"{item}[{j}]" for j in range(len(found))]
        else:
            arrays.append(np.asarray(item, dtype=np.float32))
            names.append(str(i))
    return arrays, names


def show_label(result: dict[str, Any]) -> str:
    """``LABEL<TAB>probability<TAB>input`` (and the unknown words, if any) for ``rnnkit predict``."""
    note = f"  ({result['unknown_tokens']} unknown words)" if result.get("unknown_tokens") else ""
    shown = result["text"] if "text" in result else result["input"]
    return f"{result['label']}\t{result['probability']:.3f}\t{shown}{note}"
