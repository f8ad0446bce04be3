"""Classification metrics, computed from labels and predictions (no extra dependencies)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F


def confusion_matrix(labels: Tensor, preds: Tensor, num_classes: int) -> Tensor:
    """(C, C) counts: row = true class, column = predicted class."""
    index = labels.long() * num_classes + preds.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def classification_report(labels: Tensor, preds: Tensor, names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix (as lists)."""
    C = len(names)
    cm = confusion_matrix(labels, preds, C).double()
    tp = cm.diag()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp / cm.sum(1).clamp(min=1)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall), torch.zeros_like(tp))
    return {
        "accuracy": float(tp.sum() / cm.sum().clamp(min=1)),
        "macro_f1": float(f1.mean()),
        "per_class": {n: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(cm[i].sum())} for i, n in enumerate(names)},
        "confusion": {"labels": list(names), "matrix": cm.long().tolist()},
        "n": int(cm.sum()),
    }


@torch.no_grad()
def evaluate_classifier(model: torch.nn.Module, batches: Iterable[Any], names: Sequence[str], device: torch.device,
                        inputs: Callable[[Any], tuple]) -> dict:
    """:func:`classification_report` plus the mean loss of ``model`` over labelled batches (each with
    ``.to(device)`` and ``.labels``); ``inputs(batch)`` gives the model's arguments."""
    model.eval()
    labels, preds, loss = [], [], 0.0
    for batch in batches:
        b = batch.to(device)
        logits = model(*inputs(b)).float()
        loss += F.cross_entropy(logits, b.labels, reduction="sum").item()
        labels.append(b.labels.cpu())
        preds.append(logits.argmax(1).cpu())
    report = classification_report(torch.cat(labels), torch.cat(preds), names)
    report["loss"] = loss / max(1, report["n"])
    return report
