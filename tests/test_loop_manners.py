"""The loop's manners (issues 24 and 26): a diverging run stops before a non-finite update lands and says what
to do; progress bars go to a terminal only, a log gets one line per epoch and an estimate after epoch 1; a run
that fails before it trained anything leaves no folder it made."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.models import build_model
from rnnkit.tasks.sentiment import SentimentOptions, build_classifier, text_task
from rnnkit.text import EncodedDataset
from rnnkit.train.checkpoint import ModelDirError, load_training_state, load_weights, read_jsonl
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import train_loop
from rnnkit.train.step import DivergedError, check_finite

SRC = str(Path(__file__).resolve().parents[1] / "src")
SMALL = ["--cell", "lstm", "--embed-dim", "8", "--hidden-size", "8", "--batch-size", "8", "--patience", "0",
         "--min-freq", "1"]


def _data(reviews_csv: Path) -> list[str]:
    return ["--data", str(reviews_csv), "--text-col", "text", "--label-col", "label"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


def _ids(n: int) -> EncodedDataset:
    g = torch.Generator().manual_seed(n)
    ids = [torch.randint(4, 20, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist()
           for _ in range(n)]
    return EncodedDataset(ids, [i % 2 for i in range(n)], list(range(n)))


def _model_and_task():
    """A GRU classifier and 32 short sequences: 4 batches of 8 per epoch."""
    torch.manual_seed(0)
    model = build_model(build_classifier(SentimentOptions(model="gru", embed_dim=8, hidden_size=8), 20, 2))
    task = text_task({"train": _ids(32), "val": _ids(8), "test": _ids(8)}, ["neg", "pos"], batch_size=8, seed=0)
    return model, task


# ------------------------------------------------------------------------------------- the divergence guard
def test_a_non_finite_loss_stops_the_run_before_its_update(tmp_path):
    """The 6th training loss is NaN: the run stops at step 5 with the weights of step 4, which the checkpoint
    (written after every step here) holds; the best weights of epoch 1 still load; a resume is refused."""
    model, task = _model_and_task()
    loss = task.loss
    calls = {"n": 0}

    def poisoned(*args):
        calls["n"] += 1
        value, items = loss(*args)
        return (value * float("nan") if calls["n"] == 6 else value), items

    task.loss = poisoned
    cfg = TrainConfig(epochs=3, patience=0, progress=False, log="none", checkpoint_every_s=0)
    out = tmp_path / "m"
    with pytest.raises(DivergedError, match=r"the training loss became nan at step 5.*lower --lr") as caught:
        train_loop(model, task, cfg, out, log=lambda _: None)
    assert "rnnkit train --from" in str(caught.value) and "\n" not in str(caught.value)
    state = load_training_state(out)
    assert state["counters"]["step"] == 5 and state["counters"]["diverged"]["step"] == 5
    for name, p in model.named_parameters():  # the NaN step changed nothing: memory == the last checkpoint
        assert torch.equal(p.detach(), state["model"][name]) and bool(torch.isfinite(p).all()), name
    assert [h["epoch"] for h in read_jsonl(out / "history.jsonl")] == [1]
    load_weights(_model_and_task()[0], out)  # the best weights are intact (and finite)
    with pytest.raises(ModelDirError, match="a resume would repeat the same steps"):
        train_loop(_model_and_task()[0], _model_and_task()[1], cfg, out, resume=True, log=lambda _: None)


def test_weights_that_overflowed_are_not_saved():
    model, _ = _model_and_task()
    check_finite(model, 3)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("inf")
    with pytest.raises(DivergedError, match="became non-finite at step 3"):
        check_finite(model, 3)


def test_lr_1e308_ends_in_one_line_and_resume_says_why_it_will_not(reviews_csv, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--no-progress", "--lr", "1e308",
                 "--epochs", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "the training loss became nan at step 1" in err and "--lr 1e+307" in err and "Traceback" not in err
    state = load_training_state(out)  # the step-0 checkpoint, finite
    assert all(bool(torch.isfinite(t).all()) for t in state["model"].values())
    assert main(["train", "sentiment", "--resume", str(out)]) == 1
    err = capsys.readouterr().err
    assert "a resume would repeat the same steps" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------- terminal manners
def _train_command(reviews_csv: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "rnnkit", "train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "3",
            "--log", "none", "--out", str(out)]


def test_a_log_gets_one_line_per_epoch_and_an_estimate_after_epoch_1(reviews_csv, tmp_path):
    """`make train > log`: progress is on by default, but stderr is not a terminal, so no bar is drawn."""
    result = subprocess.run(_train_command(reviews_csv, tmp_path / "m"), env=_env(), capture_output=True,
                            text=True, check=True)
    assert "epoch 1/3" not in result.stderr and "\r" not in result.stderr, result.stderr[-500:]
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1", "epoch 2", "epoch 3"]
    after = lines[next(i for i, line in enumerate(lines) if line.startswith("epoch 1:")) + 1]
    assert after.startswith("an epoch takes ") and "3 epochs, about" in after and "left" in after, lines


def test_a_terminal_gets_progress_bars(reviews_csv, tmp_path):
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    proc = subprocess.Popen(_train_command(reviews_csv, tmp_path / "m"), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's last writer closed it
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert proc.wait(timeout=120) == 0
    assert b"epoch 1/3" in shown, shown[-500:]


# ------------------------------------------------------------------------------ a failed start leaves nothing
def test_a_failed_train_removes_the_folders_it_made_and_only_those(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.csv"
    bad.write_text("review,verdict\na fine film,pos\ndull,neg\n", encoding="utf-8")
    out = tmp_path / "new" / "m"
    assert main(["train", "sentiment", "--data", str(bad), "--out", str(out)]) == 1
    assert "expected columns" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    assert main(["train", "sentiment", "--data", str(bad), "--out", str(mine)]) == 1
    assert mine.is_dir()  # made by the user: kept
    monkeypatch.chdir(tmp_path)
    assert main(["train", "sentiment", "--data", str(bad)]) == 1  # the default --out, runs/sentiment-lstm-TIME
    assert not (tmp_path / "runs").exists()


def test_a_failed_fit_leaves_nothing_behind_so_the_corrected_call_runs(tmp_path):
    texts = ["a fine film", "dull", "a joy", "a bore"] * 4
    out = tmp_path / "m"
    with pytest.raises(ValueError, match="epochs"):
        rnnkit.fit(texts, ["pos", "neg"] * 8, out=out, epochs=0)
    with pytest.raises(ValueError):
        rnnkit.fit(texts, ["pos"] * 16, out=out, epochs=1, progress=False, log=lambda _: None)
    assert not out.exists() and not (tmp_path / "m.data").exists()
    metrics = rnnkit.fit(texts, ["pos", "neg"] * 8, out=out, epochs=1, progress=False, embed_dim=8, hidden_size=8,
                         min_freq=1, batch_size=4, log=lambda _: None)
    assert "accuracy" in metrics["test"]
