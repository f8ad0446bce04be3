"""What every route needs at run time: the served models by name, their worker threads, the timeout — one
``Runtime`` per app, handed to the routes as a FastAPI dependency (``runtime``), started and stopped by the
app's lifespan."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request

from rnnkit.serve.batching import Arrivals, ModelWorker
from rnnkit.serve.cancel import networks_of
from rnnkit.serve.errors import ApiError
from rnnkit.serve.registry import ServedModel


class Runtime:
    """The served models and their workers.

    Args:
        models: loaded models with unique names.
        batching: group concurrent predict requests per model (False: one forward pass per request).
        max_batch: most texts in one batched forward pass.
        max_wait: seconds a request may wait for others to share its forward pass.
        timeout: seconds a request may take (a generate stream: in all) before it is answered with 504.
    """

    def __init__(self, models: Sequence[ServedModel], *, batching: bool = True, max_batch: int = 64,
                 max_wait: float = 0.005, timeout: float = 30.0) -> None:
        self.models = list(models)
        self.by_name = {m.name: m for m in self.models}
        if len(self.by_name) != len(self.models):
            raise ValueError("served model names must be unique")
        self.batching = batching
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.timeout = timeout
        self.arrivals = Arrivals("/api/predict")
        self.workers: dict[str, ModelWorker] = {}

    def start(self) -> None:
        """One worker thread per model (inside the server's event loop: the lifespan calls this)."""
        for m in self.models:
            predict = m.predict_many if "predict" in m.endpoints else None
            self.workers[m.name] = ModelWorker(m.name, predict, batching=self.batching, max_batch=self.max_batch,
                                               max_wait=self.max_wait, arriving=lambda: self.arrivals.count,
                                               networks=networks_of(m.predictor))

    def close(self) -> None:
        """Finish the queued jobs and stop the threads (uvicorn has let the in-flight requests finish)."""
        for worker in self.workers.values():
            worker.close()

    def model_for(self, name: str, endpoint: str) -> ServedModel:
        """The served model ``name`` if it offers ``endpoint``; a 404 / 400 that says what is served."""
        served = self.by_name.get(name)
        if served is None:
            raise ApiError(404, f"no model named '{name}'; served: {', '.join(sorted(self.by_name))}")
        if endpoint not in served.endpoints:
            offers = ", ".join(f"/api/{e}" for e in served.endpoints) or "nothing over HTTP"
            raise ApiError(400, f"model '{name}' is a {served.task} model, /api/{endpoint} does not take it; "
                                f"it offers {offers}")
        return served

    async def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the model's worker thread: 504 past the timeout (the work stops), 400 if refused."""
        try:
            return await self.workers[name].call(fn, self.timeout)
        except TimeoutError:
            raise ApiError(504, f"the model took longer than {self.timeout:g} s; send shorter input") from None
        except ValueError as exc:  # the model refused the input
            raise ApiError(400, str(exc).splitlines()[0]) from None

    async def predict(self, name: str, inputs: list[str]) -> list[dict[str, Any]]:
        """One result per input, from a forward pass shared with concurrent requests (dynamic batching)."""
        try:
            return await self.workers[name].predict(inputs, self.timeout)
        except TimeoutError:
            raise ApiError(504, f"the model took longer than {self.timeout:g} s; send fewer texts") from None
        except ValueError as exc:
            raise ApiError(400, str(exc).splitlines()[0]) from None

    def stats(self) -> dict[str, Any]:
        """The batching counters of this server process (``process``: its id; with ``rnnkit serve --workers``
        each process counts its own requests)."""
        return {"batching": self.batching, "process": os.getpid(),
                "models": {name: w.stats() for name, w in self.workers.items()}}


async def runtime(request: Request) -> Runtime:
    """The FastAPI dependency that hands a route the app's ``Runtime`` (``async``: FastAPI runs a plain ``def``
    dependency on its thread pool, a thread hand-off per request)."""
    return request.app.state.runtime
