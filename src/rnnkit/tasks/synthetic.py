"""Synthetic long-memory problems (Hochreiter & Schmidhuber 1997): the adding problem and the copy task.

They isolate the lecture's "Issue 1: long-term dependencies": the answer depends on inputs that lie
T steps before the end, with distractors in between.
"""

from __future__ import annotations

import torch
from torch import Tensor


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
        from rnnkit.nn import Recurrent

        self.rnn = Recurrent(cell, input_size, hidden_size)
        self.readout = torch.nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return self.readout(out[-1]).squeeze(1)


def train_adding(cell: str, T: int, *, steps: int, hidden_size: int = 64, batch: int = 64, lr: float = 1e-2,
                 seed: int = 0, on_step=None) -> dict[str, float]:
    """Train ``cell`` on the adding problem of length T; return the final training and held-out MSE.

    ``on_step(step, mse)`` is called after every update (for progress output)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = LastStepRegressor(cell, 2, hidden_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    mse = float("nan")
    for step in range(1, steps + 1):
        x, y = adding_problem(batch, T, gen)
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # exploding gradients, the RNN classic
        opt.step()
        mse = loss.item()
        if on_step is not None:
            on_step(step, mse)
    x, y = adding_problem(1000, T, torch.Generator().manual_seed(seed + 10_000))
    with torch.no_grad():
        test_mse = torch.nn.functional.mse_loss(model(x), y).item()
    return {"train_mse": mse, "test_mse": test_mse, "baseline_mse": 1 / 6}
