"""Every bad request gets a 4xx JSON ``{"error": "<one line>"}``; anything unexpected a 500 ``{"error":
"internal error"}`` (the traceback goes to the server's log, never into a response).

``Contained`` is the outermost ASGI middleware: an exception no handler answered becomes that 500 there and
stops, instead of reaching uvicorn, which would drop the keep-alive connection (and with it the client's
next request). ``BodyLimit`` is the ASGI middleware that refuses an oversize body (413) or a JSON body that is not UTF-8
(400) before FastAPI parses it; the exception handlers turn FastAPI's own errors into the same shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("rnnkit.serve")


class ApiError(Exception):
    """A request the server refuses: HTTP ``status`` and a one-line ``message`` that says what to do (``headers``:
    any the status calls for, e.g. a 401's ``WWW-Authenticate``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _field(loc: tuple) -> str:
    """``("body", "inputs", 2)`` -> ``inputs[2]``."""
    name = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def describe_validation(errors: list[dict[str, Any]]) -> tuple[int, str]:
    """The first of pydantic's errors as ``(status, one line)``: bad JSON is 400, a bad field 422."""
    first = errors[0]
    kind = first.get("type", "")
    where = _field(tuple(first.get("loc", ())))
    if kind == "json_invalid":
        reason = first.get("ctx", {}).get("error", "")
        return 400, f"the body is not valid JSON ({reason}): send one JSON object"
    if kind in ("model_attributes_type", "dict_type", "model_type") and where == "body":
        return 400, "the body must be a JSON object sent with Content-Type: application/json"
    if kind == "missing":
        return 422, f"missing field '{where}' (see /docs for this endpoint's schema)"
    if kind == "extra_forbidden":
        return 422, f"unknown field '{where}' (see /docs for this endpoint's schema)"
    if kind == "string_unicode":
        return 422, (f"field '{where}' is not valid Unicode text (a lone surrogate such as \\ud800): send the "
                     "text as UTF-8")
    message = str(first.get("msg", "invalid value")).replace("\n", " ")
    return 422, f"field '{where}': {message} (see /docs for this endpoint's schema)"


def install_handlers(app: FastAPI) -> None:
    """Route every error through ``{"error": ...}``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = describe_validation(list(exc.errors()))
        return error_response(status, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"no endpoint {request.method} {request.url.path}: see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.url.path} does not take {request.method}: see /docs for the API"
        else:
            message = str(exc.detail).replace("\n", " ")
        return error_response(exc.status_code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error")


DRAIN_BYTES = 8_000_000  # an oversize body up to this is read to its end (and dropped) before the 413


async def _drain(receive: Callable, budget: int) -> bool:
    """Read and drop the rest of a body, at most ``budget`` bytes: whether it ended. A client still sending
    when the server answers and closes gets a reset that can swallow the answer; one whose body was read to
    its end gets the 413 and keeps its connection."""
    while budget >= 0:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return budget >= 0
    return False


class BodyLimit:
    """ASGI middleware: read the body (at most ``limit_for(path)`` bytes) before the app sees it.

    A body over the limit is refused with 413 whether or not it declared its length (one of up to
    ``DRAIN_BYTES`` is read to its end and dropped first, so the client sees the answer and keeps its
    connection; a larger one is answered at once and its connection closed); a JSON body that is not valid
    UTF-8 with 400. The body is then handed to the app unchanged.
    """

    def __init__(self, app: Callable, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            message = f"the body has {int(declared):,} bytes; the limit here is {limit:,}"
            drained = int(declared) <= DRAIN_BYTES and await _drain(receive, DRAIN_BYTES)
            await self._refuse(send, 413, message, close=not drained)
            return
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                drained = not message.get("more_body", False) or await _drain(receive, DRAIN_BYTES - size)
                await self._refuse(send, 413, f"the body has more than {limit:,} bytes, the limit here",
                                   close=not drained)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if body and ("json" in content_type or not content_type):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                await self._refuse(send, 400, f"the body is not valid UTF-8 (byte {exc.start}): send JSON encoded "
                                              "as UTF-8", close=False)
                return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Callable, status: int, message: str, *, close: bool = True) -> None:
        """Answer ``status`` with the one-line error; ``close``: the body was not read to its end, so the
        connection cannot carry another request."""
        payload = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class Contained:
    """ASGI middleware: an unexpected exception becomes a 500 ``{"error": "internal error"}`` (logged with its
    traceback) and goes no further, so the connection stays open for the client's next request. An exception
    after the answer has started (a stream) can only end the connection: that one is re-raised."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=exc)
            if started:
                raise
            payload = json.dumps({"error": "internal error"}).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
