"""What every experiment writes, and the claim records ``rnnkit experiment all`` assembles.

An experiment folder holds ``results.json`` (numbers, setup, machine), its PNG plots and ``report.md``.
Each result carries ``claims``: one :class:`Claim` per lecture statement it tests, with a one-line
verdict, so the lecture-claims document is built from result files alone (``all --reuse`` can assemble
it from experiments run one at a time).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import torch

from rnnkit.bench.timing import machine_info
from rnnkit.extras import pyplot
from rnnkit.train.checkpoint import write_json


class Claim(TypedDict):
    """One lecture statement as tested: ``holds`` is None when the run cannot decide it."""

    claim: str
    holds: bool | None
    verdict: str


def save_figure(fig, path: Path) -> Path:  # noqa: ANN001 - a matplotlib Figure
    """Lay out ``fig``, write it to ``path`` as a 120-dpi PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.clf()
    pyplot().close(fig)
    return path


def experiment_setup(out: Path, full: dict[str, Any], quick_setup: dict[str, Any], quick: bool,
                     minutes: float | None) -> tuple[Path, dict[str, Any]]:
    """Create ``out`` and pick the FULL or QUICK setup of an experiment, with ``minutes`` overriding its cap."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup = dict(quick_setup if quick else full)
    if minutes is not None:
        setup["minutes"] = minutes
    return out, setup


def stamp(name: str, quick: bool) -> dict[str, Any]:
    """The fields every results.json starts with: experiment, quick flag, machine, threads, time."""
    return {"experiment": name, "quick": quick, "machine": machine_info(), "torch_threads": torch.get_num_threads(),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def setup_line(results: dict[str, Any]) -> str:
    """One line of report: where and how it ran."""
    m = results["machine"]
    gpu = f", {m['gpu']}" if "gpu" in m else ""
    size = "quick (tiny data and models, for CI; numbers mean nothing)" if results["quick"] else "full size"
    return (f"Run: {size}, on {m['cpu']} ({m['cores']} cores, {results['torch_threads']} torch threads{gpu}), "
            f"torch {m['torch']}, {results['written']}.")


def finish(out: Path, results: dict[str, Any], report: str) -> dict[str, Any]:
    """Write ``results.json`` and ``report.md`` into ``out`` (the plots are written by the caller)."""
    write_json(out / "results.json", results)
    (out / "report.md").write_text(report, encoding="utf-8")
    return results


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table as lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


VERDICT_WORDS = ("holds", "does not hold", "undecided", "not shown")


def verdict_text(claim: Claim, mark: dict[bool | None, str]) -> str:
    """``mark[holds]: verdict`` — or the verdict alone when it already starts with its own verdict word
    ("undecided at this budget — …"), so the word is not said twice."""
    if claim["verdict"].lower().startswith(VERDICT_WORDS):
        return claim["verdict"]
    return f"{mark[claim['holds']]}: {claim['verdict']}"


def claims_section(claims: Sequence[Claim]) -> list[str]:
    """The verdict lines of a report."""
    mark = {True: "holds", False: "does not hold", None: "undecided"}
    return [f"- **{c['claim']}** — {verdict_text(c, mark)}" for c in claims]
