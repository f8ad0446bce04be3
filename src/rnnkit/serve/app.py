"""The HTTP API over trained model directories (FastAPI): the app, assembled from the routers, the page and
the middleware.

The contract (request and response bodies, error shape) is the one the page is written against; the README's
`rnnkit serve` section documents it with the limits. Every model call runs on that model's worker thread
(``batching.ModelWorker``): predict requests are grouped there into batched forward passes, everything else
runs in arrival order, and the event loop only parses, checks and answers.

A request passes, outermost first: ``Contained`` (nothing unexpected reaches uvicorn) → ``AllowedHosts``
(the Host allow-list) → the arrivals counter → ``BodyLimit`` → FastAPI: the router's key check, then the route.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from rnnkit.serve.access import LOOPBACK_NAMES, Access, AllowedHosts, key_check, key_cookie
from rnnkit.serve.errors import ApiError, BodyLimit, Contained, install_handlers
from rnnkit.serve.lecture import lecture_router
from rnnkit.serve.registry import ServedModel
from rnnkit.serve.routes import classify, info, lm, speech, translate
from rnnkit.serve.runtime import Runtime
from rnnkit.serve.schemas import MAX_BODY_BYTES, MAX_WAV_BYTES

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs-assets"  # swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png
API_ROUTERS = (info.router, classify.router, lm.router, translate.router, speech.router)


def create_app(models: Sequence[ServedModel], *, batching: bool = True, max_batch: int = 64, max_wait: float = 0.005,
               timeout: float = 30.0, lecture_audio: Path | None = None, access: Access | None = None) -> FastAPI:
    """The FastAPI application serving ``models`` (fixed here: no request can name a path on disk).

    Args:
        models, batching, max_batch, max_wait, timeout: the served models and how their workers batch and
            time out, as :class:`~rnnkit.serve.runtime.Runtime` takes them.
        lecture_audio: the spoken fox sentence of the lecture view (``rnnkit serve --examples``), if any.
        access: the allowed Host names and the API key (default: loopback names, no key).
    """
    access = access or Access(allowed_hosts=LOOPBACK_NAMES)
    rt = Runtime(models, batching=batching, max_batch=max_batch, max_wait=max_wait, timeout=timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.start()
        yield
        rt.close()

    # /docs and /redoc: Swagger UI and ReDoc from the files fastapi-offline ships, served here (no CDN)
    app = FastAPIOffline(title="rnnkit serve", lifespan=lifespan, static_url=DOCS_ASSETS,
                         description="Trained rnnkit model directories over HTTP. Errors are {\"error\": \"...\"}.")
    app.state.runtime = rt
    install_handlers(app)
    app.include_router(info.health)
    routers = [*API_ROUTERS, lecture_router(models, lecture_audio)]  # the lecture view's cards: serve/lecture.py
    key = [Depends(key_check(access.api_key))] if access.api_key is not None else []  # no key: nothing to check
    for router in routers:
        app.include_router(router, dependencies=key)
    _add_page(app, access)

    def body_limit(path: str) -> int:
        return MAX_WAV_BYTES + speech.UPLOAD_OVERHEAD if path == "/api/transcribe" else MAX_BODY_BYTES

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(rt.arrivals.middleware)  # counts a request from its first byte
    app.add_middleware(AllowedHosts, hosts=access.allowed_hosts)
    app.add_middleware(Contained)  # outermost: nothing unexpected reaches uvicorn
    return app


def _add_page(app: FastAPI, access: Access) -> None:
    """``/``: the web page (``/?key=KEY`` sets the key's cookie for the page's own requests), ``/static``."""
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page(key: str | None = None) -> Response:
        if key is not None:
            return key_cookie(key, access.api_key)
        index = STATIC / "index.html"
        if not index.is_file():
            raise ApiError(404, "the web page is not installed with this rnnkit; the JSON API is at /docs")
        return FileResponse(index)
