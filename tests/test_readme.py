"""The README is a test (issue 24): every ```bash and ```python block of README.md runs as written, in a fresh
`git clone` of the working tree, twice in a row (a second `make train` must work as the first did).

The clone trains on a small fixture through the Makefile's documented knob (`make train TRAIN_ARGS=…`), and
its `.venv` is this test's own environment (found from ``sys.prefix``) with the Makefile's marker files in
place, so `make train`'s setup is a no-op and nothing is installed. The clone's ``src`` comes first on
``PYTHONPATH``, so the clone's code is the code that runs.

A block, or a line of a block, that cannot run here is listed below with the reason; a block that is neither
run nor listed cannot exist: every block not listed is run, and a listed block or line that no longer is in the
README fails the test (the list must follow the README).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.prefix) / "bin"
SMALL = "--embed-dim 8 --hidden-size 8 --batch-size 8 --min-freq 1 --patience 0 --log none"

# Blocks that are not run, keyed by their first line, with the reason.
SKIPPED_BLOCKS = {
    ".venv/bin/pip install -e '.[speech,plot]'   # add extras to the venv `make train` made":
        "installs packages from the network",
    "rnnkit train sentiment [--cell lstm|gru|gru-reset-before|rnn] [--model bow] [--bidirectional] [--layers 2] "
    "[--data pang-lee|file.csv …]":
        "a synopsis (DIR, FILE and [a|b] are placeholders); each command has its own tests",
    "rnnkit train sentiment --train train.csv --test test.jsonl --text-col review --label-col mood --out runs/mine":
        "names the user's own files (train.csv, shop.csv, corpus.de); tests/test_own_data.py runs these commands",
    "rnnkit train --config run.yaml --print-config    # the resolved settings as YAML (--json: JSON); trains nothing":
        "needs run.yaml and runs/gru of other sections; tests/test_config_files.py runs these commands",
    "rnnkit train sentiment --cell lstm --hidden-size 128 --embed-dim 64 --epochs 4 --eval-every 100 --out runs/lstm":
        "two full-size trainings (minutes each) and `tensorboard`, a server that blocks; tests/test_plot.py",
    "for s in 13 14 15 16 17; do rnnkit train sentiment --seed $s --out runs/lstm-$s; done":
        "five full-size trainings (benchmarks/sentiment_ensemble.py runs them)",
    "import json":
        "runs in the folder an ONNX export wrote; tests/test_export_recipe.py runs it there",
    "pip install 'rnnkit[serve]'                      # fastapi, uvicorn, python-multipart, fastapi-offline "
    "(in `dev` too)":
        "installs from the network, then a server that blocks; tests/test_serve.py serves over real HTTP",
    "export RNNKIT_API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe())')":
        "a server that blocks, reached by a host name of the user's; tests/test_serve_hardening.py tests the key",
    "curl -s localhost:8000/api/predict -H 'content-type: application/json' \\":
        "needs the server of the block above; tests/test_serve.py sends these requests",
}
# Lines of run blocks that are not run, with the reason.
SKIPPED_LINES = {
    "make test    # adds the dev extra to .venv, then runs ruff and the test suite":
        "runs the whole test suite, this test included",
    "rnnkit serve --examples runs/examples runs/cloze      # http://127.0.0.1:8000/":
        "a server that blocks; tests/test_page.py serves these folders over real HTTP",
}
# What the README says a user has made before a block, made here small: the command the README names, and the
# one this test runs instead.
GIVEN = {
    "runs/lm-lstm": ("rnnkit train lm --data austen",
                     ["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--embed-dim", "8",
                      "--hidden-size", "8", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--min-freq", "1",
                      "--no-progress", "--log", "none"]),
}


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int

    @property
    def first(self) -> str:
        return self.text.splitlines()[0]


def blocks(markdown: str) -> list[Block]:
    """The ```bash and ```python blocks of ``markdown``, with the line each starts on."""
    found = []
    for match in re.finditer(r"^```(bash|python)\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE):
        found.append(Block(match.group(1), match.group(2), markdown[:match.start()].count("\n") + 1))
    return found


def _runnable(block: Block) -> str:
    """The block's text without the lines listed in SKIPPED_LINES."""
    return "".join(line for line in block.text.splitlines(keepends=True) if line.rstrip("\n") not in SKIPPED_LINES)


def test_every_block_is_run_or_listed_with_a_reason():
    found = blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    firsts = {b.first for b in found}
    lines = {line for b in found for line in b.text.splitlines()}
    assert not set(SKIPPED_BLOCKS) - firsts, "listed blocks the README no longer has"
    assert not set(SKIPPED_LINES) - lines, "listed lines the README no longer has"
    text = "".join(b.text for b in found)
    assert all(command in text for command, _ in GIVEN.values()), "a given command the README no longer names"
    run = [b for b in found if b.first not in SKIPPED_BLOCKS]
    assert any("make train" in b.text for b in run) and any(b.language == "python" for b in run)


def _clone(tmp: Path) -> Path:
    """A fresh clone of this repository with the working tree's changes (committed or not) on top."""
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        target = clone / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif os.path.lexists(target):  # deleted in the working tree
            target.unlink()
    return clone


def _venv(clone: Path) -> None:
    """The clone's `.venv`: this environment's bin/, and the marker files that make `make train`'s setup a no-op
    (made after the clone, so newer than its pyproject.toml)."""
    venv = clone / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to(BIN)
    for marker in (".torch", ".installed-core"):
        (venv / marker).touch()


def _env(clone: Path, train_args: str) -> dict[str, str]:
    """The clone's environment; its own torch extensions folder, since a C++ kernel built from the clone's
    sources would replace the one the other tests built from the working tree's (a rebuild each)."""
    return {**os.environ, "PATH": f"{clone / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(clone / "src"), "TRAIN_ARGS": train_args, "OMP_NUM_THREADS": "1",
            "TORCH_EXTENSIONS_DIR": str(clone.parent / "torch-extensions")}


def _run(block: Block, clone: Path, env: dict[str, str], attempt: int) -> None:
    if block.language == "bash":
        command = ["bash", "-e", "-o", "pipefail", "-c", _runnable(block)]
    else:
        script = clone.parent / f"block-{block.line}.py"
        script.write_text(_runnable(block), encoding="utf-8")
        command = [sys.executable, str(script)]
    start = time.monotonic()
    result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    print(f"README.md line {block.line} ({block.language}), run {attempt}: {time.monotonic() - start:.1f} s")
    assert result.returncode == 0, (f"README.md line {block.line} ({block.language}, run {attempt}) failed with "
                                    f"{result.returncode}:\n{block.text}\n--- stdout\n{result.stdout[-3000:]}\n"
                                    f"--- stderr\n{result.stderr[-3000:]}")


def _readme_twice(tmp: Path, train_args: str) -> Path:
    if shutil.which("git") is None or shutil.which("make") is None or not (BIN / "rnnkit").exists():
        pytest.skip("needs git, make and rnnkit installed in this environment's bin/")
    clone = _clone(tmp)
    _venv(clone)
    env = _env(clone, train_args)
    for path, (_, argv) in GIVEN.items():
        subprocess.run([sys.executable, "-m", "rnnkit", *argv, "--out", path], cwd=clone, env=env, check=True,
                       capture_output=True)
    run = [b for b in blocks((clone / "README.md").read_text(encoding="utf-8")) if b.first not in SKIPPED_BLOCKS]
    for attempt in (1, 2):
        for block in run:
            _run(block, clone, env, attempt)
    return clone


def _check_two_runs(clone: Path) -> None:
    runs = sorted(p.name for p in (clone / "runs").glob("sentiment-lstm-*"))
    assert len(runs) == 2, runs  # each `make train` kept its own run
    assert os.readlink(clone / "runs" / "sentiment-lstm") == runs[-1]


def test_every_readme_block_runs_twice_in_a_fresh_clone(reviews_csv, tmp_path):
    data = f"--data {reviews_csv} --text-col text --label-col label"
    clone = _readme_twice(tmp_path, f"{data} {SMALL} --epochs 1")
    _check_two_runs(clone)


@pytest.mark.slow
def test_the_readme_at_full_size(tmp_path):
    """`make train` as a user runs it (Rotten Tomatoes, every default: minutes on 2 CPU cores), twice."""
    clone = _readme_twice(tmp_path, "")
    _check_two_runs(clone)
