"""Training across machines: two torchrun agents as two "nodes" on localhost (c10d rendezvous, gloo on CPU)
train as one process with their global batch, and a worker killed mid-run is restarted by torchrun and
resumes the run from its last checkpoint to the same weights as a run never interrupted.

Each node is its own ``torchrun --nnodes 2 --nproc_per_node 1`` process, as on two machines; they share
the output directory as a cluster's nodes share a filesystem. The agents run with
TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1, as docs/distributed.md tells: torch 2.13's shared rendezvous store
keeps the previous attempt's addresses, and a restarted group may read them (pytorch/pytorch#135712).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
import torch

from rnnkit.tasks import run
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.train.checkpoint import load_training_state
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import restart_note

SRC = str(Path(__file__).resolve().parents[1] / "src")
NODES = 2
BATCH = 8  # per process: the global batch is NODES × BATCH = 16
EPOCHS = 4
# A tiny GRU without dropout (each rank draws its own dropout noise, so only dropout-free runs can be equal
# to one process's), checkpointed after every step (a kill then loses at most one step): the same settings
# as flags of `rnnkit train sentiment` and as the options and config of rnnkit.tasks.run.train.
MODEL = {"cell": "gru", "embed_dim": 8, "hidden_size": 8, "dropout": 0.0, "embed_dropout": 0.0, "min_freq": 1}
TRAIN = {"epochs": EPOCHS, "patience": 0, "checkpoint_every_s": 0.0}


def _flags(settings: dict) -> list[str]:
    """``{"embed_dim": 8}`` → ``["--embed-dim", "8"]``."""
    flags = []
    for key, value in settings.items():
        flags += [f"--{key.replace('_', '-')}", str(value)]
    return flags


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reviews160(tmp_path_factory, reviews_csv) -> Path:
    """160 reviews: the seeded 80/10/10 split keeps 128 for training, a multiple of the global batch (16),
    so every step's global batch splits into equal halves (rnnkit.text.BucketBatchSampler)."""
    with reviews_csv.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    extra = [[text.replace("(take 0)", "(take 3)"), label] for text, label in body[:160 - len(body)]]
    path = tmp_path_factory.mktemp("multinode") / "reviews160.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body, *extra])
    return path


@contextlib.contextmanager
def _nodes(data: Path, out: Path, run_id: str, *torchrun: str) -> Iterator[list[subprocess.Popen]]:
    """One torchrun agent per node, joined by a c10d rendezvous on a free localhost port, each writing its
    output to ``out``'s sibling ``node<i>.log``; agents still running when the block ends (a test that
    failed) are stopped (torchrun stops its workers on SIGTERM)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(NODES), "--nproc_per_node", "1",
               "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{_free_port()}", "--rdzv_id", run_id,
               *torchrun, "-m", "rnnkit", "train", "sentiment", "--data", str(data), "--text-col", "text",
               "--label-col", "label", "--batch-size", str(BATCH), *_flags(MODEL), *_flags(TRAIN),
               "--no-progress", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(_log(out, node)) for node in range(NODES)]
        agents = [subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
        try:
            yield agents
        finally:
            for agent in agents:
                if agent.poll() is None:
                    agent.terminate()
            for agent in agents:
                agent.wait(timeout=60)


def _log(out: Path, node: int) -> TextIO:
    return (out.parent / f"node{node}.log").open("w", encoding="utf-8")


def _finish(agents: list[subprocess.Popen], out: Path, timeout: float = 300) -> str:
    """Wait for every agent; their output, joined. Fails with the output of an agent that failed."""
    deadline = time.monotonic() + timeout
    for agent in agents:
        agent.wait(timeout=max(1.0, deadline - time.monotonic()))
    outputs = [(out.parent / f"node{node}.log").read_text(encoding="utf-8") for node in range(NODES)]
    for agent, output in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, output[-3000:]
    return "\n".join(outputs)


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory, reviews160) -> Path:
    """A run on two nodes, never interrupted."""
    out = tmp_path_factory.mktemp("two-nodes") / "run"
    with _nodes(reviews160, out, f"rnnkit-test-{uuid.uuid4().hex}") as agents:
        _finish(agents, out)
    return out


def test_two_nodes_train_as_one_process_with_their_global_batch(two_nodes, reviews160, tmp_path):
    """Two nodes with --batch-size 8 each against one process with --batch-size 16: at every step the two
    ranks' halves are that process's batch, and DDP's mean of their mean gradients is its mean gradient,
    so the weights agree to float rounding (the sums differ in order, and gloo's average rounds)."""
    metrics = json.loads((two_nodes / "metrics.json").read_text())
    assert metrics["world_size"] == NODES and metrics["sizes"]["train"] % (NODES * BATCH) == 0
    opts = SentimentOptions(data=str(reviews160), text_col="text", label_col="label", batch_size=NODES * BATCH,
                            **MODEL)
    single = run.train(opts, TrainConfig(**TRAIN, progress=False), tmp_path / "one", log=lambda _: None)
    assert single["steps"] == metrics["steps"] == EPOCHS * metrics["sizes"]["train"] // (NODES * BATCH)
    two, one = load_training_state(two_nodes)["model"], load_training_state(tmp_path / "one")["model"]
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=0, atol=1e-5, msg=name)
    losses = [[json.loads(line)["train_loss"] for line in (d / "history.jsonl").read_text().splitlines()]
              for d in (two_nodes, tmp_path / "one")]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)


def _rank_pid(run_id: str, rank: int) -> int | None:
    """The PID of the worker of torchrun job ``run_id`` with global rank ``rank`` (read from /proc)."""
    wanted = {f"TORCHELASTIC_RUN_ID={run_id}".encode(), f"RANK={rank}".encode()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue  # gone, or not ours
        if wanted <= environ:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the worker to kill through /proc")
def test_a_killed_worker_is_restarted_and_the_run_resumes_to_the_same_weights(two_nodes, reviews160, tmp_path):
    """SIGKILL rank 1 after the first epoch: torchrun (--max-restarts 1) stops the other worker and starts
    both again; the restarted group continues the run in the same directory from its last checkpoint and
    ends on the weights of the run that was never interrupted, bit for bit."""
    out, run_id = tmp_path / "run", f"rnnkit-test-{uuid.uuid4().hex}"
    with _nodes(reviews160, out, run_id, "--max-restarts", "1") as agents:
        victim = None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and all(agent.poll() is None for agent in agents):
            history = out / "history.jsonl"
            if history.exists() and history.read_text().count("\n") >= 1:  # epoch 1 done
                victim = _rank_pid(run_id, 1)
            time.sleep(0.01)
        assert victim is not None, "no worker of rank 1 found to kill"
        os.kill(victim, signal.SIGKILL)
        output = _finish(agents, out)
    resumed = re.search(r"resuming .* \(step (\d+)\)", output)
    assert resumed is not None, output[-3000:]
    total = json.loads((two_nodes / "metrics.json").read_text())["steps"]
    assert 0 < int(resumed.group(1)) < total, "the run ended before the kill; make it longer"
    final = load_training_state(out)
    assert final["counters"]["step"] == total and final["counters"]["done"]
    reference = load_training_state(two_nodes)["model"]
    for name, tensor in reference.items():
        assert torch.equal(final["model"][name], tensor), name
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))


# ------------------------------------------------------------------ the restart's decisions, in one process
def _bow(data: Path) -> SentimentOptions:
    return SentimentOptions(data=str(data), text_col="text", label_col="label", model="bow")


def _torchrun_env(monkeypatch, run_id: str, restart: int) -> None:
    """The environment torchrun gives a single worker (WORLD_SIZE 1: no process group to join)."""
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", run_id)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", str(restart))


def test_a_restarted_worker_continues_its_jobs_run_and_nothing_else(reviews_csv, tmp_path, monkeypatch):
    """A restarted torchrun group (TORCHELASTIC_RESTART_COUNT > 0) continues the run its own job (the same
    --rdzv-id) started in --out; the first attempt, another job, or torchrun's default id "none" (shared by
    every job launched without one) get the usual refusal of a trained folder."""
    cfg = TrainConfig(epochs=1, progress=False)
    out = tmp_path / "m"
    _torchrun_env(monkeypatch, "job-a", 0)
    run.train(_bow(reviews_csv), cfg, out, log=lambda _: None)
    assert json.loads((out / ".rnnkit-run.json").read_text())["torchrun_run_id"] == "job-a"
    with pytest.raises(ValueError, match="already holds a model; pass --resume"):
        run.train(_bow(reviews_csv), cfg, out, log=lambda _: None)  # the first attempt of a new job
    _torchrun_env(monkeypatch, "job-b", 1)
    with pytest.raises(ValueError, match="already holds a model; pass --resume"):
        run.train(_bow(reviews_csv), cfg, out, log=lambda _: None)  # another job's restart
    lines: list[str] = []
    _torchrun_env(monkeypatch, "job-a", 1)
    result = run.train(_bow(reviews_csv), cfg, out, log=lines.append)
    assert any("torchrun restarted the workers (restart 1): continuing" in line for line in lines)
    assert any(line.startswith("resuming") for line in lines)
    assert result["steps"] == load_training_state(out)["counters"]["step"]


def test_a_restart_without_a_job_id_is_not_continued(reviews_csv, tmp_path, monkeypatch):
    cfg = TrainConfig(epochs=1, progress=False)
    out = tmp_path / "m"
    _torchrun_env(monkeypatch, "none", 0)
    run.train(_bow(reviews_csv), cfg, out, log=lambda _: None)
    lines: list[str] = []
    _torchrun_env(monkeypatch, "none", 1)
    with pytest.raises(ValueError, match="already holds a model; pass --resume"):
        run.train(_bow(reviews_csv), cfg, out, log=lines.append)
    assert any("give torchrun --rdzv-id" in line for line in lines)


def test_a_rank_that_does_not_see_the_run_directory_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ValueError, match="rank 1 on .* does not see .*config.json: .* filesystem all machines share"):
        run.resume(tmp_path / "elsewhere", log=lambda _: None)


def test_the_shared_store_note(monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "True")
    monkeypatch.setenv("TORCHELASTIC_MAX_RESTARTS", "2")
    assert "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in (restart_note() or "")
    monkeypatch.setenv("TORCHELASTIC_MAX_RESTARTS", "0")
    assert restart_note() is None
    monkeypatch.setenv("TORCHELASTIC_MAX_RESTARTS", "2")
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "False")  # TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1
    assert restart_note() is None
