"""``rnnkit serve``: trained model directories over HTTP — a JSON API with dynamic batching, and the web page.

    from rnnkit.serve import create_app, load_models
    app = create_app(load_models(["runs/sentiment"]))      # any ASGI server runs it; `serve` runs uvicorn

Needs the ``serve`` extra (``pip install 'rnnkit[serve]'``: fastapi, uvicorn, python-multipart): importing any
module of this package without it is one :class:`~rnnkit.extras.MissingExtraError` that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnnkit.extras import require

require("serve", "rnnkit serve")

from rnnkit.serve.access import KEY_ENV, Access  # noqa: E402
from rnnkit.serve.app import create_app  # noqa: E402 (after the check above)
from rnnkit.serve.lecture import example_dirs  # noqa: E402
from rnnkit.serve.protocol import bind, protocol_options  # noqa: E402
from rnnkit.serve.registry import ServedModel, load_models, unique_names  # noqa: E402

__all__ = ["KEY_ENV", "Access", "ServedModel", "create_app", "load_models", "serve"]


def serve(dirs: Sequence[Path], *, host: str = "127.0.0.1", port: int = 8000, batching: bool = True,
          max_batch: int = 64, max_wait: float = 0.005, timeout: float = 30.0, threads: int | None = None,
          examples: Sequence[Path] = (), allowed_hosts: Sequence[str] | None = None, api_key: str | None = None,
          insecure: bool = False) -> None:
    """Load ``dirs`` and serve them with uvicorn until SIGINT/SIGTERM (in-flight requests finish first);
    ``examples``: folders of ``rnnkit experiment examples`` / ``cloze`` whose models the lecture view runs.

    The access is decided first (a server open to the network without ``allowed_hosts`` or ``api_key`` is
    refused unless ``insecure``), then the models are loaded, then the address is bound: only once it is
    ours is the banner printed and the socket handed to uvicorn, so a bad ``host`` or a port in use is one
    ``OSError`` line and no banner.
    """
    import torch
    import uvicorn

    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    access = Access.decide(host, allowed_hosts, api_key, insecure)
    named, audio = example_dirs(examples)
    models = load_models([*dirs, *(d for _, d in named)], [*unique_names(dirs), *(n for n, _ in named)])
    app = create_app(models, batching=batching, max_batch=max_batch, max_wait=max_wait, timeout=timeout,
                     lecture_audio=audio, access=access)
    sock = bind(host, port)
    names = ", ".join(f"{m.name} ({m.task})" for m in models)
    guard = "an API key" if access.api_key else "no key"
    print(f"rnnkit serve: {names} on http://{host}:{port}/ (API: /docs, batching {'on' if batching else 'off'}, "
          f"hosts: {', '.join(access.allowed_hosts)}, {guard})", flush=True)
    # timeout_graceful_shutdown bounds the wait for in-flight requests (a stream may run up to `timeout`).
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=timeout + 5,
                            **protocol_options())
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()  # bound here, so closed here, whichever way the server ends
