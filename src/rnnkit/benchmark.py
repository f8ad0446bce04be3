"""Side-by-side timing of rnnkit layers against ``torch.nn`` (the anchor users would pick instead).

Every candidate of a comparison is timed in the same process, interleaved repeat by repeat, so a
noisy machine slows all of them alike; ratios are quoted from the same run only.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from rnnkit.nn import CELLS, Recurrent

TORCH_TWIN = {"rnn": "RNN_TANH", "rnn-relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU", "gru-reset-before": "GRU"}


def machine_info() -> dict:
    """What the numbers were measured on: CPU model, cores, threads, torch version, GPU if any."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_tag() -> str:
    """A short tag for result file names: 'cpu2' or the GPU's name."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0).split()[-1].lower().replace(" ", "-")
    return f"cpu{os.cpu_count()}"


def time_interleaved(candidates: dict[str, Callable[[], object]], *, warmup: int = 2, repeats: int = 5,
                     sync: Callable[[], None] | None = None) -> dict[str, dict[str, float]]:
    """Median, min and max seconds per call of each candidate, timed round-robin."""
    sync = sync or (lambda: None)
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts), "repeats": len(ts)}
            for name, ts in times.items()}


def _torch_module(cell: str, E: int, H: int) -> torch.nn.Module:
    mode = TORCH_TWIN[cell]
    if mode.startswith("RNN"):
        return torch.nn.RNN(E, H, nonlinearity=mode[4:].lower())
    return getattr(torch.nn, mode)(E, H)


def bench_layer(cell: str, *, B: int, T: int, E: int, H: int, backward: bool = True, warmup: int = 2,
                repeats: int = 5, device: str = "cpu") -> list[dict]:
    """Time one layer of ``cell`` with every backend it has, next to its ``torch.nn`` twin.

    For the reset-before GRU the twin is ``nn.GRU``: a different function, but the anchor a user who
    wants "a GRU" would pick. Returns one record per candidate with tokens/s and the ratio to torch.nn
    (> 1 means faster than torch.nn)."""
    torch.manual_seed(0)
    x = torch.randn(T, B, E, device=device, requires_grad=backward)
    modules: dict[str, torch.nn.Module] = {"torch.nn": _torch_module(cell, E, H).to(device)}
    for backend in ("reference", "fused"):
        if backend == "fused" and CELLS[cell].fused_mode is None:
            continue
        modules[backend] = Recurrent(cell, E, H, backend=backend).to(device)

    def runner(module: torch.nn.Module) -> Callable[[], object]:
        def run() -> object:
            out, _ = module(x)
            if backward:
                out.sum().backward()
            return out

        if backward:
            return run
        return lambda: torch.no_grad()(run)()

    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    timings = time_interleaved({n: runner(m) for n, m in modules.items()}, warmup=warmup, repeats=repeats,
                               sync=sync)
    anchor = timings["torch.nn"]["median_s"]
    return [{"cell": cell, "backend": name, "B": B, "T": T, "E": E, "H": H,
             "pass": "forward+backward" if backward else "forward", **t,
             "tokens_per_s": B * T / t["median_s"], "speed_vs_torch_nn": anchor / t["median_s"]}
            for name, t in timings.items()]


def write_results(path: Path, records: list[dict], **meta: object) -> Path:
    """Write ``{"machine": …, "records": …}`` as JSON (atomically) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine_info(), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **meta,
               "records": records}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def markdown_table(records: list[dict]) -> str:
    """The records as a markdown table (one row per candidate)."""
    rows = ["| cell | backend | shape (B, T, E, H) | pass | median ms | tokens/s | × torch.nn speed |",
            "|---|---|---|---|---|---|---|"]
    for r in records:
        rows.append(f"| {r['cell']} | {r['backend']} | {r['B']}, {r['T']}, {r['E']}, {r['H']} | {r['pass']} | "
                    f"{r['median_s'] * 1e3:.1f} | {r['tokens_per_s']:,.0f} | {r['speed_vs_torch_nn']:.2f} |")
    return "\n".join(rows)
