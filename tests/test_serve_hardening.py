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
