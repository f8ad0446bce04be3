"""The run directory: one run at a time (a lock taken before data loading), no writing into a foreign folder,
a stale lock or a run killed before its first checkpoint is never a dead end (issue 19, items 1, 3, 5, 12)."""

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

from rnnkit.cli import main
from rnnkit.train.config import TrainConfig
from rnnkit.train.rundir import LOCK, MARKER

SRC = str(Path(__file__).resolve().parents[1] / "src")
SMALL = ["--cell", "lstm", "--embed-dim", "8", "--hidden-size", "8", "--batch-size", "8", "--patience", "0",
         "--no-progress", "--min-freq", "1"]


def _data(reviews_csv: Path) -> list[str]:
    return ["--data", str(reviews_csv), "--text-col", "text", "--label-col", "label"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        assert proc.poll() is None, "the background run ended before it could be observed"
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_second_run_and_resume_are_refused_while_a_run_is_alive(reviews_csv, tmp_path):
    """Two runs into one --out: the second refuses before loading data (one line, exit 1); --resume of the
    live run refuses too; the first run is unaffected."""
    out = tmp_path / "m"
    first = subprocess.Popen(_cli("train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "200",
                                  "--out", str(out)), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        _wait_for(out / "checkpoint.pt", first)
        config_before = (out / "config.json").read_bytes()
        attempts = [subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for command in (_cli("train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1",
                                         "--model", "bow", "--out", str(out)),
                                    _cli("train", "sentiment", "--resume", str(out)))]
        outputs = [p.communicate(timeout=120) for p in attempts]
        second, resumed = (subprocess.CompletedProcess(p.args, p.returncode, *output)
                           for p, output in zip(attempts, outputs, strict=True))
        assert first.poll() is None, "the first run must still be training"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 1
    assert f"PID {first.pid}" in second.stderr and "in use by a running rnnkit training" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1, second.stderr
    assert "reviews.csv" not in second.stdout  # refused before the data was loaded
    assert resumed.returncode == 1
    assert "--resume continues a run that was stopped" in resumed.stderr
    assert len(resumed.stderr.strip().splitlines()) == 1, resumed.stderr
    assert (out / "config.json").read_bytes() == config_before


def test_stale_lock_of_a_killed_run_is_taken_over(reviews_csv, tmp_path, capsys):
    out = tmp_path / "m"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / LOCK).write_text(f"{dead.stdout.strip()} 2026-01-01T00:00:00\n")  # a PID no longer running
    (out / ".config.json.abc123.tmp").write_text("half a file")
    (out / MARKER).write_text("{}")
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"PID {dead.stdout.strip()}" in printed and "taking its lock over" in printed
    assert "removed 1 half-written file" in printed
    assert not (out / ".config.json.abc123.tmp").exists()
    assert not (out / LOCK).exists()  # released at the end
    assert (out / "model.safetensors").exists()


def test_foreign_folder_and_existing_file_are_refused(reviews_csv, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "model.safetensors").write_bytes(b"not yours")
    (folder / ".draft.tmp").write_text("keep me")
    before = _listing(folder)
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "folder with other files in it" in err and "notes.txt" in err
    assert _listing(folder) == before  # nothing written, nothing removed

    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".draft.tmp").write_text("not a half-written rnnkit file")  # temp-looking, but not ours to clean
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(hidden)]) == 1
    assert ".draft.tmp" in capsys.readouterr().err
    assert _listing(hidden) == {".draft.tmp": b"not a half-written rnnkit file"}

    file = tmp_path / "a-file"
    file.write_text("data")
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(file)]) == 1
    assert "is an existing file, not a folder" in capsys.readouterr().err
    assert file.read_text() == "data"


def test_a_trained_directory_is_refused_for_a_new_run(reviews_csv, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    weights = (out / "model.safetensors").read_bytes()
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(out)]) == 1
    assert f"pass --resume {out}" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == weights


class _Killed(RuntimeError):
    pass


def test_run_stopped_before_its_first_evaluation_resumes_exactly(reviews_csv, tmp_path, monkeypatch, capsys):
    """A run that dies at its first optimizer step has a step-0 checkpoint: --resume continues it and ends
    with the weights of a run that was never interrupted; the kill's temp files are removed."""
    common = ["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "2"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main([*common, "--out", str(straight)]) == 0

    def die(self, *args, **kwargs):
        raise _Killed("killed at the first step")

    with monkeypatch.context() as patch:
        patch.setattr(torch.optim.AdamW, "step", die)
        with pytest.raises(_Killed):
            main([*common, "--out", str(killed)])
    assert (killed / "checkpoint.pt").exists() and not (killed / "model.safetensors").exists()
    assert not (killed / LOCK).exists()
    (killed / ".checkpoint.pt.x1y2.tmp").write_bytes(b"torn")
    capsys.readouterr()
    assert main(["train", "sentiment", "--resume", str(killed)]) == 0
    printed = capsys.readouterr().out
    assert "(step 0)" in printed and "removed 1 half-written file" in printed
    assert not (killed / ".checkpoint.pt.x1y2.tmp").exists()
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def _stop_before_first_checkpoint(out: Path) -> None:
    """What a kill between writing config.json and the step-0 checkpoint leaves."""
    for name in ("checkpoint.pt", "model.safetensors", "history.jsonl", "metrics.json"):
        (out / name).unlink()


def test_run_stopped_before_any_checkpoint_is_not_a_dead_end(reviews_csv, tmp_path, capsys):
    """config.json written, no checkpoint (killed in between): --resume trains it from the start with its
    saved settings, and a new run into the same --out is accepted too."""
    out = tmp_path / "m"
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    first = load_file(str(out / "model.safetensors"))
    _stop_before_first_checkpoint(out)
    capsys.readouterr()
    assert main(["train", "sentiment", "--resume", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "stopped before its first checkpoint; training it from the start" in printed
    again = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(first[k], again[k]) for k in first)  # the same seeded run
    _stop_before_first_checkpoint(out)
    assert main(["train", "sentiment", *_data(reviews_csv), *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    assert "stopped before it trained anything; starting it anew" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["steps"] > 0


def test_library_resume_of_nothing_trained_says_what_to_do(tmp_path):
    from rnnkit.train.rundir import start_resume
    from rnnkit.train.schema import NothingTrainedError

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(NothingTrainedError, match=f"rnnkit train TASK --out {tmp_path}"):
        start_resume(tmp_path, print)
    assert not (tmp_path / LOCK).exists()  # released on the way out


@pytest.mark.parametrize(("flag", "value", "allowed"), [
    ("--clip-norm", "-1", ">= 0 (0: no clipping)"),
    ("--warmup", "-1", "in [0, 1)"),
    ("--warmup", "2", "in [0, 1)"),
    ("--weight-decay", "-1", ">= 0"),
    ("--lr", "nan", "> 0"),
    ("--lr", "inf", "finite"),
    ("--patience", "-1", ">= 0"),
    ("--checkpoint-every-s", "-5", ">= 0"),
    ("--max-minutes", "nan", "> 0"),
])
def test_numeric_options_are_checked_at_parse_time(flag, value, allowed, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "sentiment", "--data", str(tmp_path / "absent.csv"), flag, value, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert flag in err and allowed in err and value in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before the directory (or the data) was touched


def test_clip_norm_zero_still_disables_clipping():
    assert TrainConfig(clip_norm=0.0, warmup=0.0, weight_decay=0.0).clip_norm == 0.0
