"""Timing infrastructure: interleaved side-by-side timing, machine description, result files.

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

from rnnkit.files import write_text


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


def write_results(path: Path, records: list[dict], **meta: object) -> Path:
    """Write ``{"machine": …, "records": …}`` as JSON (atomically) and return the path."""
    payload = {"machine": machine_info(), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **meta,
               "records": records}
    return write_text(path, json.dumps(payload, indent=1) + "\n")
