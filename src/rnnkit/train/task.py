"""The contract between an application and the training loop: what :func:`rnnkit.train.loop.train_loop` needs.

It lives beside the loop, in the layer below the applications (:mod:`rnnkit.tasks`), which implement it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor


class Task(ABC):
    """A task supplies batches, a loss and an evaluation; :func:`rnnkit.train.loop.train_loop` does the rest.

    ``train_batches(epoch, rank, world)`` must be a deterministic function of its arguments (so a
    resumed run sees the same batches), and every rank must get the same number of batches.
    """

    name: ClassVar[str]
    metric: ClassVar[str]  # the validation metric that selects the best model and drives early stopping
    higher_is_better: ClassVar[bool] = True

    @abstractmethod
    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> Sequence[Any]:
        """This rank's training batches of ``epoch``."""

    @abstractmethod
    def loss(self, model: torch.nn.Module, batch: Any, device: torch.device) -> tuple[Tensor, int]:
        """Mean training loss of a batch and the number of items (tokens, sequences) it covers."""

    @abstractmethod
    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, Any]:
        """Metrics of ``model`` on ``split`` ("val" or "test"); must include ``self.metric``."""

    def start_epoch(self, epoch: int) -> None:  # noqa: B027 - optional hook
        """Called before each epoch (e.g. to reset a carried hidden state)."""

    def state_dict(self) -> dict[str, Tensor]:
        """Task state that must survive a resume (e.g. a carried hidden state); tensors only."""
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:  # noqa: B027 - optional hook
        """Restore :meth:`state_dict`."""
