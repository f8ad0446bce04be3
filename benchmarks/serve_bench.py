"""Serving throughput and latency of `rnnkit serve`, dynamic batching on vs off (issue 14 §3).

    python benchmarks/serve_bench.py                        # trains the `make train` architecture on the fixture
    python benchmarks/serve_bench.py --model runs/sentiment # a trained sentiment directory
    python benchmarks/serve_bench.py --quick                # seconds: one 1 s window per level (a smoke run)

Two servers run the same code, one with `--no-batching`, each in a subprocess on a free 127.0.0.1 port.
Closed-loop clients (1, 8, 32 of them, each sending its next request when the last is answered) post one
sentiment snippet per request to /api/predict; each level is measured in ``--rounds`` windows of
``--seconds`` (after a warm-up), alternating batching on and off so that a change in the machine's load
hits both alike. The clients speak HTTP/1.1 keep-alive over raw asyncio streams in one process (a thin
client leaves most of the 2 cores to the server). Written to benchmarks/results/serve-<machine>.json:
requests/s (median window), p50/p99 latency over all windows, texts per forward pass (from /api/stats).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "rotten_tomatoes_corpus_full.csv.bz2"
SNIPPETS = [  # Rotten Tomatoes-length snippets (about 20 words, like the fixture's)
    "A gorgeously strange movie, heavy with the sense of a director who knows exactly where he wants to go.",
    "The plot is nothing but a string of clichés, and the actors seem to know it as well as we do.",
    "Funny, touching and smart, this is the rare comedy that earns every one of its big emotional moments.",
    "Two hours of noise and explosions that never add up to a story anyone could care about at all.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_model(out: Path) -> Path:
    """`make train`'s architecture (embedding 128, one LSTM layer of 256, max pooling) on the test fixture."""
    import csv

    from rnnkit.cli import main
    from rnnkit.data.readers.reviews import read_rt_snippets

    data = out.parent / "reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for _, ex in read_rt_snippets(FIXTURE):
            writer.writerow([ex.text, "positive" if ex.label == 1 else "negative"])
    code = main(["train", "sentiment", "--data", str(data), "--text-col", "text", "--label-col", "label",
                 "--epochs", "1", "--min-freq", "1", "--no-progress", "--out", str(out)])
    if code != 0:
        raise SystemExit("training the benchmark model failed")
    return out


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes) -> bytes:
    """One HTTP/1.1 keep-alive POST; returns the response body (raises on a non-200)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    payload = await reader.readexactly(length)
    if b" 200 " not in status_line:
        raise RuntimeError(f"{status_line!r}: {payload[:200]!r}")
    return payload


async def load(port: int, model: str, clients: int, warmup: float, seconds: float) -> list[float]:
    """Closed-loop clients for warmup + seconds; the latencies (s) of requests that started after the warm-up."""
    bodies = [json.dumps({"model": model, "inputs": [s]}).encode() for s in SNIPPETS]
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    latencies: list[float] = []

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = k
        try:
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                await request(reader, writer, "/api/predict", bodies[n % len(bodies)])
                if sent >= measure_from:
                    latencies.append(time.perf_counter() - sent)
                n += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


def get_json(port: int, path: str) -> dict:
    async def fetch() -> dict:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        raw = await reader.read()
        writer.close()
        return json.loads(raw.split(b"\r\n\r\n", 1)[1])

    return asyncio.run(fetch())


def start_server(model_dir: Path, port: int, batching: bool, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    flags = ["--max-wait-ms", str(args.max_wait_ms)] if batching else ["--no-batching"]
    flags += ["--workers", str(args.workers)]
    threads = args.threads
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(model_dir), "--port", str(port),
                                 "--threads", str(threads), *flags], stdout=out, stderr=out,
                                env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            get_json(port, "/healthz")
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start in 120 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def counters(port: int, name: str, workers: int) -> tuple[int, int]:
    """(forward passes, inputs) of the model summed over the server's processes: each new connection's
    /api/stats answers for the process that accepted it, so ask until every worker has answered."""
    seen: dict[int, dict] = {}
    for _ in range(100 * workers):
        stats = get_json(port, "/api/stats")
        seen[stats["process"]] = stats["models"][name]
        if len(seen) == workers:
            break
    else:
        raise SystemExit(f"/api/stats answered from {len(seen)} of {workers} processes")
    return sum(s["forward_passes"] for s in seen.values()), sum(s["inputs"] for s in seen.values())


def measure(port: int, name: str, clients: int, args: argparse.Namespace) -> tuple[list[float], float]:
    """One window: the latencies, and the texts per forward pass (from /api/stats of every process)."""
    passes_before, inputs_before = counters(port, name, args.workers)
    latencies = asyncio.run(load(port, name, clients, args.warmup, args.seconds))
    passes_after, inputs_after = counters(port, name, args.workers)
    return latencies, (inputs_after - inputs_before) / max(passes_after - passes_before, 1)


def run_levels(model_dir: Path, args: argparse.Namespace, tmp: Path) -> list[dict]:
    """Both servers up at once; per level, ``--rounds`` windows alternating on/off, so a change in the machine's
    load hits both modes alike. requests/s is the median over the rounds, p50/p99 over all their requests."""
    servers = {}
    try:
        for batching in (True, False):
            port = free_port()
            servers[batching] = (port, start_server(model_dir, port, batching, args, tmp / f"{batching}.log"))
        name = get_json(servers[True][0], "/api/models")["models"][0]["name"]
        records = []
        for clients in args.clients:
            windows: dict[bool, list] = {True: [], False: []}
            for _ in range(args.rounds):
                for batching, (port, _) in servers.items():
                    windows[batching].append(measure(port, name, clients, args))
            for batching, runs in windows.items():
                latencies = [x for lat, _ in runs for x in lat]
                record = {"batching": batching, "clients": clients, "requests": len(latencies),
                          "requests_per_s": round(statistics.median(len(lat) / args.seconds for lat, _ in runs), 1),
                          "requests_per_s_rounds": [round(len(lat) / args.seconds, 1) for lat, _ in runs],
                          "p50_ms": round(1000 * percentile(latencies, 0.50), 2),
                          "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
                          "mean_ms": round(1000 * statistics.fmean(latencies), 2),
                          "texts_per_forward_pass": round(statistics.fmean(t for _, t in runs), 2),
                          "load_average_1min": round(os.getloadavg()[0], 2)}
                records.append(record)
                print(json.dumps(record), flush=True)
        return records
    finally:
        for _, proc in servers.values():
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def model_only(model_dir: Path, threads: int) -> list[dict]:
    """The predictor alone, in this process (no HTTP): ms per text at batch 1 and 32, best of 5 x 10 calls —
    the most batching can buy."""
    import torch

    import rnnkit

    torch.set_num_threads(threads)
    predictor = rnnkit.load(model_dir)
    rows = []
    for n in (1, 32):
        texts = [SNIPPETS[i % len(SNIPPETS)] for i in range(n)]
        predictor.predict(texts)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(10):
                predictor.predict(texts)
            best = min(best, (time.perf_counter() - start) / 10)
        rows.append({"batch": n, "ms_per_text": round(1000 * best / n, 3)})
    return rows


def portable(options: dict) -> dict:
    """The model's options with a file path given by its name only (results name no folder of this machine)."""
    data = options.get("data")
    if isinstance(data, str) and Path(data).is_absolute():
        return {**options, "data": Path(data).name}
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="a sentiment model directory (default: train one)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per window")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per level and mode, alternating on/off")
    parser.add_argument("--threads", type=int, default=1, help="the server's torch threads (per worker process)")
    parser.add_argument("--workers", type=int, default=1, help="the server's processes (rnnkit serve --workers)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="the batching server's bound on the wait")
    parser.add_argument("--quick", action="store_true", help="1 s per level, no results file")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/"
                                                               "serve-<machine>.json)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 1.0
        args.warmup = 0.5
        args.rounds = 1
    from rnnkit.bench.timing import machine_tag, write_results

    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        model_dir = args.model or train_model(Path(tmp) / "sentiment")
        config = json.loads((model_dir / "config.json").read_text())
        records = run_levels(model_dir, args, Path(tmp))
        alone = model_only(model_dir, args.threads)
    print("the model alone:", alone)
    by = {(r["batching"], r["clients"]): r for r in records}
    top = max(args.clients)
    speedup = by[(True, top)]["requests_per_s"] / max(by[(False, top)]["requests_per_s"], 1e-9)
    alone_per_s = 1000 / alone[-1]["ms_per_text"]  # the model alone at batch 32, texts/s
    share = by[(True, top)]["requests_per_s"] / alone_per_s
    print(f"{top} clients: {share:.0%} of the model alone ({alone_per_s:.0f} texts/s at batch 32)")
    print(f"{top} clients: batching on {by[(True, top)]['requests_per_s']} req/s, p99 {by[(True, top)]['p99_ms']} ms; "
          f"off {by[(False, top)]['requests_per_s']} req/s, p99 {by[(False, top)]['p99_ms']} ms; {speedup:.2f}x")
    if args.quick:
        return
    out = args.out or ROOT / "benchmarks" / "results" / f"serve-{machine_tag()}.json"
    write_results(out, records, benchmark="rnnkit serve /api/predict, one snippet per request, closed-loop clients",
                  model={"options": portable(config.get("options") or {}),
                         "trained_on": "given" if args.model else "test fixture"},
                  server_threads=args.threads, server_workers=args.workers, max_wait_ms=args.max_wait_ms,
                  seconds_per_window=args.seconds,
                  rounds=args.rounds, niceness=os.nice(0), model_alone=alone,
                  speedup_at_max_clients=round(speedup, 2), share_of_model_alone_at_max_clients=round(share, 3),
                  target="batching on, 32 clients: >= 50 % of the model-alone texts/s (batch 32) and p99 <= 50 ms "
                         "(issue 27); >= 3x the requests/s of batching off (issue 14)",
                  note="load_average_1min: the machine's load after the level (other processes shared the 2 cores "
                       "during the run; the client runs on them too)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
