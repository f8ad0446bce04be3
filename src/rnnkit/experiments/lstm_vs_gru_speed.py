"""The speed half of "LSTM is slightly better, GRU is a little faster", judged twice.

1. **The same implementation** (:data:`SHARED`): rnnkit's reference loop runs every cell's ``step`` — the
   lecture's equations — through the same Python code, so the LSTM/GRU time ratio there is the cells' own
   cost (four gate blocks against three).
2. **The defaults a user gets** (:data:`DEFAULTS`): ``Recurrent(cell, …)`` as built, forward and backward (what
   training runs) and ``step()`` at batch 1 (what streaming inference runs), each on the backend rnnkit's
   table picks for it (on CPU: torch.nn's kernels for training — oneDNN's LSTM, ATen's GRU — and the compiled
   loop for streaming). Here the library decides as much as the cell.

Both are timed interleaved in one process (``rnnkit.bench.timing.time_interleaved``) at the experiment's
hidden size and at ``speed_hidden``, and recorded with the time, commit and load average of the machine:
a timing taken while other jobs ran says so. ``python benchmarks/lecture_claims.py --retime lstm-vs-gru``
times again into the stored results (on a quiet machine) without training again.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from rnnkit.bench.timing import machine_info, time_interleaved
from rnnkit.experiments.record import now, source, table
from rnnkit.experiments.rules import Claim, Rule
from rnnkit.nn import Recurrent

SHARED = {"reference": "rnnkit's Python loop over cell.step, forward+backward (batch 32, 64 steps)",
          "reference/lengths": "the same with lengths 48–64, as in a padded sentiment batch"}
DEFAULTS = {"default": "Recurrent(cell) as built, forward+backward (batch 32, 64 steps), on the backend it picks",
            "default/lengths": "the same with lengths 48–64, as in a padded sentiment batch",
            "step": "Recurrent.step() streaming, batch 1, forward, per input, on the backend it picks"}
QUIET = 0.5  # a timing taken while the 1-minute load average per core was above this shared the machine
SAME_CODE = Rule(
    "lstm-vs-gru/speed-same-code",
    "LSTM time / GRU time on rnnkit's reference loop (equal hidden size, both the experiment's and speed_hidden; "
    "equal and varied lengths): holds when above 1 on every one, does not hold when below 1 on every one, "
    "otherwise undecided; undecided without a timing recorded by this code", {})
DEFAULT_PATHS = Rule(
    "lstm-vs-gru/speed-defaults",
    "LSTM time / GRU time with the defaults a user gets (training forward+backward and streaming step(), on the "
    "backends rnnkit picks; equal hidden size, both sizes): holds when above 1 on every one, does not hold when "
    "below 1 on every one, otherwise undecided; undecided without a timing recorded by this code", {})
RULES = (SAME_CODE, DEFAULT_PATHS)


def layer_timing(configs: list[dict[str, Any]], embed_dim: int, *, batch: int = 32, steps: int = 64,
                 repeats: int = 5) -> dict[str, float]:
    """Forward+backward seconds (median) of each configuration's recurrent layer on (steps, batch, embed_dim),
    all timed interleaved: ``"<cell>@<hidden>"`` for equal lengths, ``"<cell>@<hidden>/lengths"`` for lengths
    spread over the last quarter of the steps (what a sentiment batch looks like)."""
    x = torch.randn(steps, batch, embed_dim)
    lengths = torch.linspace(steps * 3 // 4, steps, batch).round().long()
    candidates = {}
    for c in configs:
        layer = Recurrent(c["cell"], embed_dim, c["hidden_size"])
        for suffix, given in (("", None), ("/lengths", lengths)):
            def step(layer: Recurrent = layer, given: torch.Tensor | None = given) -> None:
                out, _ = layer(x, lengths=given)
                out.sum().backward()

            candidates[f"{c['cell']}@{c['hidden_size']}{suffix}"] = step
    return {k: v["median_s"] for k, v in time_interleaved(candidates, warmup=1, repeats=repeats).items()}


def implementation_timing(sizes: list[int], embed_dim: int, *, batch: int = 32, steps: int = 64,
                          repeats: int = 5) -> dict[str, dict[str, Any]]:
    """The LSTM and the reset-after GRU at each hidden size of ``sizes``, on every implementation of
    :data:`SHARED` and :data:`DEFAULTS`, all interleaved in one run: ``{implementation: {"<cell>@<H>": ms}}``
    (streaming: ms per input), plus ``"ran"``: the backend each default layer and streamer used."""
    x = torch.randn(steps, batch, embed_dim)
    lengths = torch.linspace(steps * 3 // 4, steps, batch).round().long()
    x1 = torch.randn(steps, 1, embed_dim)
    candidates, layers = {}, {}
    for H in sizes:
        for cell in ("lstm", "gru"):
            key = f"{cell}@{H}"
            for name, backend in (("reference", "reference"), ("default", None)):
                layer = Recurrent(cell, embed_dim, H, **({"backend": backend} if backend else {}))
                layers[f"{name}|{key}"] = layer
                for suffix, given in (("", None), ("/lengths", lengths)):
                    def fwd_bwd(layer: Recurrent = layer, given: torch.Tensor | None = given) -> None:
                        out, _ = layer(x, lengths=given)
                        out.sum().backward()

                    candidates[f"{name}{suffix}|{key}"] = fwd_bwd
            streamer = Recurrent(cell, embed_dim, H).eval()
            layers[f"step|{key}"] = streamer

            def stream(layer: Recurrent = streamer) -> None:
                with torch.no_grad():
                    state = None
                    for t in range(steps):
                        _, state = layer.step(x1[t], state)

            candidates[f"step|{key}"] = stream
    timed = time_interleaved(candidates, warmup=1, repeats=repeats)
    found: dict[str, dict[str, Any]] = {}
    for name, t in timed.items():
        implementation, key = name.split("|")
        per = steps if implementation == "step" else 1  # streaming: milliseconds per input
        found.setdefault(implementation, {})[key] = 1000 * t["median_s"] / per
    found["ran"] = {name: layer.last_backend for name, layer in layers.items() if not name.startswith("reference")}
    return found


def speed(sizes: list[int], embed_dim: int, *, quick: bool) -> dict[str, Any]:
    """Time both judgements, with where and when: machine, threads, commit, load average before and after."""
    before = os.getloadavg()[0]
    times = implementation_timing(sizes, embed_dim, steps=8 if quick else 64, repeats=2 if quick else 7)
    after = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    return {"written": now(), "source": source(), "machine": machine_info(), "torch_threads": torch.get_num_threads(),
            "load": [before, after], "quiet": max(before, after) / cores <= QUIET, "sizes": sizes, "times": times}


def _ratios(times: dict[str, Any], names: dict[str, str], sizes: list[int]) -> dict[tuple[str, int], float]:
    return {(name, H): times[name][f"lstm@{H}"] / times[name][f"gru@{H}"] for name in names for H in sizes}


def _judge(rule: Rule, claim: str, results: dict[str, Any], names: dict[str, str]) -> Claim:
    timed = results.get("speed")
    if not timed:
        return rule.judge(claim, None, "undecided — awaits a timing recorded by the committed code on a quiet "
                                       "machine: `python benchmarks/lecture_claims.py --retime lstm-vs-gru`")
    ratios = _ratios(timed["times"], names, timed["sizes"])
    said = "; ".join(f"H={H}: " + ", ".join(f"{name} ×{ratios[(name, H)]:.2f}" for name in names)
                     for H in timed["sizes"])
    where = (f"timed {timed['written']} at commit {str(timed['source']['commit'])[:10]}, load average "
             f"{timed['load'][0]:.1f} → {timed['load'][1]:.1f} on {timed['machine']['cores']} cores"
             + ("" if timed["quiet"] else ": the machine was shared, ratios are indicative"))
    holds = True if all(v > 1 for v in ratios.values()) else False if all(v < 1 for v in ratios.values()) else None
    slower = [f"{name} at H={H}" for (name, H), v in ratios.items() if v <= 1]
    why = f" — the GRU is not faster in {', '.join(slower)}" if holds is None else ""
    return rule.judge(claim, holds, f"LSTM time / GRU time — {said}{why} ({where})")


def speed_claims(results: dict[str, Any]) -> list[Claim]:
    """:data:`SAME_CODE` and :data:`DEFAULT_PATHS`, from ``results["speed"]`` (absent: undecided)."""
    found = [_judge(SAME_CODE, "GRU is a little faster than LSTM (equal hidden size, the same implementation)",
                    results, SHARED),
             _judge(DEFAULT_PATHS, "GRU is a little faster than LSTM (equal hidden size, the defaults a user gets)",
                    results, DEFAULTS)]
    timed = results.get("speed")
    if timed:
        ran = ", ".join(f"{k.replace('|', ' ')}: {v}" for k, v in timed["times"]["ran"].items())
        found[1]["verdict"] += f"; backends that ran: {ran}"
    return found


def speed_table(results: dict[str, Any]) -> list[str]:
    """One row per implementation: what it is and the milliseconds of the LSTM and the GRU at every size."""
    timed = results.get("speed")
    if not timed:
        return ["Not timed by this code yet (`python benchmarks/lecture_claims.py --retime lstm-vs-gru`)."]
    times = timed["times"]
    keys = list(times["reference"])
    rows = [[name, what, *(f"{times[name][k]:.3g}" for k in keys)] for name, what in {**SHARED, **DEFAULTS}.items()]
    ran = ", ".join(f"{k.replace('|', ' ')}: {v}" for k, v in times["ran"].items())
    return [f"Timed {timed['written']} at commit {str(timed['source']['commit'])[:10]}, {timed['torch_threads']} torch "
            f"thread(s), load average {timed['load'][0]:.1f} → {timed['load'][1]:.1f} on {timed['machine']['cores']} "
            "cores.", "", *table(["implementation", "what", *(f"{k} ms" for k in keys)], rows), "",
            f"Backends that ran: {ran}."]
