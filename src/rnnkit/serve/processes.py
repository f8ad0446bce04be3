"""How ``rnnkit serve`` runs: one server process, or ``--workers N`` of them on one listening socket.

One process runs all of its Python — the HTTP parsing, FastAPI and pydantic, the predictor's pre- and
post-processing — under one interpreter lock, so it keeps one core busy however many the machine has
(at 32 clients the process keeps one core busy while the other serves the clients). ``--workers N``
starts N processes that share the socket the parent bound; the kernel hands each new connection to one of
them, and each has its own copy of the models, its own event loop and its own batching worker (so
``/api/stats`` counts the requests of the process that answers it, and names it).

    rnnkit serve (parent): bind ─ banner ─ uvicorn's Multiprocess supervisor
                                              ├─ worker 1: load models, app, event loop, model thread
                                              └─ worker 2: …            (spawned; restarted if one dies)

The supervisor is uvicorn's own (``uvicorn.supervisors.Multiprocess``): it spawns the workers, restarts one
that dies, and on SIGINT/SIGTERM stops them all, each finishing its in-flight requests. A worker builds its
app from :class:`AppSettings` (the model directories, not the models: they are loaded in the worker).

Either way, once the app is built the objects that live as long as the server — imported modules, the
models, the app — are moved out of the cyclic garbage collector's sight (:func:`freeze_heap`). A full
collection walked them all (some hundreds of thousands) every few seconds under load, stalling every
request in flight (``benchmarks/serve_bench.py``: p99 at 32 clients 115 ms before, 36 ms after).
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from rnnkit.serve.access import Access
from rnnkit.serve.app import create_app
from rnnkit.serve.protocol import protocol_options
from rnnkit.serve.registry import ServedModel, load_models


@dataclass(frozen=True)
class AppSettings:
    """What a server process needs to build its app: the models' directories and served names, and the
    options of :func:`~rnnkit.serve.app.create_app`. Picklable (a spawned worker receives it)."""

    dirs: tuple[Path, ...]
    names: tuple[str, ...]
    batching: bool
    max_batch: int
    max_wait: float
    timeout: float
    access: Access
    lecture_audio: Path | None = None
    threads: int | None = None  # torch CPU threads of this process (None: torch's own choice)

    def models(self) -> list[ServedModel]:
        return load_models(list(self.dirs), list(self.names))

    def app(self, models: list[ServedModel] | None = None) -> FastAPI:
        """The app over ``models`` (loaded from ``dirs`` if not given), with the heap frozen after it."""
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        app = create_app(models if models is not None else self.models(), batching=self.batching,
                         max_batch=self.max_batch, max_wait=self.max_wait, timeout=self.timeout,
                         lecture_audio=self.lecture_audio, access=self.access)
        freeze_heap()
        return app


def freeze_heap() -> None:
    """Collect once, then keep every object alive now out of later collections (``gc.freeze``): they live as
    long as the process, and walking them is what made a full collection stall the server."""
    gc.collect()
    gc.freeze()


def config(app: object, timeout: float, *, workers: int = 1) -> uvicorn.Config:
    """uvicorn's settings for ``app`` (an ASGI app, or a picklable app factory with ``workers`` > 1): the
    bounded HTTP protocol, no access log, and a bound on the wait for in-flight requests at shutdown (a
    stream may run up to ``timeout``)."""
    return uvicorn.Config(app, factory=workers > 1, workers=workers, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=timeout + 5, **protocol_options())


def run_one(settings: AppSettings, models: list[ServedModel], sock: socket.socket) -> None:
    """Serve on ``sock`` in this process until SIGINT/SIGTERM."""
    uvicorn.Server(config(settings.app(models), settings.timeout)).run(sockets=[sock])


def run_workers(settings: AppSettings, workers: int, sock: socket.socket) -> None:
    """Serve on ``sock`` from ``workers`` spawned processes under uvicorn's supervisor until SIGINT/SIGTERM; a
    ``RuntimeError`` if they could not start (each says why on stderr)."""
    uv_config = config(WorkerApp(settings), settings.timeout, workers=workers)
    # The supervisor says at INFO when a worker died and was replaced: show its lines (the workers stay quiet).
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    supervisor = Multiprocess(uv_config, sockets=[sock])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise RuntimeError("the server's worker processes could not start (see the lines above)")


@dataclass(frozen=True)
class WorkerApp:
    """The app factory a worker process calls (uvicorn's ``factory``): loads the models and builds the app;
    a model that fails to load ends the worker with uvicorn's start-up failure code, one line on stderr, and
    the supervisor stops instead of restarting it."""

    settings: AppSettings

    def __call__(self) -> FastAPI:
        try:
            return self.settings.app()
        except (OSError, ValueError) as exc:
            print(f"rnnkit serve: error: {str(exc).splitlines()[0]}", file=sys.stderr, flush=True)
            sys.exit(STARTUP_FAILURE)
