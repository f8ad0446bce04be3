"""``rnnkit serve DIR [DIR …]``: the trained models over HTTP (JSON API + the web page), on 127.0.0.1 by default."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnnkit.cli.args import in_range
from rnnkit.extras import require
from rnnkit.ranges import WORKERS


def _serve(args: argparse.Namespace) -> int:
    require("serve", "rnnkit serve")
    from rnnkit.serve import KEY_ENV, serve

    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be in [1, 65535], got {args.port}")
    if args.max_batch < 1:
        raise ValueError(f"--max-batch must be >= 1, got {args.max_batch}")
    if not 0 <= args.max_wait_ms <= 100:
        raise ValueError(f"--max-wait-ms must be in [0, 100], got {args.max_wait_ms}")
    if not args.timeout > 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
    if not args.dirs and not args.examples:
        raise ValueError("give model directories to serve, or --examples with the folder of "
                         "`rnnkit experiment examples` (the page's lecture view)")
    hosts = args.allowed_hosts.split(",") if args.allowed_hosts is not None else None
    api_key = args.api_key if args.api_key is not None else os.environ.get(KEY_ENV) or None
    serve(args.dirs, host=args.host, port=args.port, batching=not args.no_batching, max_batch=args.max_batch,
          max_wait=args.max_wait_ms / 1000, timeout=args.timeout, threads=args.threads, examples=args.examples,
          allowed_hosts=hosts, api_key=api_key, insecure=args.insecure, workers=args.workers)
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("serve", help="serve trained model directories over HTTP: JSON API (/docs) and a web page (/)")
    p.add_argument("dirs", type=Path, nargs="*", metavar="DIR", help="model directories, served under their folder "
                                                                     "names (fixed at start)")
    p.add_argument("--examples", type=Path, nargs="+", default=[], metavar="FOLDER",
                   help="also serve the models of `rnnkit experiment examples --out FOLDER` (and of `experiment "
                        "cloze`): the page's lecture view runs the lecture's examples on them (default: none)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only; "
                                                       "0.0.0.0 exposes the server to the network)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--no-batching", action="store_true", help="run every predict request in its own forward pass "
                                                              "(default: concurrent requests share one)")
    p.add_argument("--max-batch", type=int, default=64, help="most texts in one batched forward pass (default 64)")
    p.add_argument("--max-wait-ms", type=in_range(float, 0.0, 100.0), default=5.0,
                   help="how long a request may wait for others to share "
                                                                  "its forward pass (default 5 ms)")
    p.add_argument("--timeout", type=in_range(float, 0.001), default=30.0,
                   help="seconds a request may take before a 504 "
                                                               "(default 30)")
    p.add_argument("--threads", type=in_range(int, 1), default=None,
                   help="torch CPU threads of each server process (default: torch's own choice; with --workers, the "
                        "cores shared among the workers)")
    p.add_argument("--workers", type=in_range(int, *WORKERS), default=1,
                   help="server processes on the one port, each with its own copy of the models and its own "
                        "batching (default 1; the Python of one process uses one core: use one per core)")
    p.add_argument("--allowed-hosts", default=None, metavar="NAME[,NAME…]",
                   help="the Host names clients may use ('*': any; default on loopback: localhost, 127.0.0.1, ::1, "
                        "which blocks DNS rebinding); needed with --api-key or --insecure off loopback")
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on /api/ (a browser: open "
                                                    "/?key=KEY once); default: the environment variable "
                                                    "RNNKIT_API_KEY, else no key (the variable keeps the key out "
                                                    "of `ps`)")
    p.add_argument("--insecure", action="store_true", help="serve anyone on a non-loopback --host without "
                                                           "--allowed-hosts or a key")
    return {"serve": _serve}
