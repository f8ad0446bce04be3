"""Synthetic long-memory problems (Hochreiter & Schmidhuber 1997): the adding problem and the copy task.

They isolate the lecture's "Issue 1: long-term dependencies": the answer depends on inputs that lie
T steps before the end, with distractors in between. ``train_adding`` and ``train_copy`` train one cell
on fresh batches under a budget of updates and seconds and score it on a held-out batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.nn import Recurrent


def adding_problem(batch: int, T: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Inputs (T, B, 2): a random value in [0, 1) and a marker that is 1 at exactly two steps, one in
    each half of the sequence. Target (B,): the sum of the two marked values. Always answering 1 (the
    mean of the target) gives an MSE of 1/6 ≈ 0.167, the baseline a model must beat."""
    if T < 2 or batch < 1:
        raise ValueError(f"the adding problem needs T >= 2 and batch >= 1, got T={T}, batch={batch}")
    values = torch.rand(T, batch, generator=generator)
    half = T // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, T, (batch,), generator=generator)
    marker = torch.zeros(T, batch)
    cols = torch.arange(batch)
    marker[first, cols] = 1.0
    marker[second, cols] = 1.0
    target = values[first, cols] + values[second, cols]
    return torch.stack([values, marker], dim=2), target


def copy_task(batch: int, T: int, n_symbols: int = 8, length: int = 10,
              generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Tokens (length + T + length, B): ``length`` random symbols in [1, n_symbols], then T blanks (0)
    with a delimiter (n_symbols + 1) at the last blank; the model must output the symbols after the
    delimiter. Targets: -100 (ignored) everywhere except the last ``length`` steps."""
    if T < 1 or length < 1:
        raise ValueError(f"the copy task needs T >= 1 and length >= 1, got T={T}, length={length}")
    symbols = torch.randint(1, n_symbols + 1, (length, batch), generator=generator)
    blanks = torch.zeros(T + length, batch, dtype=torch.long)
    blanks[T - 1] = n_symbols + 1
    tokens = torch.cat([symbols, blanks])
    targets = torch.full_like(tokens, -100)
    targets[-length:] = symbols
    return tokens, targets


class LastStepRegressor(torch.nn.Module):
    """Recurrent layer → linear readout of the last hidden state: (T, B, I) -> (B,)."""

    def __init__(self, cell: str, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.rnn = Recurrent(cell, input_size, hidden_size)
        self.readout = torch.nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return self.readout(out[-1]).squeeze(1)


class StepClassifier(torch.nn.Module):
    """One-hot tokens → recurrent layer → class logits at every step: (T, B) ids -> (T, B, C)."""

    def __init__(self, cell: str, num_tokens: int, hidden_size: int, num_classes: int) -> None:
        super().__init__()
        self.num_tokens = num_tokens
        self.rnn = Recurrent(cell, num_tokens, hidden_size)
        self.readout = torch.nn.Linear(hidden_size, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        out, _ = self.rnn(F.one_hot(tokens, self.num_tokens).float())
        return self.readout(out)


def copy_baseline(n_symbols: int) -> float:
    """Cross-entropy (nats) of the best memoryless answer: uniform over the symbols, ln(n_symbols)."""
    return math.log(n_symbols)


def _train(model: torch.nn.Module, sample: Callable[[torch.Generator], tuple[Tensor, Tensor]],
           loss_fn: Callable[[Tensor, Tensor], Tensor], *, steps: int, lr: float, seed: int, baseline: float,
           max_seconds: float | None, on_step: Callable[[int, float], None] | None) -> dict[str, float | int | None]:
    """Adam with clipping on fresh batches until ``steps`` updates or ``max_seconds``; stops early once the
    smoothed training loss is below 1 % of ``baseline`` (solved beyond doubt). Returns the counters."""
    torch.set_flush_denormal(True)  # long BPTT makes denormals that slow CPU math ~10x
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    started = time.monotonic()
    loss_value, smooth, first_below, step = float("nan"), None, None, 0
    stopped = "steps"
    for step in range(1, steps + 1):
        x, y = sample(gen)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # exploding gradients, the RNN classic
        opt.step()
        loss_value = loss.item()
        smooth = loss_value if smooth is None else 0.95 * smooth + 0.05 * loss_value
        if first_below is None and step >= 20 and smooth < 0.1 * baseline:
            first_below = step
        if on_step is not None:
            on_step(step, loss_value)
        if step >= 20 and smooth < 0.01 * baseline:
            stopped = "solved"
            break
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            stopped = "time"
            break
    return {"train_loss": loss_value, "steps": step, "seconds": round(time.monotonic() - started, 2),
            "stopped": stopped, "first_step_below_10pct": first_below}


def train_adding(cell: str, T: int, *, steps: int, hidden_size: int = 64, batch: int = 64, lr: float = 1e-2,
                 seed: int = 0, max_seconds: float | None = None, on_step=None,
                 model: LastStepRegressor | None = None) -> dict[str, float]:
    """Train ``cell`` on the adding problem of length T; return the final training and held-out MSE.

    Training stops after ``steps`` updates, after ``max_seconds``, or once solved beyond doubt (smoothed
    MSE below 1 % of the 1/6 baseline). ``on_step(step, mse)`` is called after every update. ``model``: a
    :class:`LastStepRegressor` to train in place (the caller keeps it, e.g. to trace its gates) instead of a
    new one built from ``cell`` and ``hidden_size``."""
    torch.manual_seed(seed)
    model = LastStepRegressor(cell, 2, hidden_size) if model is None else model
    run = _train(model, lambda gen: adding_problem(batch, T, gen), F.mse_loss, steps=steps, lr=lr, seed=seed,
                 baseline=1 / 6, max_seconds=max_seconds, on_step=on_step)
    x, y = adding_problem(1000, T, torch.Generator().manual_seed(seed + 10_000))
    with torch.no_grad():
        test_mse = F.mse_loss(model(x), y).item()
    return {**run, "train_mse": run["train_loss"], "test_mse": test_mse, "baseline_mse": 1 / 6}


def train_copy(cell: str, T: int, *, steps: int, hidden_size: int = 64, batch: int = 64, lr: float = 1e-2,
               n_symbols: int = 8, length: int = 5, seed: int = 0, max_seconds: float | None = None,
               on_step=None) -> dict[str, float]:
    """Train ``cell`` on the copy task with T blanks between the symbols and their recall; return the
    held-out cross-entropy (nats per recalled symbol), symbol accuracy and the memoryless baseline."""
    torch.manual_seed(seed)
    model = StepClassifier(cell, n_symbols + 2, hidden_size, n_symbols + 1)

    def loss_fn(logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits[-length:].reshape(-1, n_symbols + 1), targets[-length:].reshape(-1))

    run = _train(model, lambda gen: copy_task(batch, T, n_symbols, length, gen), loss_fn, steps=steps, lr=lr,
                 seed=seed, baseline=copy_baseline(n_symbols), max_seconds=max_seconds, on_step=on_step)
    tokens, targets = copy_task(1000, T, n_symbols, length, torch.Generator().manual_seed(seed + 10_000))
    with torch.no_grad():
        logits = model(tokens)
        test_ce = loss_fn(logits, targets).item()
        accuracy = (logits[-length:].argmax(2) == targets[-length:]).float().mean().item()
    return {**run, "test_ce": test_ce, "test_accuracy": accuracy, "baseline_ce": copy_baseline(n_symbols)}
