"""What every experiment writes: ``results.json`` (numbers, setup, machine, the commit that ran), plots, ``report.md``.

An experiment folder holds ``results.json``, its PNG plots and ``report.md``. Each result carries
``claims`` (:class:`rnnkit.experiments.rules.Claim`: one per lecture statement it tests, with a one-line
verdict and the rule that judged it), so the lecture-claims document is built from result files alone.

Paths in ``results.json`` are relative to its folder (or to the home folder, ``~/…``): a results file
copied into the repository names no folder of the machine that produced it. Per-step traces that only the
plots read are listed in an experiment's ``TRACES``; :func:`compact` replaces them by a note of their
length, and an experiment's report and verdicts never read them (tested), so both can be rebuilt from the
compacted copy the repository keeps.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.bench.timing import machine_info
from rnnkit.train.checkpoint import write_json

REPOSITORY = Path(__file__).resolve().parents[3]  # src/rnnkit/experiments/record.py → the checkout's root


def pyplot():  # noqa: ANN201 - matplotlib.pyplot, imported lazily with the file-only Agg backend
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:  # noqa: ANN001 - a matplotlib Figure
    """Lay out ``fig``, write it to ``path`` as a 120-dpi PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.clf()
    pyplot().close(fig)
    return path


def experiment_setup(out: Path, full: dict[str, Any], quick_setup: dict[str, Any], quick: bool,
                     **given: Any) -> tuple[Path, dict[str, Any]]:
    """Create ``out`` and pick the FULL or QUICK setup of an experiment; each option in ``given`` that is
    not None (``minutes``, ``seeds``, …) replaces the setup's. Seeds, when the setup has them, must be ≥ 1."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup = dict(quick_setup if quick else full)
    setup.update({k: v for k, v in given.items() if v is not None})
    if "seeds" in setup and setup["seeds"] < 1:
        raise ValueError(f"seeds must be >= 1, got {setup['seeds']}")
    return out, setup


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPOSITORY), *args], capture_output=True, text=True, check=True,
                          timeout=30)
    return done.stdout.strip()


def source() -> dict[str, Any]:
    """The code that runs: the commit of the checkout rnnkit is imported from, and whether its ``src/`` or the
    lecture-claims script hold uncommitted changes (``dirty``); both None outside a git checkout."""
    if not (REPOSITORY / "src" / "rnnkit").is_dir():
        return {"commit": None, "dirty": None}
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "src", "benchmarks/lecture_claims.py"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def now() -> str:
    """The local time in the results' format (ISO 8601 with the UTC offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def stamp(name: str, quick: bool) -> dict[str, Any]:
    """The fields every results.json starts with: experiment, quick flag, machine, threads, time, source."""
    return {"experiment": name, "quick": quick, "machine": machine_info(), "torch_threads": torch.get_num_threads(),
            "written": now(), "source": source()}


def setup_line(results: dict[str, Any]) -> str:
    """One line of report: where and how it ran."""
    m = results["machine"]
    gpu = f", {m['gpu']}" if "gpu" in m else ""
    size = "quick (tiny data and models, for CI; numbers mean nothing)" if results["quick"] else "full size"
    return (f"Run: {size}, on {m['cpu']} ({m['cores']} cores, {results['torch_threads']} torch threads{gpu}), "
            f"torch {m['torch']}, {results['written']}.")


def portable(value: Any, folder: Path) -> Any:
    """``value`` with every absolute path made relative to ``folder`` (or written ``~/…`` under the home folder)."""
    if isinstance(value, dict):
        return {k: portable(v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, folder) for v in value]
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value or len(value) > 4096:
        return value
    path, folder, home = Path(value), Path(folder).resolve(), Path.home()
    if path.is_relative_to(folder):
        return path.relative_to(folder).as_posix() or "."
    if path.is_relative_to(home):
        return "~/" + path.relative_to(home).as_posix()
    return value


def finish(out: Path, results: dict[str, Any], report: str) -> dict[str, Any]:
    """Write ``results.json`` (its paths made :func:`portable`) and ``report.md`` into ``out``; the plots are
    written by the caller. Returns the results as written."""
    results = portable(results, out)
    write_json(out / "results.json", results)
    (out / "report.md").write_text(report, encoding="utf-8")
    return results


def compact(value: Any, traces: Iterable[str]) -> Any:
    """``value`` with the lists and objects under the keys ``traces`` replaced by a note of their length (what
    the repository's results file keeps: the numbers behind each verdict, not the plots' traces)."""
    keys = frozenset(traces)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (_note(x) if k in keys and isinstance(x, list | dict) else walk(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def _note(values: list | dict) -> str:
    return f"({len(values)} values: see the experiment's results.json)"


def compacted(value: Any) -> list[str]:
    """The paths (``a.b.0.c``) of the lists :func:`compact` (or an older, size-based compaction) replaced."""
    found: list[str] = []

    def walk(v: Any, path: str) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else str(k))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}.{i}")
        elif isinstance(v, str) and v.endswith("values: see the experiment's results.json)"):
            found.append(path)

    walk(value, "")
    return found


def read_results(folder: Path) -> dict[str, Any] | None:
    """The results.json of an experiment folder, or None when there is none."""
    path = Path(folder) / "results.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table as lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]

