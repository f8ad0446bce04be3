"""The server cases of issue 26, tried against `rnnkit serve` of one or two source trees side by side.

    python benchmarks/serve_hostile.py                          # this checkout's src/
    python benchmarks/serve_hostile.py --before ../main/src     # and another tree's, e.g. main before the fix

Tiny models are trained on the test fixtures (as tests/serving.py trains them, plus a character-level BiLSTM
classifier for the trace size); each case runs against a fresh server of each tree in a subprocess on a free
127.0.0.1 port, and its outcome is classed: ``handled`` (the right answer), ``clear error`` (a one-line 4xx
JSON error, or one line and a non-zero exit), or the failure the issue names (``hang``, ``unbounded``,
``traceback/500``, ``reset``, ``security``, ``unclear``). Written to benchmarks/results/serve-hostile-<machine>.json
with the commit of each tree; the machine is shared, so times are rough (they decide only hang vs not).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rnnkit.cli import main as rnnkit  # noqa: E402
from rnnkit.data.readers.reviews import read_rt_snippets  # noqa: E402
from serving import FIXTURES, Server, long_french_text, train_models  # noqa: E402

RAW = {"content-type": "application/json"}
EXT: dict[str, str] = {}  # src tree -> its TORCH_EXTENSIONS_DIR


def _reviews_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for k in range(3):
            for _, ex in read_rt_snippets(FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2"):
                writer.writerow((f"{ex.text} (take {k})", "positive" if ex.label == 1 else "negative"))
    return path


def _models(root: Path) -> dict[str, Path]:
    dirs = train_models(_reviews_csv(root / "reviews.csv"), root)
    dirs["charbi"] = root / "charbi"
    assert rnnkit(["train", "sentiment", "--data", str(root / "reviews.csv"), "--text-col", "text", "--label-col",
                   "label", "--tokenizer", "char", "--bidirectional", "--hidden-size", "256", "--embed-dim", "8",
                   "--epochs", "1", "--min-freq", "1", "--no-progress", "--out", str(dirs["charbi"])]) == 0
    return dirs


def _one_line_4xx(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return 400 <= response.status_code < 500 and set(body) == {"error"} and "\n" not in body["error"]


def _class_of(response: httpx.Response) -> str:
    if response.status_code >= 500:
        return "traceback/500"
    return "clear error" if _one_line_4xx(response) else "unclear"


# ── the cases: each (server, models, env) -> (outcome class, what was seen) ─────────────────────────────────
def translate_timeout(srv: Server) -> tuple[str, str]:
    big = {"model": "fr-en", "texts": [long_french_text(390)] * 64, "beam": 16, "attention": True}
    first = httpx.post(srv.url + "/api/translate", json=big, timeout=120)
    start = time.monotonic()
    small = httpx.post(srv.url + "/api/translate", json={"model": "fr-en", "texts": ["Merci !"], "beam": 1},
                       timeout=120)
    after = time.monotonic() - start
    seen = f"{first.status_code}, then a small request {small.status_code} in {after:.2f} s, RSS {srv.rss() >> 20} MiB"
    return ("handled" if first.status_code == 504 and small.status_code == 200 and after < 1 else "hang"), seen


def surrogate(path: str, body: str) -> Callable[[Server], tuple[str, str]]:
    def case(srv: Server) -> tuple[str, str]:
        response = httpx.post(srv.url + path, content=body.encode(), headers=RAW, timeout=60)
        text = response.text[:160]
        if response.status_code == 200:  # a stream that carries its error in an event: not a 4xx
            return ("unclear" if "error" in text else "handled"), f"200 {text}"
        return _class_of(response), f"{response.status_code} {text}"

    return case


def keep_alive(srv: Server) -> tuple[str, str]:
    """50 requests on one connection, good ones between a model-name surrogate and bad JSON."""
    resets = 0
    fivexx = 0
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        for i in range(50):
            try:
                if i % 2 == 0:
                    response = client.post("/api/predict", json={"model": "reviews", "inputs": ["A fine film."]})
                else:
                    bad = b'{"model": "rev\\ud800", "inputs": ["x"]}' if i % 4 == 1 else b'{"model": '
                    response = client.post("/api/predict", content=bad, headers=RAW)
                fivexx += response.status_code >= 500
            except httpx.TransportError:
                resets += 1
    seen = f"{resets} of 50 requests reset, {fivexx} answered 5xx"
    return ("reset" if resets else "traceback/500" if fivexx else "handled"), seen


def temperature(srv: Server) -> tuple[str, str]:
    response = httpx.post(srv.url + "/api/generate", json={"model": "wiki", "temperature": 1e-300, "length": 3},
                          timeout=60)
    if response.status_code == 200:
        return ("traceback/500" if "internal error" in response.text else "unclear"), response.text[:120]
    return _class_of(response), f"{response.status_code} {response.text[:120]}"


def big_header(srv: Server) -> tuple[str, str]:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    sent = 0
    start = time.monotonic()
    probe_ms: list[float] = []
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        chunk = b"a" * (1 << 20)
        while sent < 128 << 20:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
            if sent % (16 << 20) == 0:
                t = time.monotonic()
                httpx.get(srv.url + "/healthz", timeout=60)
                probe_ms.append((time.monotonic() - t) * 1000)
        try:
            answer = sock.recv(200)
        except OSError:
            answer = b""
    finally:
        sock.close()
    slowest = max(probe_ms, default=0.0)
    seen = (f"{sent >> 20} MiB sent in {time.monotonic() - start:.1f} s, answer {answer[:12]!r}, slowest health "
            f"probe meanwhile {slowest:.0f} ms, RSS {srv.rss() >> 20} MiB")
    if sent >= 128 << 20:
        return ("unbounded" if slowest < 1000 else "hang"), seen
    return "clear error", seen


def trace_size(srv: Server) -> tuple[str, str]:
    text = (long_french_text(2000))
    response = httpx.post(srv.url + "/api/trace", json={"model": "charbi", "text": text}, timeout=120)
    seen = f"{response.status_code}, {len(response.content):,} bytes, RSS {srv.rss() >> 20} MiB"
    if response.status_code == 200:
        return ("unbounded" if len(response.content) > 20_000_000 else "handled"), seen
    return _class_of(response), seen


def transcribe_1hz(srv: Server) -> tuple[str, str]:
    wav = io.BytesIO()
    sf.write(wav, np.zeros(990_000, dtype=np.int16), 1, format="WAV", subtype="PCM_16")
    start = time.monotonic()
    try:
        response = httpx.post(srv.url + "/api/transcribe", params={"model": "asr"},
                              files={"audio": ("a.wav", wav.getvalue(), "audio/wav")}, timeout=120)
    except httpx.TransportError as exc:
        return "hang", f"{type(exc).__name__} after {time.monotonic() - start:.0f} s"
    took = time.monotonic() - start
    seen = f"{response.status_code} in {took:.1f} s: {response.text[:120]}, RSS {srv.rss() >> 20} MiB"
    return _class_of(response), seen


def rebinding(srv: Server) -> tuple[str, str]:
    response = httpx.get(srv.url + "/api/models", headers={"Host": "evil.example"})
    return ("security" if response.status_code == 200 else _class_of(response)), f"Host: evil.example -> " \
                                                                                    f"{response.status_code}"


# ── cases that start the server themselves ──────────────────────────────────────────────────────────────────
def _start(src: Path, args: list[str]) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "TORCH_EXTENSIONS_DIR": EXT[str(src)]}
    try:
        done = subprocess.run([sys.executable, "-m", "rnnkit", "serve", *args], capture_output=True, text=True,
                              timeout=60, env=env)
    except subprocess.TimeoutExpired as exc:  # it is serving: nothing refused it
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return -1, out, ""
    return done.returncode, done.stdout, done.stderr


def _startup_class(code: int, out: str, err: str) -> tuple[str, str]:
    lines = err.strip().splitlines()
    seen = f"exit {code}, banner {'printed' if 'rnnkit serve:' in out else 'not printed'}, {len(lines)} stderr lines"
    if code == 1 and "rnnkit serve:" not in out and len(lines) == 1:
        return "clear error", seen + f": {lines[0][:120]}"
    return "unclear", seen + (f": {lines[-1][:120]}" if lines else "")


def bogus_host(src: Path, model: Path) -> tuple[str, str]:
    extra = ["--insecure"] if "--insecure" in _start(src, ["--help"])[1] else []
    return _startup_class(*_start(src, [str(model), "--host", "bogus.invalid", "--port", "8125", *extra]))


def port_in_use(src: Path, model: Path) -> tuple[str, str]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        return _startup_class(*_start(src, [str(model), "--port", str(taken.getsockname()[1])]))


def open_to_network(src: Path, model: Path) -> tuple[str, str]:
    code, out, err = _start(src, [str(model), "--host", "0.0.0.0", "--port", str(_free_port())])
    if code == -1:
        return "security", "serves anyone on 0.0.0.0 with no Host list and no key"
    return _startup_class(code, out, err)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVED = {
    "translate 64 x 390 chars, beam 16, attention, --timeout 2": (translate_timeout, ["translate"], ["--timeout", "2"]),
    "lone surrogate in /api/trace text": (surrogate("/api/trace", '{"model": "reviews", "text": "a\\ud800"}'),
                                          ["sentiment"], []),
    "lone surrogate in /api/translate texts": (surrogate("/api/translate", '{"model": "fr-en", "texts": ["\\ud800"]}'),
                                               ["translate"], []),
    "lone surrogate in a model name": (surrogate("/api/predict", '{"model": "\\ud800", "inputs": ["x"]}'),
                                       ["sentiment"], []),
    "lone surrogate in a generate prompt": (surrogate("/api/generate", '{"model": "wiki", "prompt": "\\ud800"}'),
                                            ["lm"], []),
    "keep-alive connection after errors (50 requests)": (keep_alive, ["sentiment"], []),
    "generate temperature 1e-300": (temperature, ["lm"], []),
    "a 128 MB header": (big_header, ["sentiment"], []),
    "/api/trace of 2,000 characters, char-level BiLSTM": (trace_size, ["charbi"], []),
    "transcribe a 2 MB WAV whose header says 1 Hz": (transcribe_1hz, ["speech"], []),
    "DNS rebinding (Host: evil.example) on loopback": (rebinding, ["sentiment"], []),
}
STARTUP = {
    "--host bogus.invalid": bogus_host,
    "--port already in use": port_in_use,
    "--host 0.0.0.0 with no allow-list or key": open_to_network,
}


def run_tree(src: Path, models: dict[str, Path], tmp: Path, label: str) -> dict[str, dict[str, str]]:
    results = {}
    # each tree builds its C++ kernel into its own folder, once, before any case is timed
    env = {"PYTHONPATH": str(src), "TORCH_EXTENSIONS_DIR": str(tmp / f"torch-ext-{label}")}
    EXT[str(src)] = env["TORCH_EXTENSIONS_DIR"]
    Server([models["sentiment"]], tmp / "serve.log", env=env, start_timeout=900).stop()
    for name, (case, needs, flags) in SERVED.items():
        srv = Server([models[n] for n in needs], tmp / "serve.log", *flags, env=env, start_timeout=600)
        try:
            outcome, seen = case(srv)
        except Exception as exc:  # noqa: BLE001 - a probe that breaks is an outcome too
            outcome, seen = "unclear", f"the probe failed: {type(exc).__name__}: {exc}"
        finally:
            srv.stop()
        results[name] = {"outcome": outcome, "seen": seen}
        print(f"  {name}: {outcome} ({seen})", flush=True)
    for name, case in STARTUP.items():
        outcome, seen = case(src, models["sentiment"])
        results[name] = {"outcome": outcome, "seen": seen}
        print(f"  {name}: {outcome} ({seen})", flush=True)
    return results


def _commit(src: Path) -> str:
    done = subprocess.run(["git", "-C", str(src), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    return done.stdout.strip()[:100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=None, help="another tree's src/ to run the same cases on")
    parser.add_argument("--after", type=Path, default=ROOT / "src", help="the src/ under test (default: this one)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/"
                                                               "serve-hostile-<machine>.json)")
    args = parser.parse_args()
    from rnnkit.bench.timing import machine_tag, write_results

    trees = {"before": args.before, "after": args.after} if args.before else {"after": args.after}
    records = []
    with tempfile.TemporaryDirectory(prefix="serve-hostile-") as tmp:
        models = _models(Path(tmp))
        for label, src in trees.items():
            print(f"{label}: {_commit(src)}", flush=True)
            for name, result in run_tree(src.resolve(), models, Path(tmp), label).items():
                records.append({"tree": label, "commit": _commit(src), "case": name, **result})
    counts = {label: {} for label in trees}
    for r in records:
        counts[r["tree"]][r["outcome"]] = counts[r["tree"]].get(r["outcome"], 0) + 1
    print(json.dumps(counts))
    out = args.out or ROOT / "benchmarks" / "results" / f"serve-hostile-{machine_tag()}.json"
    write_results(out, records, benchmark="issue 26's server cases against rnnkit serve", counts=counts,
                  note="a shared 2-core machine (other work ran meanwhile): times decide hang or not, nothing finer")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
