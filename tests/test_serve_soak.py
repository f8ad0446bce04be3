"""A short HTTP soak of `rnnkit serve` (issue 26): concurrent clients on keep-alive connections send good
requests mixed with malformed and oversized ones, then a SIGTERM arrives while requests (a long generate
stream among them) are in flight. No answer may be a 5xx, no good request sent before the SIGTERM may be
lost, the server must exit gracefully, and its memory must stay bounded. CI runs the short version; the
slow one (`-m slow`) runs longer with more clients."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra: pip install 'rnnkit[serve]'")
httpx = pytest.importorskip("httpx")

from serving import Server  # noqa: E402

RAW = {"content-type": "application/json"}
GOOD = [
    ("/api/predict", {"model": "reviews", "inputs": ["A joyous, moving film.", "Dull and far too long."]}),
    ("/api/translate", {"model": "fr-en", "texts": ["Merci !"], "beam": 2}),
    ("/api/next_tokens", {"model": "wiki", "prompt": "The", "k": 3}),
    ("/api/trace", {"model": "reviews", "text": "the film is good"}),
]
BAD = [
    ("/api/trace", b'{"model": "reviews", "text": "\\ud800"}', 422),
    ("/api/predict", b'{"model": ', 400),
    ("/api/predict", b'{"model": "\xff"}', 400),
    ("/api/predict", json.dumps({"model": "nope", "inputs": ["x"]}).encode(), 404),
    ("/api/generate", json.dumps({"model": "wiki", "temperature": 1e-300}).encode(), 422),
    ("/api/predict", b'{"model": "reviews", "inputs": ["' + b"x" * 1_500_000 + b'"]}', 413),
]


async def _client(url: str, seed: int, stop: asyncio.Event, log: list) -> None:
    """Send requests until ``stop``: each logged as (kind, sent_at, status or the exception's name)."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while not stop.is_set():
            sent = time.monotonic()
            if rng.random() < 0.6:
                path, body = rng.choice(GOOD)
                kind, expected = "good", 200
                request = client.post(path, json=body)
            else:
                path, content, expected = rng.choice(BAD)
                kind = "bad"
                request = client.post(path, content=content, headers=RAW)
            try:
                response = await request
                log.append((kind, sent, response.status_code, expected))
            except httpx.HTTPError as exc:
                log.append((kind, sent, type(exc).__name__, expected))


async def _long_stream(url: str, log: list) -> None:
    """A generate stream of 1,000 tokens that is still running when the SIGTERM comes: it must finish."""
    body = {"model": "wiki", "prompt": "The", "length": 1000, "seed": 0}
    sent = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        async with client.stream("POST", "/api/generate", json=body) as response:
            events = [json.loads(line[6:]) async for line in response.aiter_lines() if line.startswith("data: ")]
    done = bool(events) and events[-1].get("done") is True and len(events) == 1001
    log.append(("stream", sent, response.status_code if done else f"cut after {len(events)} events", 200))


def _watch_memory(srv: Server, peak: list[int], stop: threading.Event) -> None:
    while not stop.is_set() and srv.proc.poll() is None:
        try:
            peak[0] = max(peak[0], srv.rss())
        except (OSError, AssertionError):  # the process is exiting
            return
        time.sleep(0.1)


@pytest.mark.parametrize("clients, seconds", [
    pytest.param(6, 3.0, id="short"),
    pytest.param(16, 30.0, id="long", marks=pytest.mark.slow),
])
def test_soak_with_a_sigterm_in_the_middle(serve_models, tmp_path, clients, seconds):
    dirs = [serve_models["sentiment"], serve_models["lm"], serve_models["translate"]]
    srv = Server(dirs, tmp_path / "serve.log")
    try:
        baseline = srv.rss()
        peak = [baseline]
        watching = threading.Event()
        watcher = threading.Thread(target=_watch_memory, args=(srv, peak, watching), daemon=True)
        watcher.start()
        log: list = []

        async def scenario() -> float:
            stop = asyncio.Event()
            tasks = [asyncio.ensure_future(_client(srv.url, seed, stop, log)) for seed in range(clients)]
            await asyncio.sleep(seconds)
            stream = asyncio.ensure_future(_long_stream(srv.url, log))
            await asyncio.sleep(0.3)  # the stream is under way
            stop.set()  # no new request from here on; those in flight go on
            await asyncio.sleep(0.05)
            sigterm_at = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*tasks, stream)
            return sigterm_at

        sigterm_at = asyncio.run(scenario())
        code = srv.proc.wait(60)
        watching.set()
        watcher.join(5)
    finally:
        srv.stop()
    before = [entry for entry in log if entry[1] < sigterm_at]
    assert len(before) > 5 * clients, f"too few requests were made: {len(before)}"
    wrong = [entry for entry in before if entry[2] != entry[3]]
    assert not wrong, f"{len(wrong)} of {len(before)} requests sent before the SIGTERM went wrong: {wrong[:5]}"
    assert not [entry for entry in log if isinstance(entry[2], int) and entry[2] >= 500]
    assert ("stream", 200) in {(kind, status) for kind, _, status, _ in log}
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once the in-flight requests are done
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text and "internal error" not in text
    assert peak[0] - baseline < 400_000_000, f"the server grew from {baseline:,} to {peak[0]:,} bytes"
