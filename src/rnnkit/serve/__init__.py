"""``rnnkit serve``: trained model directories over HTTP — a JSON API with dynamic batching, and the web page.

    from rnnkit.serve import create_app, load_models
    app = create_app(load_models(["runs/sentiment"]))      # any ASGI server runs it; `serve` runs uvicorn

Needs the ``serve`` extra (``pip install 'rnnkit[serve]'``: fastapi, uvicorn, python-multipart): importing any
module of this package without it is one :class:`~rnnkit.extras.MissingExtraError` that says so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rnnkit.extras import require
from rnnkit.ranges import WORKERS

require("serve", "rnnkit serve")

from rnnkit.serve.access import KEY_ENV, Access  # noqa: E402
from rnnkit.serve.app import create_app  # noqa: E402 (after the check above)
from rnnkit.serve.lecture import example_dirs  # noqa: E402
from rnnkit.serve.processes import AppSettings, run_one, run_workers  # noqa: E402
from rnnkit.serve.protocol import bind  # noqa: E402
from rnnkit.serve.registry import ServedModel, load_models, unique_names  # noqa: E402

__all__ = ["KEY_ENV", "Access", "ServedModel", "create_app", "load_models", "serve"]


def serve(dirs: Sequence[Path], *, host: str = "127.0.0.1", port: int = 8000, batching: bool = True,
          max_batch: int = 64, max_wait: float = 0.005, timeout: float = 30.0, threads: int | None = None,
          examples: Sequence[Path] = (), allowed_hosts: Sequence[str] | None = None, api_key: str | None = None,
          insecure: bool = False, workers: int = 1) -> None:
    """Load ``dirs`` and serve them with uvicorn until SIGINT/SIGTERM (in-flight requests finish first);
    ``examples``: folders of ``rnnkit experiment examples`` / ``cloze`` whose models the lecture view runs;
    ``workers``: server processes on the one socket (:mod:`rnnkit.serve.processes`), each with ``threads``
    torch threads (default: the machine's cores shared among them).

    The access is decided first (a server open to the network without ``allowed_hosts`` or ``api_key`` is
    refused unless ``insecure``), then the models are loaded (with several workers: loaded here to check
    them, then by each worker), then the address is bound: only once it is ours is the banner printed and
    the socket handed to uvicorn, so a bad ``host`` or a port in use is one ``OSError`` line and no banner.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    if not WORKERS[0] <= workers <= WORKERS[1]:
        raise ValueError(f"--workers must be in [{WORKERS[0]}, {WORKERS[1]}], got {workers}")
    if threads is None and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
    access = Access.decide(host, allowed_hosts, api_key, insecure)
    named, audio = example_dirs(examples)
    all_dirs = (*dirs, *(d for _, d in named))
    settings = AppSettings(dirs=tuple(Path(d) for d in all_dirs),
                           names=(*unique_names(dirs), *(n for n, _ in named)), batching=batching,
                           max_batch=max_batch, max_wait=max_wait, timeout=timeout, access=access,
                           lecture_audio=audio, threads=threads)
    models = settings.models()
    summary = ", ".join(f"{m.name} ({m.task})" for m in models)
    if workers > 1:
        models = []  # checked; each worker loads its own copy
    sock = bind(host, port)
    guard = "an API key" if access.api_key else "no key"
    processes = f", {workers} worker processes" if workers > 1 else ""
    print(f"rnnkit serve: {summary} on http://{host}:{port}/ (API: /docs, batching {'on' if batching else 'off'}, "
          f"hosts: {', '.join(access.allowed_hosts)}, {guard}{processes})", flush=True)
    try:
        if workers > 1:
            run_workers(settings, workers, sock)
        else:
            run_one(settings, models, sock)
    finally:
        sock.close()  # bound here, so closed here, whichever way the server ends
