"""--max-minutes without --epochs: the run plans, after epoch 1, as many epochs as the budget holds and ends
its LR schedule with them; with --epochs it trains those epochs (cut by the budget), as before.

The loop's clock is replaced by one that advances 10 s per training batch, so every epoch of 4 batches
"takes" 40 s and the plan is exact, whatever the machine."""

from __future__ import annotations

import json
import time
import types

import pytest
import torch

from rnnkit.models import build_model
from rnnkit.tasks.sentiment import SentimentOptions, build_classifier, text_task
from rnnkit.text import EncodedDataset
from rnnkit.train import loop
from rnnkit.train.checkpoint import load_training_state, read_jsonl
from rnnkit.train.config import DEFAULT_EPOCHS, TrainConfig

BATCH_SECONDS = 10.0


def _data(n: int) -> EncodedDataset:
    g = torch.Generator().manual_seed(n)
    ids = [torch.randint(4, 20, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist()
           for _ in range(n)]
    return EncodedDataset(ids, [i % 2 for i in range(n)], list(range(n)))


def _task():
    """Sentiment on 32 short token sequences: 4 batches of 8 per epoch."""
    return text_task({"train": _data(32), "val": _data(8), "test": _data(8)}, ["neg", "pos"], batch_size=8, seed=0)


@pytest.fixture
def clock(monkeypatch):
    """The training loop's time: 0 at the start, +10 s for every training batch, nothing for the rest."""
    now = {"t": 0.0}
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: now["t"], strftime=time.strftime))
    return now


def _fit(cfg: TrainConfig, out, clock, *, resume: bool = False, lines: list[str] | None = None) -> dict:
    torch.manual_seed(0)
    model = build_model(build_classifier(SentimentOptions(model="gru", embed_dim=8, hidden_size=8),
                                         vocab_size=20, num_classes=2))
    task = _task()
    loss = task.loss

    def timed_loss(*args):
        clock["t"] += BATCH_SECONDS
        return loss(*args)

    task.loss = timed_loss
    return loop.train_loop(model, task, cfg, out, resume=resume, log=(lines if lines is not None else []).append)


def test_a_budget_without_epochs_plans_the_epochs_that_fill_it(tmp_path, clock):
    """4 batches × 10 s = 40 s per epoch; 5 minutes hold 7 of them (7.5 rounded down)."""
    lines: list[str] = []
    cfg = TrainConfig(max_minutes=5, patience=0, progress=False, log="none")
    result = _fit(cfg, tmp_path / "m", clock, lines=lines)
    assert any("epoch 1 took 40 s: planning 7 epochs to fill --max-minutes 5" in line for line in lines), lines
    counters = load_training_state(tmp_path / "m")["counters"]
    assert counters["planned_epochs"] == 7 and counters["epoch"] == 7 and counters["done"]
    assert result["steps"] == 7 * 4 and result["epochs"] == 7 and result["planned_epochs"] == 7
    history = read_jsonl(tmp_path / "m" / "history.jsonl")
    assert [h["epoch"] for h in history] == list(range(1, 8))
    assert history[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # the cosine ends with the last planned step
    assert history[0]["lr"] > 0.9 * cfg.lr  # epoch 1 ran on the provisional (longer) schedule, barely decayed


def test_given_epochs_are_kept_and_the_budget_only_cuts_them(tmp_path, clock):
    cfg = TrainConfig(epochs=3, max_minutes=5, patience=0, progress=False, log="none")
    _fit(cfg, tmp_path / "m", clock)
    counters = load_training_state(tmp_path / "m")["counters"]
    assert counters["epoch"] == 3 and counters["planned_epochs"] is None
    assert "planned_epochs" not in json.loads((tmp_path / "m" / "metrics.json").read_text())
    cut = TrainConfig(epochs=20, max_minutes=1, patience=0, progress=False, log="none")
    result = _fit(cut, tmp_path / "cut", clock)
    assert result["steps"] == 7  # the step that passes 60 s is the last one: 7 × 10 s = 70 s


def test_neither_epochs_nor_budget_trains_the_default_epochs(tmp_path, clock):
    result = _fit(TrainConfig(patience=0, progress=False, log="none"), tmp_path / "m", clock)
    assert result["steps"] == DEFAULT_EPOCHS * 4


def test_a_resumed_budget_run_keeps_its_plan(tmp_path, clock):
    """A run stopped after its plan was made (here: by its own budget) and resumed with more minutes trains to
    the planned epochs, not further: the plan is part of the run, the budget only a runtime limit."""
    out = tmp_path / "m"
    short = TrainConfig(max_minutes=2.5, patience=0, progress=False, log="none")  # 40 s/epoch: plan 3
    _fit(short, out, clock)
    counters = load_training_state(out)["counters"]
    assert counters["planned_epochs"] == 3 and counters["epoch"] == 3
    more = TrainConfig(max_minutes=60, patience=0, progress=False, log="none")
    result = _fit(more, out, clock, resume=True)
    assert result["steps"] == 3 * 4
    lines: list[str] = []
    longer = TrainConfig(epochs=5, max_minutes=60, patience=0, progress=False, log="none")
    result = _fit(longer, out, clock, resume=True, lines=lines)
    assert any("extending" in line and "from 3 to 5 epochs" in line for line in lines), lines
    assert result["steps"] == 5 * 4


def test_shortening_a_planned_run_is_refused(tmp_path, clock):
    out = tmp_path / "m"
    _fit(TrainConfig(max_minutes=2.5, patience=0, progress=False, log="none"), out, clock)
    with pytest.raises(ValueError, match="started for 3 epochs"):
        _fit(TrainConfig(epochs=2, max_minutes=2.5, patience=0, progress=False, log="none"), out, clock, resume=True)


def test_a_budget_spent_within_epoch_1_stops_without_a_plan(tmp_path, clock):
    lines: list[str] = []
    result = _fit(TrainConfig(max_minutes=0.25, patience=0, progress=False, log="none"), tmp_path / "m", clock,
                  lines=lines)
    assert result["steps"] == 2 and "planned_epochs" not in result  # 20 s > 15 s after the second batch
    assert not any("planning" in line for line in lines)
    assert any("--max-minutes 0.25 reached" in line for line in lines), lines
