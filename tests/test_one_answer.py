"""One answer everywhere (issue 24): the same texts through `rnnkit predict --json`, `rnnkit.load(DIR).predict`,
the HTTP API of a real `rnnkit serve` (uvicorn in a subprocess) and the exported ONNX model run by the README's
recipe (onnxruntime + tokenizers only) give the same labels and probabilities (<= 1e-5), with the same keys on the
first three surfaces; and one text in is one result out, as a Hugging Face pipeline does."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import rnnkit
from rnnkit.cli import main

ROOT = Path(__file__).parent.parent
HOSTILE: list[str] = json.loads((ROOT / "tests" / "fixtures" / "hostile_texts.json").read_text(encoding="utf-8"))
TEXTS = [text for text in HOSTILE if text.strip()]  # the empty and blank ones are refused (tested below)
KEYS = {"text", "tokens", "unknown_tokens", "label", "probability", "probs"}


@pytest.fixture(scope="module")
def model(reviews_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one") / "reviews"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--min-freq", "1", "--epochs", "1",
                 "--no-progress", "--embed-dim", "8", "--hidden-size", "8", "--out", str(out)]) == 0
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    """``rnnkit serve DIR`` on a free port; killed at the end."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(model), "--port", str(port),
                                 "--threads", "1"], stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        proc.kill()
        proc.wait(10)


def _recipe() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- recipe: classify\b[^>]*-->\n```python\n(.*?)\n```", text, re.S)
    assert match is not None
    return match.group(1)


def _cli(model: Path, texts: list[str], capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["predict", str(model), "--json", *texts]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # U+2028 in a text stays escaped


def test_every_surface_gives_the_same_answer(model, server, tmp_path, monkeypatch, capsys):
    python = rnnkit.load(model).predict(TEXTS)
    cli = _cli(model, TEXTS, capsys)
    response = httpx.post(server + "/api/predict", json={"model": "reviews", "inputs": TEXTS}, timeout=60)
    assert response.status_code == 200, response.text
    http = response.json()["results"]
    assert main(["export", str(model), "--out", str(tmp_path / "model.onnx")]) == 0
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme_recipe"}
    exec(compile(_recipe(), "README.md (recipe: classify)", "exec"), namespace)  # noqa: S102 - the test
    onnx = [namespace["classify"](text) for text in TEXTS]
    assert len(python) == len(cli) == len(http) == len(onnx) == len(TEXTS)
    for text, p, c, h, o in zip(TEXTS, python, cli, http, onnx, strict=True):
        assert set(p) == set(c) == set(h) == KEYS, text
        assert p["text"] == h["text"] == text
        assert c["text"] == text.rstrip("\n")  # the CLI reads an argument as a line: without its line end
        assert p["label"] == c["label"] == h["label"] == max(o, key=o.get), text
        assert p["tokens"] == c["tokens"] == h["tokens"] and p["unknown_tokens"] == h["unknown_tokens"]
        for other in (c["probs"], h["probs"], o):
            assert other == pytest.approx(p["probs"], abs=1e-5), text
        assert p["probability"] == pytest.approx(h["probability"], abs=1e-5) == max(p["probs"].values())


def test_one_text_is_one_result(model, server):
    predictor = rnnkit.load(model)
    one = predictor.predict("good")
    assert isinstance(one, dict) and one["text"] == "good" and set(one) == KEYS
    assert predictor.predict(["good"]) == [one]
    assert predictor.predict("a fine film")["text"] == "a fine film"  # not three letters' results
    assert predictor.predict(("good", "bad"))[1]["text"] == "bad"
    assert predictor.trace("good").tokens == predictor.trace(["good"])[0].tokens


@pytest.mark.parametrize("bad, error", [(None, "got NoneType"), (b"good", "got bytes"), ({"text": "good"}, "got dict"),
                                        (["ok", 3], "input 2 is not a text .* int 3")])
def test_what_is_not_a_text_is_a_one_line_type_error(model, bad, error):
    with pytest.raises(TypeError, match=error):
        rnnkit.load(model).predict(bad)


def test_empty_texts_are_refused_alike_in_python_and_over_http(model, server):
    predictor = rnnkit.load(model)
    for blank in ("", "   "):
        with pytest.raises(ValueError, match="input 2 is empty"):
            predictor.predict(["good", blank])
        response = httpx.post(server + "/api/predict", json={"model": "reviews", "inputs": ["good", blank]})
        assert response.status_code == 400 and "is empty" in response.json()["error"]
