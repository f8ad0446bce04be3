"""``POST /api/next_tokens`` and ``/api/generate`` (sampled text streamed as server-sent events)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from rnnkit.serve.routes import ERRORS
from rnnkit.serve.runtime import Runtime, runtime
from rnnkit.serve.schemas import GenerateRequest, NextTokensRequest, NextTokensResponse

router = APIRouter(prefix="/api")
SSE = {200: {"content": {"text/event-stream": {}},
             "description": "one `data: {token, prob}` event per token, then `data: {done, text}`"}}


@router.post("/next_tokens", response_model=NextTokensResponse, responses=ERRORS)
async def next_tokens(req: NextTokensRequest, rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """The k most likely next tokens after the prompt, with their probabilities (language models)."""
    served = rt.model_for(req.model, "next_tokens")
    return {"tokens": await rt.run(req.model, lambda: served.next_tokens(req.prompt, req.k))}


@router.post("/generate", responses={**ERRORS, **SSE})
async def generate(req: GenerateRequest, rt: Annotated[Runtime, Depends(runtime)]) -> StreamingResponse:
    """Sampled text, streamed token by token as server-sent events (language models)."""
    served = rt.model_for(req.model, "generate")
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()  # set when the stream ends or the client goes away: sampling stops

    def emit(event: dict) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    def produce() -> None:  # on the model's thread
        try:
            text = served.generate(req.prompt, req.length, req.temperature, req.top_k, req.seed,
                                   on_token=lambda token, prob: emit({"token": token, "prob": prob}), stop=stop)
            emit({"done": True, "text": text})
        except ValueError as exc:
            emit({"error": str(exc).splitlines()[0]})
        except Exception:
            emit({"error": "internal error"})
            raise

    _, abandoned = rt.workers[req.model].submit_call(produce)
    return StreamingResponse(_stream(events, rt.timeout, stop, abandoned), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


async def _stream(events: asyncio.Queue, timeout: float, stop: threading.Event,
                  abandoned: threading.Event) -> AsyncIterator[str]:
    """The events as ``data:`` lines until done, an error or ``timeout`` seconds in all; then sampling stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            try:
                event = await asyncio.wait_for(events.get(), max(deadline - loop.time(), 0))
            except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
                yield f"data: {json.dumps({'error': f'generation took longer than {timeout:g} s'})}\n\n"
                return
            yield f"data: {json.dumps(event)}\n\n"
            if "done" in event or "error" in event:
                return
    finally:
        stop.set()
        abandoned.set()  # not started yet: it never will; started: it stops at its next step
