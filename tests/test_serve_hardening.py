"""`rnnkit serve` against hostile clients, over real HTTP (uvicorn in a subprocess): work past its timeout stops,
every malformed text is a 4xx and leaves the connection usable, sizes are bounded at the HTTP layer, binding
fails before the banner, and a server off loopback needs a Host allow-list or a key (issue 26, server part)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra: pip install 'rnnkit[serve]'")
httpx = pytest.importorskip("httpx")

from serving import FIXTURES, Server, error_of, long_french_text  # noqa: E402


def test_a_request_past_its_timeout_stops_and_frees_the_model(serve_models, tmp_path):
    """64 texts of 390 characters, beam 16 with attention: within every documented limit, and minutes of work
    for the model. Past --timeout it gets its 504, and the worker stops at the next decoding step, so the next
    request is answered at once and the server's memory does not grow with the abandoned work."""
    srv = Server([serve_models["translate"]], tmp_path / "serve.log", "--timeout", "1")
    try:
        before = srv.rss()
        big = {"model": "fr-en", "texts": [long_french_text(390)] * 64, "beam": 16, "attention": True}
        assert "longer than 1 s" in error_of(httpx.post(srv.url + "/api/translate", json=big, timeout=60), 504)
        start = time.monotonic()
        small = httpx.post(srv.url + "/api/translate", json={"model": "fr-en", "texts": ["Merci !"], "beam": 1},
                           timeout=60)
        assert small.status_code == 200, small.text
        assert time.monotonic() - start < 1.0
        stats = httpx.get(srv.url + "/api/stats").json()["models"]["fr-en"]
        assert stats["stopped_abandoned"] == 1
        assert srv.rss() - before < 300_000_000  # the abandoned beams' tensors were dropped, not kept growing
    finally:
        srv.stop()


# ── malformed text: a 4xx everywhere, and the connection stays usable ───────────────────────────────────────
SURROGATE = "\\ud800"  # as written inside a JSON string: a lone surrogate, not a character
RAW = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(serve_models, tmp_path_factory):
    srv = Server(list(serve_models.values()), tmp_path_factory.mktemp("log") / "serve.log")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("path, body, field", [
    ("/api/predict", '{"model": "reviews", "inputs": ["fine", "a%sb"]}', "inputs[1]"),
    ("/api/trace", '{"model": "reviews", "text": "%s"}', "text"),
    ("/api/trace", '{"model": "wiki", "text": "the %s"}', "text"),
    ("/api/next_tokens", '{"model": "wiki", "prompt": "%s"}', "prompt"),
    ("/api/generate", '{"model": "wiki", "prompt": "%s", "length": 3}', "prompt"),
    ("/api/translate", '{"model": "fr-en", "texts": ["Merci %s"], "attention": true}', "texts[0]"),
    ("/api/predict", '{"model": "rev%siews", "inputs": ["fine"]}', "model"),
])
def test_a_lone_surrogate_is_a_422_on_every_endpoint(server, path, body, field):
    response = httpx.post(server.url + path, content=body.replace("%s", SURROGATE).encode(), headers=RAW, timeout=30)
    assert f"field '{field}' is not valid Unicode text" in error_of(response, 422)


@pytest.mark.parametrize("field, value", [("temperature", 1e-300), ("temperature", 1e300), ("top_k", 0),
                                          ("top_k", 10**7), ("seed", 2**64), ("length", 0)])
def test_sampling_fields_are_bounded_in_the_schema(server, field, value):
    response = httpx.post(server.url + "/api/generate", json={"model": "wiki", field: value}, timeout=30)
    assert f"field '{field}'" in error_of(response, 422)


def test_sampling_bounds_are_in_the_openapi_schema(server):
    fields = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]["GenerateRequest"]["properties"]
    temperature = fields["temperature"]["anyOf"][0]
    assert temperature["minimum"] == 0.001 and temperature["maximum"] == 100


@pytest.mark.parametrize("rate", [1, 50])
def test_a_wav_longer_than_allowed_by_its_header_is_a_400_before_decoding(server, rate):
    """1.9 MB of float32 samples declared at 1 Hz (or 50 Hz): days (hours) of audio by the header, refused from
    the header before decoding or resampling (the issue: a 63 GB allocation, HTTP 500)."""
    sf = pytest.importorskip("soundfile")
    recording = io.BytesIO()
    sf.write(recording, np.zeros(480_000, dtype=np.float32), rate, format="WAV", subtype="FLOAT")
    started = time.monotonic()
    response = httpx.post(server.url + "/api/transcribe", params={"model": "asr"},
                          files={"audio": ("long.wav", recording.getvalue(), "audio/wav")}, timeout=60)
    assert "seconds" in error_of(response, 400)
    assert time.monotonic() - started < 10


def test_one_keep_alive_connection_carries_good_and_bad_requests(server):
    """50 requests on one client, errors of every kind between good ones: every answer is the expected one
    and none is lost to a reset connection (httpx would raise on a reset)."""
    good = ("/api/predict", {"model": "reviews", "inputs": ["A joyous, moving film."]}, 200)
    bad = [
        ("/api/trace", ('{"model": "reviews", "text": "' + SURROGATE + '"}').encode(), 422),
        ("/api/predict", b'{"model": ', 400),
        ("/api/predict", b'{"model": "\xff"}', 400),
        ("/api/predict", {"model": "nope", "inputs": ["x"]}, 404),
        ("/api/predict", {"model": "reviews", "inputs": "x"}, 422),
        ("/api/generate", {"model": "wiki", "temperature": 1e-300}, 422),
        ("/api/nothing", {}, 404),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(50):
            path, body, status = good if i % 2 == 0 else bad[(i // 2) % len(bad)]
            if isinstance(body, bytes):
                response = client.post(path, content=body, headers=RAW)
            else:
                response = client.post(path, json=body)
            assert response.status_code == status, (i, path, response.text)
            assert response.headers.get("connection") != "close"
    assert "Traceback" not in server.log.read_text()


# ── sizes at the HTTP layer ───────────────────────────────────────────────────────────────────────────────
def _head_refused(port: int, header_bytes: int) -> tuple[bytes, int]:
    """Send a request head with one ``header_bytes`` header, never ending it, until the server answers or
    closes; the answer's first bytes and how many bytes went out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        chunk = b"a" * 65536
        while sent < header_bytes:
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection
                break
            sent += len(chunk)
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
        return answer, sent
    finally:
        sock.close()


def test_an_oversized_header_is_refused_without_stalling_the_server(server):
    answer, _ = _head_refused(server.port, 100_000)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b'"error"' in answer and b"65,536 bytes" in answer
    start = time.monotonic()
    _, sent = _head_refused(server.port, 128_000_000)  # the 128 MB header
    assert sent < 32_000_000  # the connection was closed long before the whole header went out
    assert time.monotonic() - start < 10
    probe = time.monotonic()
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert time.monotonic() - probe < 1.0


def test_a_body_without_a_length_is_cut_at_the_limit(server):
    def chunks():
        yield b'{"model": "reviews", "inputs": ["'
        for _ in range(200):
            yield b"x" * 65536  # 13 MB in all, sent chunked (no Content-Length to refuse up front)

    response = httpx.post(server.url + "/api/predict", content=chunks(), headers=RAW, timeout=30)
    assert "limit" in error_of(response, 413)


def test_a_trace_too_large_to_answer_is_refused(serve_models, tmp_path):
    """A character-level 2-layer GRU with 96 units: 2,000 characters would be 2,000 x 96 x 4 arrays x 2 layers
    = 1.5 M numbers (~15 MB of JSON); the answer is capped at 1 M numbers, a shorter text is answered."""
    from rnnkit.cli import main

    model = tmp_path / "charlm"
    assert main(["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--tokenizer", "char", "--cell",
                 "gru", "--embed-dim", "8", "--hidden-size", "96", "--layers", "2", "--bptt", "32", "--batch-size",
                 "8", "--epochs", "1", "--no-progress", "--out", str(model)]) == 0
    srv = Server([model], tmp_path / "serve.log")
    try:
        text = (FIXTURES / "lm" / "wikitext-2" / "wiki.train.tokens").read_text()
        long_text = (text * 3)[:2000]
        said = error_of(httpx.post(srv.url + "/api/trace", json={"model": "charlm", "text": long_text}, timeout=60),
                        400)
        assert "the limit is 1,000,000: send a shorter text" in said
        short = httpx.post(srv.url + "/api/trace", json={"model": "charlm", "text": long_text[:500]}, timeout=60)
        assert short.status_code == 200 and len(short.json()["tokens"]) == 500
    finally:
        srv.stop()


# ── binding: errors before the banner ───────────────────────────────────────────────────────────────────────
def _serve_exits(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "rnnkit", "serve", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return done.returncode, done.stdout, done.stderr


def test_a_host_that_does_not_resolve_fails_before_the_banner(serve_models):
    code, out, err = _serve_exits([str(serve_models["sentiment"]), "--host", "bogus.invalid", "--port", "8123",
                                   "--insecure"])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--host bogus.invalid: the name does not resolve" in err


def test_a_port_in_use_fails_before_the_banner(serve_models):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = _serve_exits([str(serve_models["sentiment"]), "--port", str(port)])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and f"port {port} on 127.0.0.1 is in use" in err


# ── access: Host allow-list and API key ─────────────────────────────────────────────────────────────────────
def test_a_loopback_server_answers_loopback_host_names_only(server):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends Host: evil.example."""
    said = error_of(httpx.get(server.url + "/api/models", headers={"Host": "evil.example"}), 400)
    assert "answers to the host names localhost, 127.0.0.1, ::1 only" in said
    assert httpx.get(server.url + "/api/models", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_a_network_server_needs_allowed_hosts_or_a_key(serve_models):
    code, out, err = _serve_exits([str(serve_models["sentiment"]), "--host", "0.0.0.0", "--port", "8124"])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--allowed-hosts" in err and "--api-key" in err
    code, _, err = _serve_exits([str(serve_models["sentiment"]), "--api-key", "short"])
    assert code == 1 and "at least 16" in err


KEY = "correct-horse-battery-staple"


def test_the_api_key_guards_the_api_and_a_browser_gets_it_as_a_cookie(serve_models, tmp_path):
    srv = Server([serve_models["sentiment"]], tmp_path / "serve.log", env={"RNNKIT_API_KEY": KEY})
    try:
        assert httpx.get(srv.url + "/healthz").status_code == 200  # probes stay open
        assert httpx.get(srv.url + "/openapi.json").status_code == 200
        body = {"model": "reviews", "inputs": ["A joyous, moving film."]}
        refused = httpx.post(srv.url + "/api/predict", json=body)
        assert "needs its API key" in error_of(refused, 401) and refused.headers["www-authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer " + KEY[:-1] + "x"}
        assert "needs its API key" in error_of(httpx.post(srv.url + "/api/predict", json=body, headers=wrong), 401)
        good = httpx.post(srv.url + "/api/predict", json=body, headers={"Authorization": f"Bearer {KEY}"})
        assert good.status_code == 200, good.text
        with httpx.Client(base_url=srv.url) as browser:
            assert "not this server's API key" in error_of(browser.get("/?key=guess"), 401)
            landing = browser.get(f"/?key={KEY}")
            assert landing.status_code == 303 and landing.headers["location"] == "/"
            cookie = landing.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            assert browser.post("/api/predict", json=body).status_code == 200  # the cookie carries the key
        assert "rnnkit serve: reviews (sentiment)" in srv.log.read_text() and KEY not in srv.log.read_text()
    finally:
        srv.stop()
