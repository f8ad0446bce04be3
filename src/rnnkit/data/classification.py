"""Text-classification examples, datasets and reproducible splits.

Splits are decided by hashing ``f"{seed}\\0{key}"`` with SHA-256 and sorting: the same keys and seed give
the same split on every machine and with every NumPy version, and the keys of each split are stored in
``TextClassificationData.split`` so ``metrics.json`` records exactly which examples were tested.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_SEED = 13
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
UNLABELLED = -1
"""Label of an example whose file carries no label (e.g. a GLUE test TSV read with labels optional)."""


@dataclass(frozen=True)
class Example:
    """One text and its class id (an index into the dataset's ``labels``)."""

    text: str
    label: int


@dataclass
class TextClassificationData:
    """Train/val/test examples plus the label names and how the split was made.

    Attributes:
        name: dataset name (registry name or file path).
        labels: class names; ``labels[i]`` is the name of class id ``i``.
        train, val, test: the examples of each split (val or train may be empty, e.g. test-only sets).
        split: JSON-serialisable description: ``method``, ``seed``, ``fractions`` and the ``keys`` of
            every split (movie names, file keys or row numbers) so it can be reproduced and stored.
    """

    name: str
    labels: list[str]
    train: list[Example]
    val: list[Example]
    test: list[Example]
    split: dict[str, Any] = field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Per split, examples per label name."""
        out: dict[str, dict[str, int]] = {}
        for part, examples in (("train", self.train), ("val", self.val), ("test", self.test)):
            counts = Counter(ex.label for ex in examples)
            out[part] = {name: counts.get(i, 0) for i, name in enumerate(self.labels)}
        return out

    def summary(self) -> dict[str, Any]:
        """Small JSON-able description (no keys) for logs and reports."""
        return {
            "name": self.name,
            "labels": list(self.labels),
            "sizes": self.sizes(),
            "label_counts": self.label_counts(),
            "split_method": self.split.get("method"),
            "seed": self.split.get("seed"),
        }


# -------------------------------------------------------------------------------------- splitting
def seeded_order(keys: Sequence[K], seed: int) -> list[K]:
    """Keys in a pseudo-random order fixed by ``seed`` (SHA-256 of ``seed`` and ``str(key)``)."""
    if len(set(map(str, keys))) != len(keys):
        raise ValueError("seeded_order needs keys with distinct str() forms")
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}\0{k}".encode()).digest())


def _cut(n: int, fractions: Sequence[float]) -> tuple[int, int]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    n_train = round(fractions[0] * n)
    n_val = min(round(fractions[1] * n), n - n_train)
    return n_train, n_train + n_val


def split_keys(
    keys: Sequence[K], *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> tuple[list[K], list[K], list[K]]:
    """Split distinct keys (e.g. movie names) into train/val/test by :func:`seeded_order`."""
    order = seeded_order(list(keys), seed)
    a, b = _cut(len(order), fractions)
    return order[:a], order[a:b], order[b:]


def stratified_split(
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keys: Sequence[Hashable] | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """Split example indices so each split keeps the label proportions.

    Within each class the examples are put in :func:`seeded_order`; example ``j`` of a class of size
    ``n_c`` gets the fractional rank ``(j + 0.5) / n_c``. All examples are then sorted by that rank and
    cut at ``round(f_train * N)`` and ``round((f_train + f_val) * N)``, so split sizes match an
    unstratified split exactly while every class is spread evenly (a class too small to reach a split
    is the only one that can miss it).

    Args:
        labels: label of each example, shape (N,).
        keys: stable identity of each example (default: its index) used to seed the order.

    Returns:
        Three sorted lists of indices into ``labels``.
    """
    keys = list(range(len(labels))) if keys is None else list(keys)
    if len(keys) != len(labels):
        raise ValueError("keys and labels must have the same length")
    ranked: list[tuple[float, bytes, int]] = []
    for label in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == label]
        position = {str(keys[i]): i for i in members}
        order = seeded_order([str(keys[i]) for i in members], seed)
        for j, key in enumerate(order):
            tie = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
            ranked.append(((j + 0.5) / len(order), tie, position[key]))
    ranked.sort()
    a, b = _cut(len(ranked), fractions)
    index = [i for _, _, i in ranked]
    return sorted(index[:a]), sorted(index[a:b]), sorted(index[b:])


def split_examples(
    name: str,
    examples: Sequence[Example],
    labels: list[str],
    *,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keys: Sequence[str] | None = None,
) -> TextClassificationData:
    """A seeded stratified 80/10/10 (by default) split of examples that came without one.

    ``keys`` (default: the row numbers as strings) identify the examples in ``split["keys"]``.
    """
    keys = [str(i) for i in range(len(examples))] if keys is None else list(keys)
    tr, va, te = stratified_split([ex.label for ex in examples], seed=seed, fractions=fractions, keys=keys)
    return TextClassificationData(
        name=name,
        labels=labels,
        train=[examples[i] for i in tr],
        val=[examples[i] for i in va],
        test=[examples[i] for i in te],
        split={
            "method": "stratified",
            "seed": seed,
            "fractions": list(fractions),
            "keys": {
                "train": [keys[i] for i in tr],
                "val": [keys[i] for i in va],
                "test": [keys[i] for i in te],
            },
        },
    )
