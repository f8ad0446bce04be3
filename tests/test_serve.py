"""`rnnkit serve`: the dynamic batcher on its own, then the real server (uvicorn in a subprocess on a free
127.0.0.1 port) hit over real HTTP with good and bad requests, batching counted, and SIGTERM mid-stream."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi", reason="the serve extra: pip install 'rnnkit[serve]'")
httpx = pytest.importorskip("httpx")

from rnnkit.cli import main  # noqa: E402
from rnnkit.serve.batching import ModelWorker  # noqa: E402
from serving import Server, error_of  # noqa: E402


# ── the batcher, without HTTP ──────────────────────────────────────────────────────────────────────────────
def _echo_worker(**kwargs) -> tuple[ModelWorker, list[int]]:
    passes: list[int] = []

    def predict_many(texts: list[str]) -> list[dict]:
        passes.append(len(texts))
        for i, text in enumerate(texts):
            if text == "bad":
                raise ValueError(f"input {i + 1} is bad")
        return [{"echo": text} for text in texts]

    return ModelWorker("m", predict_many, **kwargs), passes


async def _queued_together(worker: ModelWorker, requests: list[list[str]]) -> list:
    """Submit ``requests`` while the worker is busy with another call, so all of them are queued when it
    takes the first (deterministic grouping); results or exceptions in order."""
    release = threading.Event()
    busy = asyncio.ensure_future(worker.call(lambda: release.wait(10)))
    await asyncio.sleep(0.05)
    jobs = [asyncio.ensure_future(worker.predict(x)) for x in requests]
    await asyncio.sleep(0.05)
    release.set()
    await busy
    return await asyncio.gather(*jobs, return_exceptions=True)


def _run(worker: ModelWorker, requests: list[list[str]]) -> list:
    try:
        return asyncio.run(_queued_together(worker, requests))
    finally:
        worker.close()


def test_concurrent_predicts_share_one_forward_pass_and_come_back_in_order():
    worker, passes = _echo_worker(batching=True, max_batch=64, max_wait=0.005)
    inputs = [[f"r{r}-{i}" for i in range(r % 3 + 1)] for r in range(10)]
    results = _run(worker, inputs)
    assert [[r["echo"] for r in res] for res in results] == inputs
    assert passes == [sum(map(len, inputs))]  # all 10 requests in one pass
    stats = worker.stats()
    assert stats["forward_passes"] == 1 and stats["largest_group"] == 10 and stats["predict_requests"] == 10


def test_max_batch_bounds_a_pass_and_no_batching_runs_each_alone():
    requests = [[f"t{i}", f"u{i}"] for i in range(6)]
    worker, passes = _echo_worker(batching=True, max_batch=4)
    _run(worker, requests)
    assert passes == [4, 4, 4]
    worker, passes = _echo_worker(batching=False)
    _run(worker, requests)
    assert passes == [2] * 6


def test_a_lone_request_does_not_wait_for_company():
    async def one(worker: ModelWorker) -> float:
        start = time.perf_counter()
        await worker.predict(["alone"])
        return time.perf_counter() - start

    worker, _ = _echo_worker(batching=True, max_wait=1.0)
    try:
        assert asyncio.run(one(worker)) < 0.5  # the 1 s wait is only spent when others are queued or arriving
    finally:
        worker.close()


def test_a_bad_request_fails_alone_when_grouped():
    worker, passes = _echo_worker(batching=True)
    good, bad, other = _run(worker, [["ok"], ["fine", "bad"], ["good"]])
    assert passes[0] == 4  # tried together first
    assert good == [{"echo": "ok"}] and other == [{"echo": "good"}]
    assert isinstance(bad, ValueError) and "input 2 is bad" in str(bad)  # positions are the request's own


def test_timeout_and_calls_run_on_the_model_thread():
    async def scenario():
        worker = ModelWorker("slow", lambda texts: time.sleep(0.5) or [{} for _ in texts], max_wait=0)
        try:
            with pytest.raises(TimeoutError):
                await worker.predict(["x"], timeout=0.05)
            return await worker.call(lambda: threading.current_thread().name)
        finally:
            worker.close()

    assert asyncio.run(scenario()) == "rnnkit-serve-slow"


def test_an_abandoned_call_stops_at_the_next_step_of_its_network():
    """The worker's hooks on the network's submodules end a job whose request timed out between two steps;
    the next job runs at once, and a job that was never abandoned runs to its end."""
    import torch

    network = torch.nn.Sequential(torch.nn.Linear(4, 4))
    steps: list[int] = []

    def long_loop(n: int) -> int:
        for i in range(n):
            network(torch.zeros(1, 4))  # one step: the hook looks at the abandon flags first
            steps.append(i)
            time.sleep(0.01)
        return n

    async def scenario() -> tuple[int, float, dict]:
        worker = ModelWorker("m", None, networks=[network])
        try:
            with pytest.raises(TimeoutError):
                await worker.call(lambda: long_loop(1000), timeout=0.1)
            start = time.perf_counter()
            finished = await worker.call(lambda: long_loop(3), timeout=5)
            return finished, time.perf_counter() - start, worker.stats()
        finally:
            worker.close()

    finished, waited, stats = asyncio.run(scenario())
    assert finished == 3 and waited < 0.5  # not behind the rest of the 1,000 steps (10 s)
    assert stats["stopped_abandoned"] == 1 and stats["other_calls"] == 1
    assert len(steps) < 100


def test_cli_names_the_extra_when_fastapi_is_missing(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    assert main(["serve", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'rnnkit[serve]'" in err


def test_cli_refuses_a_directory_that_holds_no_model(capsys, tmp_path):
    assert main(["serve", str(tmp_path), "--port", "9"]) == 1  # fails while loading, before binding anything
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not an rnnkit model directory" in err


# ── the real server ────────────────────────────────────────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def model_dirs(serve_models) -> dict[str, Path]:
    return serve_models


@pytest.fixture(scope="module")
def server(model_dirs, tmp_path_factory):
    srv = Server(list(model_dirs.values()), tmp_path_factory.mktemp("log") / "serve.log",
                 "--max-wait-ms", "50")
    try:
        yield srv
    finally:
        srv.stop()


def _post(server: Server, path: str, body: object) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30)


_error = error_of


def test_health_models_and_openapi(server):
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok", "models": 4}
    assert f"on http://127.0.0.1:{server.port}/" in server.log.read_text()  # the default host: this machine only
    models = {m["name"]: m for m in httpx.get(server.url + "/api/models").json()["models"]}
    assert models["reviews"]["task"] == "sentiment" and models["reviews"]["labels"] == ["negative", "positive"]
    assert models["reviews"]["cell"] == "lstm" and models["wiki"]["cell"] == "gru"
    assert set(models["wiki"]["endpoints"]) == {"generate", "next_tokens", "trace"}
    schema = httpx.get(server.url + "/openapi.json").json()
    assert {"/api/predict", "/api/trace", "/api/generate", "/api/translate", "/api/transcribe"} <= set(schema["paths"])
    assert "inputs" in schema["components"]["schemas"]["PredictRequest"]["properties"]


def test_predict(server):
    response = _post(server, "/api/predict", {"model": "reviews", "inputs": ["A joyous, moving film.", "qwertyuiop"]})
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["label"] in ("negative", "positive") and abs(sum(first["probs"].values()) - 1) < 1e-5
    assert first["probs"][first["label"]] == max(first["probs"].values())
    assert second["unknown_tokens"] == 1


@pytest.mark.parametrize("body, status, says", [
    ({"model": "nope", "inputs": ["x"]}, 404, "no model named 'nope'; served: asr, fr-en, reviews, wiki"),
    ({"model": "wiki", "inputs": ["x"]}, 400, "is a lm model"),
    ({"model": "reviews", "inputs": []}, 422, "field 'inputs': List should have at least 1 item"),
    ({"model": "reviews", "inputs": ["fine", "  "]}, 400, "inputs[1] is empty"),
    ({"model": "reviews", "inputs": ["x"] * 65}, 422, "at most 64 items"),
    ({"model": "reviews", "inputs": ["x" * 2001]}, 422, "field 'inputs[0]': String should have at most 2000"),
    ({"model": "reviews", "inputs": "just one"}, 422, "field 'inputs'"),
    ({"model": "reviews", "inputs": [1, 2]}, 422, "field 'inputs[0]'"),
    ({"model": "reviews"}, 422, "missing field 'inputs'"),
    ({"model": "reviews", "inputs": ["x"], "extra": 1}, 422, "unknown field 'extra'"),
    (["not", "an", "object"], 400, "must be a JSON object"),
])
def test_predict_refuses_bad_requests_with_one_line(server, body, status, says):
    assert says in _error(_post(server, "/api/predict", body), status)


def test_malformed_bodies_routes_and_methods(server):
    post = httpx.post
    raw = {"headers": {"content-type": "application/json"}, "timeout": 30}
    assert "not valid JSON" in _error(post(server.url + "/api/predict", content=b'{"model": ', **raw), 400)
    assert "not valid UTF-8" in _error(post(server.url + "/api/predict", content=b'{"model": "\xff"}', **raw), 400)
    big = b'{"model": "reviews", "inputs": ["' + b"x" * 1_000_001 + b'"]}'
    assert "limit" in _error(post(server.url + "/api/predict", content=big, **raw), 413)
    assert "no endpoint GET /api/nothing" in _error(httpx.get(server.url + "/api/nothing"), 404)
    assert "does not take GET" in _error(httpx.get(server.url + "/api/predict"), 405)


def test_batching_groups_concurrent_requests(server):
    before = httpx.get(server.url + "/api/stats").json()["models"]["reviews"]

    async def burst():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            requests = [client.post("/api/predict", json={"model": "reviews", "inputs": [f"good film number {i}"]})
                        for i in range(16)]
            return await asyncio.gather(*requests)

    responses = asyncio.run(burst())
    assert all(r.status_code == 200 for r in responses)
    after = httpx.get(server.url + "/api/stats").json()["models"]["reviews"]
    assert after["predict_requests"] - before["predict_requests"] == 16
    assert after["forward_passes"] - before["forward_passes"] < 16  # some requests shared a pass
    assert after["largest_group"] >= 2


def test_trace(server):
    for name in ("reviews", "wiki"):
        response = _post(server, "/api/trace", {"model": name, "text": "the film is good"})
        assert response.status_code == 200, response.text
        trace = response.json()
        steps = len(trace["tokens"])
        assert steps >= 4
        layer = trace["layers"][0]
        assert len(layer["h"]) == steps and len(layer["h_norm"]) == steps
        assert all(len(values) == steps for values in layer["gate_means"].values())
    assert trace["prediction"] is None and trace["cell"] == "gru" and {"r", "z"} <= set(layer["gates"])
    assert "text is empty" in _error(_post(server, "/api/trace", {"model": "reviews", "text": ""}), 400)


def test_next_tokens_and_generate_stream(server):
    response = _post(server, "/api/next_tokens", {"model": "wiki", "prompt": "The", "k": 5})
    assert response.status_code == 200, response.text
    tokens = response.json()["tokens"]
    assert len(tokens) == 5 and all(0 <= t["prob"] <= 1 for t in tokens)
    assert [t["prob"] for t in tokens] == sorted((t["prob"] for t in tokens), reverse=True)
    assert "field 'k'" in _error(_post(server, "/api/next_tokens", {"model": "wiki", "prompt": "a", "k": 0}), 422)
    assert "is a sentiment model" in _error(_post(server, "/api/next_tokens", {"model": "reviews", "prompt": "a"}), 400)

    body = {"model": "wiki", "prompt": "The", "length": 12, "seed": 3}
    with httpx.stream("POST", server.url + "/api/generate", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in response.iter_lines() if line.startswith("data: ")]
    *tokens, last = events
    assert len(tokens) == 12 and all(0 < t["prob"] <= 1 for t in tokens)
    assert last["done"] is True and last["text"].startswith("The")
    again = _post(server, "/api/generate", body).text
    assert json.loads(again.strip().splitlines()[-1][len("data: "):])["text"] == last["text"]  # seeded
    assert "field 'temperature'" in _error(_post(server, "/api/generate", {"model": "wiki", "temperature": 0}), 422)
    assert "field 'length'" in _error(_post(server, "/api/generate", {"model": "wiki", "length": 10**6}), 422)
    assert "field 'seed'" in _error(_post(server, "/api/generate", {"model": "wiki", "seed": -1}), 422)
    assert "field 'top_k'" in _error(_post(server, "/api/generate", {"model": "wiki", "top_k": "5"}), 422)


def test_translate(server):
    body = {"model": "fr-en", "texts": ["Je suis content.", "Merci !"], "beam": 3, "attention": True}
    response = _post(server, "/api/translate", body)
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        attention = result["attention"]
        assert len(attention) == len(result["target_tokens"])
        assert all(len(row) == len(result["source_tokens"]) and abs(sum(row) - 1) < 1e-3 for row in attention)
        scores = [c["score"] for c in result["candidates"]]
        assert result["candidates"][0]["text"] == result["translation"]
        assert 1 <= len(scores) <= 3 and scores == sorted(scores, reverse=True)  # the beam's finished, best first
    plain = _post(server, "/api/translate", {"model": "fr-en", "texts": ["Merci !"], "beam": 1}).json()
    assert plain["results"][0]["attention"] is None
    assert "field 'beam'" in _error(_post(server, "/api/translate", {**body, "beam": 0}), 422)
    assert "texts[1] is empty" in _error(_post(server, "/api/translate", {**body, "texts": ["a", ""]}), 400)


def test_transcribe_refuses_other_tasks_and_bad_audio(server):
    assert "is a sentiment model" in _error(_post(server, "/api/translate", {"model": "reviews", "texts": ["hi"]}), 400)
    url = server.url + "/api/transcribe"
    recording = io.BytesIO()
    sf.write(recording, np.zeros((8000, 2), dtype=np.float32), 8_000, format="WAV")  # stereo, another rate
    response = httpx.post(url, params={"model": "asr"}, files={"audio": ("a.wav", recording.getvalue(), "audio/wav")})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"text"} and isinstance(response.json()["text"], str)
    broken = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40)
    said = _error(httpx.post(url, params={"model": "asr"}, files={"audio": ("a.wav", broken, "audio/wav")}), 400)
    assert "the uploaded audio is not a readable WAV file" in said and "/tmp" not in said
    wav = {"audio": ("a.wav", b"RIFF\x00\x00\x00\x00WAVE" + bytes(64), "audio/wav")}
    assert "is a sentiment model" in _error(httpx.post(url, params={"model": "reviews"}, files=wav), 400)
    assert "no model named" in _error(httpx.post(url, params={"model": "x"}, files=wav), 404)
    assert "missing field 'audio'" in _error(httpx.post(url, params={"model": "reviews"}), 422)
    assert "limit" in _error(httpx.post(url, params={"model": "reviews"},
                                        files={"audio": ("a.wav", bytes(2_100_000), "audio/wav")}), 413)


def test_sigterm_lets_the_in_flight_stream_finish(model_dirs, tmp_path):
    srv = Server([model_dirs["lm"]], tmp_path / "serve.log")
    try:
        body = {"model": "wiki", "prompt": "The", "length": 1000, "seed": 0}
        with httpx.stream("POST", srv.url + "/api/generate", json=body, timeout=60) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            srv.proc.send_signal(signal.SIGTERM)  # mid-stream: uvicorn stops accepting, lets this one finish
            rest = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
        assert "token" in json.loads(first[len("data: "):])
        assert rest[-1].get("done") is True and len(rest) == 1000  # 999 more tokens + the final event
        # uvicorn exits by re-raising the signal it caught, once the in-flight requests are done
        assert srv.proc.wait(30) in (0, -signal.SIGTERM)
        assert "Traceback" not in srv.log.read_text()
    finally:
        srv.stop()


def test_workers_share_one_port(model_dirs, tmp_path):
    """``--workers 2``: two processes answer on the one port, with the same answers; a worker killed is reported
    and replaced; SIGTERM to the parent stops them all (each finishing what it holds) and leaves no process."""
    srv = Server([model_dirs["sentiment"]], tmp_path / "serve.log", "--workers", "2")
    try:
        assert "2 worker processes" in srv.log.read_text()
        seen: dict[int, dict] = {}
        for _ in range(200):  # a new connection per request: the kernel hands each to one of the processes
            with httpx.Client(base_url=srv.url, timeout=30) as client:
                answer = client.post("/api/predict", json={"model": "reviews", "inputs": ["A joyous film."]})
                assert answer.status_code == 200, answer.text
                seen[client.get("/api/stats").json()["process"]] = answer.json()["results"][0]
            if len(seen) == 2:
                break
        assert len(seen) == 2, "one process answered every connection"
        first, second = seen.values()
        assert first["label"] == second["label"] and abs(first["probability"] - second["probability"]) < 1e-6
        killed = next(iter(seen))
        os.kill(killed, signal.SIGKILL)  # a worker dies: the supervisor says so and starts another
        deadline = time.monotonic() + 120
        while "died" not in srv.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert f"Child process [{killed}] died" in srv.log.read_text()
        replacement = None
        while replacement is None and time.monotonic() < deadline:
            pid = httpx.get(srv.url + "/api/stats", timeout=30).json()["process"]
            replacement = pid if pid not in seen else None
        assert replacement is not None, "no new worker answered"
        seen[replacement] = {}
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(60) in (0, -signal.SIGTERM)
        assert not any(Path(f"/proc/{pid}").exists() for pid in seen), "a worker outlived the server"
        assert "Traceback" not in srv.log.read_text()
    finally:
        srv.stop()


def test_workers_out_of_range_is_one_line(capsys):
    from rnnkit.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "x", "--workers", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--workers" in err[0], err
