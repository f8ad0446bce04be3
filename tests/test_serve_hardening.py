"""`rnnkit serve` against hostile clients, over real HTTP (uvicorn in a subprocess): work past its timeout stops,
every malformed text is a 4xx and leaves the connection usable, sizes are bounded at the HTTP layer, binding
fails before the banner, and a server off loopback needs a Host allow-list or a key (issue 26, server part)."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra: pip install 'rnnkit[serve]'")
httpx = pytest.importorskip("httpx")

from serving import FIXTURES, Server, error_of  # noqa: E402


def _long_french_text(chars: int) -> str:
    """Real French sentences of the fixture, one after another, cut at ``chars`` characters."""
    french = [line.split("\t")[1] for line in (FIXTURES / "translation" / "fra.txt").read_text().splitlines()]
    text = ""
    i = 0
    while len(text) < chars:
        text += french[i % len(french)] + " "
        i += 1
    return text[:chars]


def test_a_request_past_its_timeout_stops_and_frees_the_model(serve_models, tmp_path):
    """64 texts of 390 characters, beam 16 with attention: within every documented limit, and minutes of work
    for the model. Past --timeout it gets its 504, and the worker stops at the next decoding step, so the next
    request is answered at once and the server's memory does not grow with the abandoned work."""
    srv = Server([serve_models["translate"]], tmp_path / "serve.log", "--timeout", "1")
    try:
        before = srv.rss()
        big = {"model": "fr-en", "texts": [_long_french_text(390)] * 64, "beam": 16, "attention": True}
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
