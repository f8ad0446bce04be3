"""Helpers of the server tests (tests/test_serve*.py): tiny models trained by the CLI on the fixtures, and
``rnnkit serve`` in a subprocess on a free 127.0.0.1 port, hit over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from rnnkit.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def train_models(reviews_csv: Path, root: Path) -> dict[str, Path]:
    """LSTM sentiment, GRU word language model and translation on the fixtures, and a speech-ctc model on six
    noise recordings (it transcribes nonsense, but the whole path runs)."""
    dirs = {"sentiment": root / "reviews", "lm": root / "wiki", "translate": root / "fr-en", "speech": root / "asr"}
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--cell", "lstm", "--embed-dim", "8", "--hidden-size", "8", "--epochs", "1", "--min-freq", "1",
                 "--no-progress", "--out", str(dirs["sentiment"])]) == 0
    assert main(["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--cell", "gru", "--embed-dim", "8",
                 "--hidden-size", "8", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--min-freq", "1",
                 "--no-progress", "--out", str(dirs["lm"])]) == 0
    assert main(["train", "translate", "--data", str(FIXTURES / "translation" / "fra.txt"), "--epochs", "1",
                 "--embed-dim", "8", "--hidden-size", "8", "--src-bpe", "300", "--tgt-bpe", "300", "--batch-size", "8",
                 "--no-progress", "--out", str(dirs["translate"])]) == 0
    corpus = root / "noise-corpus"
    corpus.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i, (text, split) in enumerate([("ab", "train"), ("ba", "train"), ("abc", "train"), ("ca", "train"),
                                       ("b", "val"), ("a", "test")]):
        sf.write(corpus / f"{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16_000)
        lines.append(json.dumps({"audio": f"{i}.wav", "text": text, "split": split}))
    (corpus / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_CACHE", str(root / "cache"))
        assert main(["train", "speech-ctc", "--data", str(corpus), "--epochs", "1", "--hidden-size", "8", "--layers",
                     "1", "--batch-size", "4", "--no-progress", "--out", str(dirs["speech"])]) == 0
    return dirs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class Server:
    """``rnnkit serve`` in a subprocess; ``stop()`` always ends it. ``headers`` go with the health probe."""

    def __init__(self, dirs: list[Path], log: Path, *flags: str, env: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, start_timeout: float = 90.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", *map(str, dirs), "--port",
                                          str(self.port), "--threads", "1", *flags], stdout=out, stderr=out,
                                         env=full_env)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1, headers=headers).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not start in {start_timeout:g} s: {log.read_text()[-2000:]}")

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def error_of(response: httpx.Response, status: int) -> str:
    """The one-line ``{"error": …}`` of a refused request (asserting its status and shape)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def long_french_text(chars: int) -> str:
    """Real French sentences of the fixture, one after another, cut at ``chars`` characters."""
    french = [line.split("\t")[1] for line in (FIXTURES / "translation" / "fra.txt").read_text().splitlines()]
    text = ""
    i = 0
    while len(text) < chars:
        text += french[i % len(french)] + " "
        i += 1
    return text[:chars]
