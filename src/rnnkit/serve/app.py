"""The HTTP API over trained model directories (FastAPI): the routes, their checks, and the page.

The contract (request and response bodies, error shape) is the one the page is written against; the README's
`rnnkit serve` section documents it with the limits. Every model call runs on that model's worker thread
(``batching.ModelWorker``): predict requests are grouped there into batched forward passes, everything else
runs in arrival order, and the event loop only parses, checks and answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from rnnkit.serve.batching import Arrivals, ModelWorker
from rnnkit.serve.cancel import networks_of
from rnnkit.serve.errors import ApiError, BodyLimit, Contained, install_handlers
from rnnkit.serve.lecture import lecture_router
from rnnkit.serve.registry import ServedModel
from rnnkit.serve.schemas import (
    MAX_BODY_BYTES,
    MAX_NAME_CHARS,
    MAX_WAV_BYTES,
    ErrorResponse,
    GenerateRequest,
    Health,
    ModelsResponse,
    NextTokensRequest,
    NextTokensResponse,
    PredictRequest,
    PredictResponse,
    TraceRequest,
    TraceResponse,
    TranscribeResponse,
    TranslateRequest,
    TranslateResponse,
)

STATIC = Path(__file__).parent / "static"
WAV_FIELD = f"a WAV file of at most {MAX_WAV_BYTES:,} bytes"
UPLOAD_OVERHEAD = 64_000  # multipart boundaries and headers around the WAV file
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (400, 404, 413, 422, 504)}


def check_text(text: str, where: str) -> None:
    """Refuse an empty (whitespace-only) text, naming the field (lengths and counts are the schema's)."""
    if not text.strip():
        raise ApiError(400, f"{where} is empty: give a text with at least one word")


def check_texts(texts: Sequence[str], field: str) -> None:
    """Every text non-empty (the schema holds 1 to ``MAX_INPUTS`` of at most ``MAX_CHARS`` characters)."""
    for i, text in enumerate(texts):
        check_text(text, f"{field}[{i}]")


def create_app(models: Sequence[ServedModel], *, batching: bool = True, max_batch: int = 64, max_wait: float = 0.005,
               timeout: float = 30.0, lecture_audio: Path | None = None) -> FastAPI:
    """The FastAPI application serving ``models`` (fixed here: no request can name a path on disk).

    Args:
        models: loaded models with unique names.
        batching: group concurrent predict requests per model (False: one forward pass per request).
        max_batch: most texts in one batched forward pass.
        max_wait: seconds a request may wait for others to share its forward pass.
        timeout: seconds a request may take (a generate stream: in all) before it is answered with 504.
        lecture_audio: the spoken fox sentence of the lecture view (``rnnkit serve --examples``), if any.
    """
    by_name = {m.name: m for m in models}
    if len(by_name) != len(models):
        raise ValueError("served model names must be unique")
    workers: dict[str, ModelWorker] = {}
    arrivals = Arrivals("/api/predict")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for m in models:
            predict = m.predict_many if "predict" in m.endpoints else None
            workers[m.name] = ModelWorker(m.name, predict, batching=batching, max_batch=max_batch, max_wait=max_wait,
                                          arriving=lambda: arrivals.count, networks=networks_of(m.predictor))
        yield
        for worker in workers.values():  # uvicorn has let the in-flight requests finish
            worker.close()

    app = FastAPI(title="rnnkit serve", lifespan=lifespan,
                  description="Trained rnnkit model directories over HTTP. Errors are {\"error\": \"...\"}.")
    install_handlers(app)

    def model_for(name: str, endpoint: str) -> ServedModel:
        served = by_name.get(name)
        if served is None:
            raise ApiError(404, f"no model named '{name}'; served: {', '.join(sorted(by_name))}")
        if endpoint not in served.endpoints:
            offers = ", ".join(f"/api/{e}" for e in served.endpoints) or "nothing over HTTP"
            raise ApiError(400, f"model '{name}' is a {served.task} model, /api/{endpoint} does not take it; "
                                f"it offers {offers}")
        return served

    async def run(name: str, fn: Any) -> Any:
        try:
            return await workers[name].call(fn, timeout)
        except TimeoutError:
            raise ApiError(504, f"the model took longer than {timeout:g} s; send shorter input") from None
        except ValueError as exc:  # the model refused the input
            raise ApiError(400, str(exc).splitlines()[0]) from None

    @app.get("/healthz", response_model=Health)
    async def healthz() -> dict:
        return {"status": "ok", "models": len(models)}

    @app.get("/api/stats")
    async def stats() -> dict:
        """Per model: forward passes by how many requests each served (the batching at work)."""
        return {"batching": batching, "models": {name: w.stats() for name, w in workers.items()}}

    @app.get("/api/models", response_model=ModelsResponse)
    async def list_models() -> dict:
        return {"models": [m.info() for m in models]}

    @app.post("/api/predict", response_model=PredictResponse, responses=ERRORS)
    async def predict(req: PredictRequest) -> JSONResponse:
        """Labels and probabilities for 1 to 64 texts (sentiment models); concurrent requests share forward passes."""
        model_for(req.model, "predict")
        check_texts(req.inputs, "inputs")
        try:
            results = await workers[req.model].predict(req.inputs, timeout)
        except TimeoutError:
            raise ApiError(504, f"the model took longer than {timeout:g} s; send fewer texts") from None
        except ValueError as exc:
            raise ApiError(400, str(exc).splitlines()[0]) from None
        # Built here rather than re-validated against the response model: the hot path of the benchmark.
        return JSONResponse({"results": results})

    @app.post("/api/trace", response_model=TraceResponse, responses=ERRORS)
    async def trace(req: TraceRequest) -> dict:
        """Gate activations per token, for every layer and direction (and the prediction, for a classifier)."""
        served = model_for(req.model, "trace")
        check_text(req.text, "text")
        return await run(req.model, lambda: served.trace(req.text))

    @app.post("/api/next_tokens", response_model=NextTokensResponse, responses=ERRORS)
    async def next_tokens(req: NextTokensRequest) -> dict:
        """The k most likely next tokens after the prompt, with their probabilities (language models)."""
        served = model_for(req.model, "next_tokens")
        return {"tokens": await run(req.model, lambda: served.next_tokens(req.prompt, req.k))}

    @app.post("/api/translate", response_model=TranslateResponse, responses=ERRORS)
    async def translate(req: TranslateRequest) -> dict:
        """Translations with subword tokens, beam candidates and (on request) the attention matrix."""
        served = model_for(req.model, "translate")
        check_texts(req.texts, "texts")
        return {"results": await run(req.model, lambda: served.translate(req.texts, req.beam, req.attention))}

    @app.post("/api/transcribe", response_model=TranscribeResponse, responses=ERRORS)
    async def transcribe(model: Annotated[str, Query(max_length=MAX_NAME_CHARS, description="a served speech-ctc "
                                                                                             "model")],
                         audio: Annotated[UploadFile, File(description=WAV_FIELD)]) -> dict:
        """The text spoken in an uploaded WAV file (speech-ctc models)."""
        served = model_for(model, "transcribe")
        data = await audio.read(MAX_WAV_BYTES + 1)
        if len(data) > MAX_WAV_BYTES:
            raise ApiError(413, f"the WAV file has more than {MAX_WAV_BYTES:,} bytes, the limit")
        if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise ApiError(400, "audio is not a WAV file (no RIFF/WAVE header): upload a .wav recording")
        return {"text": await run(model, lambda: served.transcribe(data))}

    @app.post("/api/generate", responses={**ERRORS, 200: {"content": {"text/event-stream": {}},
                                                          "description": "one `data: {token, prob}` event per "
                                                                         "token, then `data: {done, text}`"}})
    async def generate(req: GenerateRequest) -> StreamingResponse:
        """Sampled text, streamed token by token as server-sent events (language models)."""
        served = model_for(req.model, "generate")
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()  # set when the stream ends or the client goes away: sampling stops

        def emit(event: dict) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def produce() -> None:  # on the model's thread
            try:
                text = served.generate(req.prompt, req.length, req.temperature, req.top_k, req.seed,
                                       on_token=lambda token, prob: emit({"token": token, "prob": prob}),
                                       stop=stop)
                emit({"done": True, "text": text})
            except ValueError as exc:
                emit({"error": str(exc).splitlines()[0]})
            except Exception:
                emit({"error": "internal error"})
                raise

        _, abandoned = workers[req.model].submit_call(produce)

        async def stream() -> AsyncIterator[str]:
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
                abandoned.set()  # not started yet: it never will

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    app.include_router(lecture_router(models, lecture_audio))  # the lecture view's cards (serve/lecture.py)

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        index = STATIC / "index.html"
        if not index.is_file():
            raise ApiError(404, "the web page is not installed with this rnnkit; the JSON API is at /docs")
        return FileResponse(index)

    def body_limit(path: str) -> int:
        return MAX_WAV_BYTES + UPLOAD_OVERHEAD if path == "/api/transcribe" else MAX_BODY_BYTES

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(arrivals.middleware)  # counts a request from its first byte
    app.add_middleware(Contained)  # outermost: nothing unexpected reaches uvicorn
    return app
