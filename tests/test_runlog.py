"""The training log (steps.csv, TensorBoard events) and --eval-every, on a toy task small enough to run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.utils.data import TensorDataset

from rnnkit.train.checkpoint import load_training_state
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import train_loop
from rnnkit.train.runlog import STEPS, parse_targets, read_steps, tensorboard_installed
from rnnkit.train.task import Task

needs_tensorboard = pytest.mark.skipif(not tensorboard_installed(),
                                       reason="tensorboard is not installed (pip install -e '.[dev]' installs it)")


class ToyTask(Task):
    """Classify 5×3 random sequences by the sign of their sum: 64 training sequences, 8 batches an epoch.
    ``crash_at`` raises inside the step of that (1-based) call of ``loss``: a kill in the middle of a run."""

    name = "toy"
    metric = "accuracy"

    def __init__(self, crash_at: int | None = None) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(96, 5, 3, generator=g)
        y = (x.sum(dim=(1, 2)) > 0).long()
        self.splits = {"train": TensorDataset(x[:64], y[:64]), "val": TensorDataset(x[64:80], y[64:80]),
                       "test": TensorDataset(x[80:], y[80:])}
        self.crash_at = crash_at
        self.calls = 0

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.splits["train"].tensors
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        return [(x[order[i:i + 8]], y[order[i:i + 8]]) for i in range(0, len(x), 8)]

    def loss(self, model, batch, device) -> tuple[torch.Tensor, int]:
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("killed")
        x, y = batch
        return F.cross_entropy(model(x), y), len(y)

    @torch.no_grad()
    def evaluate(self, model, split: str, device) -> dict:
        model.eval()
        x, y = self.splits[split].tensors
        logits = model(x)
        return {"accuracy": (logits.argmax(-1) == y).float().mean().item(),
                "loss": F.cross_entropy(logits, y).item(), "examples": len(y), "decoding": "argmax"}


class ToyModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.GRU(3, 8, batch_first=True)
        self.drop = torch.nn.Dropout(0.3)  # random noise per step: resume must reproduce it
        self.out = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return self.out(self.drop(h[-1]))


def _fit(directory: Path, *, resume: bool = False, crash_at: int | None = None, crash_on: str | None = None,
         logs: list | None = None, **settings) -> dict:
    """Train ToyModel on ToyTask; ``crash_on``: die when the log line starting so is printed (the loop
    prints an evaluation's line after writing it to history.jsonl and the run log)."""
    torch.manual_seed(0)
    cfg = TrainConfig(**{"epochs": 2, "lr": 1e-2, "patience": 0, "progress": False, **settings})
    directory.mkdir(exist_ok=True)
    lines = logs if logs is not None else []

    def log(line: str) -> None:
        lines.append(line)
        if crash_on and line.startswith(crash_on):
            raise RuntimeError("killed")

    return train_loop(ToyModel(), ToyTask(crash_at), cfg, directory, resume=resume, log=log)


def _history(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "history.jsonl").read_text().splitlines()]


def _events(directory: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@needs_tensorboard
def test_tensorboard_and_csv_hold_what_history_holds(tmp_path):
    logs: list[str] = []
    _fit(tmp_path, logs=logs, log="tensorboard,csv", log_every=3, eval_every=5)
    history = _history(tmp_path)
    # --eval-every 5 over 2 epochs of 8 steps: steps 5 and 10, 15 and the two epoch ends
    assert [h["step"] for h in history] == [5, 8, 10, 15, 16]
    assert [h["epoch"] for h in history] == [1, 1, 2, 2, 2]
    events, rows = _events(tmp_path), read_steps(tmp_path)
    for tag in ("train/loss", "train/lr", "train/grad_norm", "train/items_per_s", "val/accuracy", "val/loss",
                "val/examples", "test/accuracy"):
        assert tag in events and tag in rows, tag
    assert "val/decoding" not in rows  # text is not a scalar
    for series in (events, rows):
        assert [s for s, _ in series["val/accuracy"]] == [h["step"] for h in history]
        assert [v for _, v in series["val/accuracy"]] == pytest.approx([h["val"]["accuracy"] for h in history])
        assert [v for _, v in series["val/loss"]] == pytest.approx([h["val"]["loss"] for h in history])
        lr_at = dict(series["train/lr"])
        assert [lr_at[h["step"]] for h in history] == pytest.approx([h["lr"] for h in history])
        # every 3rd step, and a row at each evaluation
        assert [s for s, _ in series["train/loss"]] == [3, 5, 6, 8, 9, 10, 12, 15, 16]
        assert all(v > 0 for _, v in series["train/grad_norm"] + series["train/items_per_s"])
    assert events["test/accuracy"][0][1] == pytest.approx(json.loads((tmp_path / "metrics.json").read_text())
                                                          ["test"]["accuracy"])
    assert any("on the test split (16 examples)" in line for line in logs)
    assert any(line.startswith("epoch 1, step 5: train loss") for line in logs)


def test_grad_norm_is_measured_before_clipping(tmp_path):
    _fit(tmp_path, epochs=1, log="csv", log_every=1, clip_norm=1e-3)
    norms = [v for _, v in read_steps(tmp_path)["train/grad_norm"]]
    assert len(norms) == 8 and min(norms) > 1e-2  # the clipped gradient would have norm 1e-3


def test_logging_does_not_change_the_result(tmp_path):
    _fit(tmp_path / "quiet", log="none")
    _fit(tmp_path / "logged", log="csv", log_every=1)
    assert not (tmp_path / "quiet" / STEPS).exists()
    assert not list((tmp_path / "quiet").glob("events.out.tfevents.*"))
    a = load_training_state(tmp_path / "quiet")["model"]
    b = load_training_state(tmp_path / "logged")["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), key


@needs_tensorboard
def test_a_run_killed_after_a_mid_epoch_evaluation_resumes_exactly(tmp_path):
    """Evaluations at steps 5, 8, 10, …; the state is saved after each. A kill inside step 7 loses steps 6
    (logged) and 7: the resumed run drops step 6's rows and repeats it, and ends where a straight run ends."""
    settings = {"log": "tensorboard,csv", "log_every": 1, "eval_every": 5, "checkpoint_every_s": 1e9}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _fit(straight, **settings)
    with pytest.raises(RuntimeError, match="killed"):
        _fit(killed, crash_at=7, **settings)
    assert load_training_state(killed)["counters"]["step"] == 5
    assert [s for s, _ in read_steps(killed)["train/loss"]] == [1, 2, 3, 4, 5, 6]
    _fit(killed, resume=True, **settings)

    a, b = load_training_state(straight)["model"], load_training_state(killed)["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), key
    best_a, best_b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    for key in best_a:
        assert torch.equal(best_a[key], best_b[key]), key
    assert [h["step"] for h in _history(killed)] == [h["step"] for h in _history(straight)] == [5, 8, 10, 15, 16]
    assert [h["val"] for h in _history(killed)] == [h["val"] for h in _history(straight)]
    for series in (read_steps, _events):
        losses_a, losses_b = series(straight)["train/loss"], series(killed)["train/loss"]
        assert [s for s, _ in losses_b] == list(range(1, 17))  # no step twice
        assert [v for _, v in losses_b] == pytest.approx([v for _, v in losses_a], rel=1e-6)


@needs_tensorboard
def test_a_run_killed_after_an_evaluation_its_checkpoint_preceded_resumes_without_repeats(tmp_path):
    """The state is saved after every step, so the last one is saved before the epoch-end evaluation; a kill
    after that evaluation was logged: the resumed run evaluates again, and each evaluation is logged once."""
    settings = {"log": "tensorboard,csv", "log_every": 1, "checkpoint_every_s": 0}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _fit(straight, **settings)
    with pytest.raises(RuntimeError, match="killed"):
        _fit(killed, crash_on="epoch 2:", **settings)
    state = load_training_state(killed)["counters"]
    assert (state["step"], state["evaluated_at"]) == (16, 8)
    assert [s for s, _ in read_steps(killed)["val/accuracy"]] == [8, 16]
    _fit(killed, resume=True, **settings)

    assert [h["val"] for h in _history(killed)] == [h["val"] for h in _history(straight)]
    rows, events = read_steps(killed), _events(killed)
    assert [s for s, _ in rows["train/loss"]] == list(range(1, 17))
    assert [s for s, _ in rows["val/accuracy"]] == [s for s, _ in events["val/accuracy"]] == [8, 16]
    assert [s for s, _ in rows["test/accuracy"]] == [s for s, _ in events["test/accuracy"]] == [16]
    assert [v for _, v in rows["val/accuracy"]] == [v for _, v in read_steps(straight)["val/accuracy"]]


def test_log_option_and_cadence_are_validated():
    assert parse_targets("none") == ()
    assert parse_targets("csv") == ("csv",)
    assert parse_targets(" TensorBoard , csv ") == ("tensorboard", "csv")
    assert ("tensorboard" in parse_targets("auto")) == tensorboard_installed()
    with pytest.raises(ValueError, match="a comma list of tensorboard, csv"):
        TrainConfig(log="wandb")
    with pytest.raises(ValueError, match="eval_every must be >= 0"):
        TrainConfig(eval_every=-1)
    with pytest.raises(ValueError, match="log_every must be >= 1"):
        TrainConfig(log_every=0)
    # logging settings may change on resume; the evaluation cadence may not (it picks the best weights)
    assert "log" not in TrainConfig().fingerprint() and "log_every" not in TrainConfig().fingerprint()
    assert TrainConfig(eval_every=5).fingerprint() != TrainConfig().fingerprint()


def test_help_says_max_minutes_bounds_training_only(capsys):
    from rnnkit.cli import main

    with pytest.raises(SystemExit):
        main(["train", "sentiment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "it bounds training only" in text
    for flag in ("--eval-every", "--log ", "--log-every"):
        assert flag in text


def test_the_cpp_build_is_announced_only_when_it_compiles(tmp_path, monkeypatch, capsys):
    from rnnkit.nn.kernels import cpp

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    cpp._announce_build("rnnkit_cpu_infer")
    assert "rnnkit: compiling the C++ inference loop (once" in capsys.readouterr().err
    build = next(tmp_path.rglob("rnnkit_cpu_infer"))  # the folder torch builds it in
    (build / "rnnkit_cpu_infer.so").write_bytes(b"")  # built: torch loads it without compiling
    cpp._announce_build("rnnkit_cpu_infer")
    assert capsys.readouterr().err == ""
