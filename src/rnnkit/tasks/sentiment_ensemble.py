"""Several trained sentiment models voting together: the mean of their class probabilities.

Recurrent classifiers trained on ~10k snippets vary by ±1 point of accuracy from one seed to the next
(initialisation and batch order); averaging the probabilities of a few of them removes much of that
variance. Each member keeps its own vocabulary and tokenizer, so an LM-pretrained classifier and one
trained from scratch can vote together; they must predict the same labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import TextClassificationData
from rnnkit.metrics.classification import classification_report
from rnnkit.tasks.classify import labelled
from rnnkit.tasks.sentiment import SentimentPredictor, split_examples
from rnnkit.train.checkpoint import ModelDirError


class SentimentEnsemble:
    """Model directories whose mean class probability is the prediction.

    ``probabilities(texts)`` is (M, N, C): member × text × class; ``predict`` averages over M."""

    def __init__(self, directories: Sequence[Path], device: str = "cpu") -> None:
        if not directories:
            raise ValueError("an ensemble needs at least one model directory")
        self.members = [SentimentPredictor(Path(d), device) for d in directories]
        self.labels = self.members[0].labels
        self.config = self.members[0].config  # the first member's data and split are the ensemble's
        for member in self.members[1:]:
            if member.labels != self.labels:
                raise ModelDirError(f"{member.directory} predicts {member.labels} but {self.members[0].directory} "
                                    f"predicts {self.labels}: an ensemble needs models with the same labels")

    def _member_results(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        return [member.predict(texts) for member in self.members]

    def _stack(self, results: list[list[dict[str, Any]]]) -> torch.Tensor:
        return torch.stack([torch.tensor([[r["probs"][name] for name in self.labels] for r in member])
                            for member in results])

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """(M, N, C) class probabilities of every member for every text."""
        return self._stack(self._member_results(texts))

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Label and mean probabilities per text, as :meth:`SentimentPredictor.predict` gives them;
        ``unknown_tokens`` counts the words unknown to the member that knows fewest of them."""
        results = self._member_results(texts)
        items = [{"text": text, "unknown_tokens": max(member[i]["unknown_tokens"] for member in results),
                  "members": len(self.members)} for i, text in enumerate(texts)]
        return labelled(self.labels, self._stack(results).mean(0), items)

    def trace(self, texts: str | Sequence[str]) -> Any:
        """Refused: the gates belong to one network; an ensemble averages several."""
        raise ValueError(f"an ensemble averages {len(self.members)} networks, each with its own gates: trace one "
                         "member, e.g. rnnkit.load(DIR).trace(text)")

    def evaluate(self, data: TextClassificationData, split: str = "test") -> dict[str, Any]:
        """The ensemble's accuracy, macro-F1 and confusion on one split, and each member's accuracy.

        The members must share their data and split: one member's test split must not be another's
        training data."""
        first = self.members[0]
        for member in self.members[1:]:
            mine, other = first.config["options"], member.config["options"]
            if (other["data"], other["split_seed"]) != (mine["data"], mine["split_seed"]):
                raise ModelDirError(f"{member.directory} was trained on {other['data']} split with seed "
                                    f"{other['split_seed']}, {first.directory} on {mine['data']} with seed "
                                    f"{mine['split_seed']}: evaluate an ensemble of models trained on the same split")
        examples = split_examples(data, split, self.labels)
        gold = torch.tensor([ex.label for ex in examples])
        probs = self.probabilities([ex.text for ex in examples])
        report = classification_report(gold, probs.mean(0).argmax(1), self.labels)
        report["members"] = {str(m.directory): float((p.argmax(1) == gold).double().mean())
                             for m, p in zip(self.members, probs, strict=True)}
        return report


__all__ = ["SentimentEnsemble"]
