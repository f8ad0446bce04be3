"""The training loop: every parameter learns, a killed run resumes exactly, DDP ranks agree on a budget's plan
(two nodes and a killed worker: tests/test_multinode.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.models import build_model
from rnnkit.tasks import run
from rnnkit.tasks.sentiment import SentimentOptions, build_classifier, text_task
from rnnkit.text import EncodedDataset, PadCollator
from rnnkit.train.checkpoint import load_training_state
from rnnkit.train.config import TrainConfig
from rnnkit.train.optim import lr_factor

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("model", ["lstm", "gru-reset-before", "bow"])
def test_one_step_changes_every_parameter(model):
    torch.manual_seed(0)
    opts = SentimentOptions(model=model, embed_dim=8, hidden_size=8)
    net = build_model(build_classifier(opts, vocab_size=20, num_classes=2))
    # unbalanced labels, so that a zero-initialised bias gets a gradient
    data = EncodedDataset([[4, 5, 6], [7, 8], [9, 10, 11, 12], [5]], [1, 1, 1, 0], [0, 1, 2, 3])
    task = text_task({"train": data}, ["neg", "pos"], batch_size=4, seed=0)
    before = {k: v.clone() for k, v in net.named_parameters()}
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    net.train()
    loss, _ = task.loss(net, task.train_batches(0)[0], torch.device("cpu"))
    loss.backward()
    opt.step()
    for name, p in net.named_parameters():
        changed = (p - before[name]).abs()
        if name.startswith("embedding"):  # only the rows of the words in the batch move
            changed = changed[[4, 5, 6, 7, 8, 9, 10, 11, 12]]
        if name == "unigrams.weight":
            changed = changed[4:13]
        assert changed.max() > 0, f"{name} did not change"


def test_lr_schedule_warms_up_then_decays():
    factors = [lr_factor(s, 100, 10, "cosine") for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[99] < 0.01
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))


def test_padded_positions_do_not_change_the_prediction():
    torch.manual_seed(0)
    net = build_model(build_classifier(SentimentOptions(model="gru", embed_dim=8, hidden_size=8), 20, 2)).eval()
    one = PadCollator()([[4, 5, 6]])
    padded = PadCollator()([[4, 5, 6], [7, 8, 9, 10, 11, 12]])
    torch.testing.assert_close(net(one.tokens, one.lengths)[0], net(padded.tokens, padded.lengths)[0])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *args]


TRAIN_FLAGS = ["--cell", "lstm", "--embed-dim", "16", "--hidden-size", "16", "--batch-size", "8", "--epochs", "12",
               "--patience", "0", "--no-progress", "--min-freq", "1"]


def test_killed_run_resumes_to_the_same_weights(reviews_csv, tmp_path):
    """Kill a training process with SIGKILL in the middle of training, resume it, and compare with a run
    that was never interrupted: the weights must be identical."""
    common = ["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
              *TRAIN_FLAGS, "--checkpoint-every-s", "0"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_cli(*common, "--out", str(straight)), check=True, env=_env(), capture_output=True)

    proc = subprocess.Popen(_cli(*common, "--out", str(killed)), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        history = killed / "history.jsonl"
        if history.exists() and len(history.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    counters = load_training_state(killed)["counters"]
    assert not counters["done"], "the run finished before it could be killed; make it longer"

    result = subprocess.run(_cli("train", "sentiment", "--resume", str(killed), "--json"), env=_env(),
                            capture_output=True, text=True, check=True)
    assert "resuming" in result.stdout
    final_a, final_b = load_training_state(straight)["model"], load_training_state(killed)["model"]
    for key in final_a:
        assert torch.equal(final_a[key], final_b[key]), key
    best_a, best_b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    for key in best_a:
        assert torch.equal(best_a[key], best_b[key]), key
    history = [json.loads(line) for line in (killed / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == list(range(1, 13))


def test_resume_refuses_changed_settings(reviews_csv, tmp_path):
    out = tmp_path / "m"
    subprocess.run(_cli("train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col",
                        "label", "--model", "bow", "--epochs", "1", "--no-progress", "--out", str(out)),
                   check=True, env=_env(), capture_output=True)
    result = subprocess.run(_cli("train", "sentiment", "--resume", str(out), "--lr", "0.1"), env=_env(),
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "drop --lr" in result.stderr


def test_a_resume_on_another_number_of_processes_is_refused(reviews_csv, tmp_path):
    """A step's batch is --batch-size × processes: the counters of a 2-process run mean other batches on 1."""
    out = tmp_path / "m"
    opts = SentimentOptions(data=str(reviews_csv), text_col="text", label_col="label", model="bow")
    run.train(opts, TrainConfig(epochs=1, progress=False), out, log=lambda _: None)
    state = load_training_state(out)
    assert state["counters"]["world_size"] == 1
    state["counters"]["world_size"] = 2
    torch.save(state, out / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"trained on 2 process\(es\) and this resume runs on 1; .* resume it on 2"):
        run.resume(out, log=lambda _: None)


def test_ddp_ranks_agree_on_the_epochs_that_fill_a_budget(reviews_csv, tmp_path):
    """--max-minutes without --epochs under torchrun: each rank times its own epoch 1, and all train the
    smallest plan (ranks that planned differently would wait for each other's collectives forever)."""
    out = tmp_path / "ddp-budget"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "rnnkit",
         "train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
         "--model", "bow", "--batch-size", "8", "--max-minutes", "0.05", "--patience", "0", "--no-progress",
         "--out", str(out), "--json"],
        env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["planned_epochs"] >= 1
    assert "planning" in result.stdout
    history = (out / "history.jsonl").read_text().splitlines()
    assert len(history) == metrics["epochs"] <= metrics["planned_epochs"]


def test_train_config_validates():
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="schedule must be"):
        TrainConfig(schedule="step")


def test_new_run_refuses_an_existing_directory(reviews_csv, tmp_path):
    out = tmp_path / "m"
    opts = SentimentOptions(data=str(reviews_csv), text_col="text", label_col="label", model="bow")
    cfg = TrainConfig(epochs=1, progress=False)
    run.train(opts, cfg, out, log=lambda _: None)
    with pytest.raises(ValueError, match="already holds a model; pass --resume"):
        run.train(opts, cfg, out, log=lambda _: None)
