"""The lecture's "LSTM is slightly better, GRU is a little faster", measured with seeds and spread.

Every cell (LSTM, the reset-after GRU of cuDNN/torch, the lecture's reset-before GRU, Elman) is trained
on two tasks: sentiment (test accuracy, rt-polarity by default) and word-level language modelling
(test perplexity after one epoch over Austen by default: a small budget, equal for every cell). Two
sizings: **equal hidden size** (the LSTM's), and **equal parameters** — each cell's hidden size solved so
that its recurrent layer has as many parameters as the LSTM's (embedding and output layers are not
matched; the whole-model counts are reported). Each configuration runs with several seeds (weights and
batch order; the data split is fixed) and is reported as mean ± standard deviation.

Speed is measured twice: training tokens/s of those very runs, and the forward+backward time of the
recurrent layer alone, all cells timed interleaved in one process (``rnnkit.bench.timing.time_interleaved``),
once with equal lengths and once with the varied lengths of a padded sentiment batch.

Writes ``results.json``, ``quality_speed.png`` and ``report.md``; the trained models stay in ``models/``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from rnnkit.bench.timing import time_interleaved
from rnnkit.experiments.arms import experiment_data, experiment_text, train_lm_arm, train_sentiment_arm
from rnnkit.experiments.record import (
    Claim,
    claims_section,
    experiment_setup,
    finish,
    mean_std,
    pyplot,
    save_figure,
    setup_line,
    stamp,
    table,
)
from rnnkit.nn import Recurrent, get_cell
from rnnkit.tasks.lm import LMOptions
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.train.config import TrainConfig

CELLS = ("lstm", "gru", "gru-reset-before", "rnn")
SIZINGS = ("equal hidden", "equal parameters")
# Equal updates, not equal wall clock: every configuration trains the same epochs of the same batches
# (a time cap would hand the faster kernel more updates and confound quality with throughput).
FULL = {"embed_dim": 128, "hidden_size": 256, "seeds": 3, "sentiment_epochs": 5, "lm_epochs": 1, "minutes": None,
        "lm": {"bptt": 35, "batch_size": 32}, "sentiment": {}}
QUICK = {"embed_dim": 8, "hidden_size": 8, "seeds": 1, "sentiment_epochs": 1, "lm_epochs": 1, "minutes": None,
         "lm": {"bptt": 8, "batch_size": 4, "min_freq": 1}, "sentiment": {"min_freq": 1, "batch_size": 16}}
METRICS = {"accuracy": ("sentiment", "test accuracy", True), "perplexity": ("lm", "test perplexity", False)}


def recurrent_parameters(cell: str, input_size: int, hidden_size: int) -> int:
    """Parameters of one recurrent layer: G·(H·I + H·H + 2H), G the cell's gate count."""
    return get_cell(cell).num_gates * (hidden_size * input_size + hidden_size ** 2 + 2 * hidden_size)


def matched_hidden(cell: str, input_size: int, target: int) -> int:
    """The hidden size whose recurrent layer comes closest to ``target`` parameters (solves G·H² + G·(I+2)·H = P)."""
    g = get_cell(cell).num_gates
    root = (-(input_size + 2) + math.sqrt((input_size + 2) ** 2 + 4 * target / g)) / 2
    return min((max(1, math.floor(root)), math.ceil(root)),
               key=lambda h: abs(recurrent_parameters(cell, input_size, h) - target))


def configurations(embed_dim: int, hidden_size: int) -> list[dict[str, Any]]:
    """(sizing, cell, hidden) for every arm; the LSTM is the reference of both sizings, so it runs once."""
    target = recurrent_parameters("lstm", embed_dim, hidden_size)
    found = [{"sizing": "both", "cell": "lstm", "hidden_size": hidden_size}]
    for cell in CELLS[1:]:
        found.append({"sizing": "equal hidden", "cell": cell, "hidden_size": hidden_size})
        matched = matched_hidden(cell, embed_dim, target)
        found.append({"sizing": "equal parameters", "cell": cell, "hidden_size": matched})
    for c in found:
        c["recurrent_parameters"] = recurrent_parameters(c["cell"], embed_dim, c["hidden_size"])
    return found


def layer_timing(configs: list[dict[str, Any]], embed_dim: int, *, batch: int = 32, steps: int = 64,
                 repeats: int = 5) -> dict[str, float]:
    """Forward+backward seconds (median) of each configuration's recurrent layer on (steps, batch, embed_dim),
    all timed interleaved: ``"<cell>@<hidden>"`` for equal lengths, ``"<cell>@<hidden>/lengths"`` for lengths
    spread over the last quarter of the steps (what a sentiment batch looks like: on CPU torch runs such
    packed batches of its own cells through a slower kernel than equal-length ones)."""
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


# The same code for both cells, so the comparison is of the cells and not of two libraries' kernels.
SHARED = {"reference": "rnnkit's Python loop over cell.step, forward+backward (batch 32, 64 steps)",
          "reference/lengths": "the same with lengths 48–64, as in a padded sentiment batch",
          "step": "rnnkit's streaming step(), batch 1, forward, per input (its compiled loop when built)"}
LIBRARY = {"fused": "torch.nn's own kernels, forward+backward: oneDNN's LSTM vs ATen's GRU on CPU (different code)"}


def implementation_timing(configs: list[dict[str, Any]], embed_dim: int, *, batch: int = 32, steps: int = 64,
                          repeats: int = 5) -> dict[str, dict[str, Any]]:
    """LSTM and reset-after GRU configurations timed on each implementation, all interleaved in one run.

    Returns ``{"<implementation>": {"<cell>@<hidden>": milliseconds}}`` for the :data:`SHARED` ones (one
    implementation runs both cells) and :data:`LIBRARY` (each cell on its library kernel), plus
    ``"ran"``: the backend each streaming layer actually used (``layer.last_backend``)."""
    x = torch.randn(steps, batch, embed_dim)
    lengths = torch.linspace(steps * 3 // 4, steps, batch).round().long()
    x1 = torch.randn(steps, 1, embed_dim)
    candidates, streamers = {}, {}
    for c in configs:
        if c["cell"] not in ("lstm", "gru"):
            continue
        key = f"{c['cell']}@{c['hidden_size']}"
        for backend in ("reference", "fused"):
            layer = Recurrent(c["cell"], embed_dim, c["hidden_size"], backend=backend)
            for suffix, given in (("", None), ("/lengths", lengths)):
                if backend == "fused" and suffix:
                    continue

                def fwd_bwd(layer: Recurrent = layer, given: torch.Tensor | None = given) -> None:
                    out, _ = layer(x, lengths=given)
                    out.sum().backward()

                candidates[f"{backend}{suffix}|{key}"] = fwd_bwd
        streamer = Recurrent(c["cell"], embed_dim, c["hidden_size"]).eval()

        def stream(layer: Recurrent = streamer) -> None:
            with torch.no_grad():
                state = None
                for t in range(steps):
                    _, state = layer.step(x1[t], state)

        candidates[f"step|{key}"] = stream
        streamers[key] = streamer
    timed = time_interleaved(candidates, warmup=1, repeats=repeats)
    found: dict[str, dict[str, Any]] = {}
    for name, t in timed.items():
        implementation, key = name.split("|")
        per = steps if implementation == "step" else 1  # streaming: milliseconds per input
        found.setdefault(implementation, {})[key] = 1000 * t["median_s"] / per
    found["ran"] = {key: layer.last_backend for key, layer in streamers.items()}
    return found


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "rt-polarity",
        lm_data: str = "austen", seeds: int | None = None, log=print) -> dict[str, Any]:
    """Train every configuration × seed on both tasks (``minutes`` caps each training run)."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    if seeds is not None:
        setup["seeds"] = seeds
    if setup["seeds"] < 1:
        raise ValueError(f"seeds must be >= 1, got {setup['seeds']}")
    data = experiment_data(data, out, quick)
    lm_data, tokenizer = experiment_text(lm_data, out, quick)
    E, configs = setup["embed_dim"], configurations(setup["embed_dim"], setup["hidden_size"])
    log("configurations: " + ", ".join(f"{c['cell']} H={c['hidden_size']} ({c['sizing']}, "
                                       f"{c['recurrent_parameters']:,} recurrent parameters)" for c in configs))
    runs = []
    for seed in range(1, setup["seeds"] + 1):
        for c in configs:
            name = f"{c['cell']}-h{c['hidden_size']}-seed{seed}"
            sentiment = train_sentiment_arm(
                SentimentOptions(data=data, cell=c["cell"], embed_dim=E, hidden_size=c["hidden_size"],
                                 **setup["sentiment"]),
                TrainConfig(epochs=setup["sentiment_epochs"], patience=0, max_minutes=setup["minutes"], seed=seed,
                            progress=False), out / "models" / "sentiment" / name, log=log)
            lm = train_lm_arm(
                LMOptions(data=lm_data, tokenizer=tokenizer, cell=c["cell"], embed_dim=E, hidden_size=c["hidden_size"],
                          **setup["lm"]),
                TrainConfig(epochs=setup["lm_epochs"], max_minutes=setup["minutes"], seed=seed, progress=False),
                out / "models" / "lm" / name, log=log)
            runs.append({**c, "seed": seed, "sentiment": sentiment, "lm": lm})
            log(f"{name}: accuracy {sentiment['accuracy']:.4f} ({sentiment['tokens_per_s']:,.0f} tok/s), "
                f"perplexity {lm['perplexity']:.1f} ({lm['tokens_per_s']:,.0f} tok/s)")
    timing = layer_timing(configs, E, repeats=2 if quick else 7)
    implementations = implementation_timing(configs, E, steps=8 if quick else 64, repeats=2 if quick else 7)
    results = {**stamp("lstm-vs-gru", quick), "data": data, "lm_data": lm_data, "setup": setup,
               "configurations": configs, "runs": runs, "summary": summarise(configs, runs, timing),
               "implementations": implementations}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "quality_speed.png").name]
    return finish(out, results, report(results))


def summarise(configs: list[dict[str, Any]], runs: list[dict[str, Any]], timing: dict[str, float]) -> list[dict]:
    """Mean and standard deviation over seeds of every configuration's numbers."""
    rows = []
    for c in configs:
        mine = [r for r in runs if r["cell"] == c["cell"] and r["hidden_size"] == c["hidden_size"]]
        key = f"{c['cell']}@{c['hidden_size']}"
        row = {**c, "seeds": len(mine), "layer_fwd_bwd_ms": 1000 * timing[key],
               "layer_fwd_bwd_ms_lengths": 1000 * timing[key + "/lengths"],
               "sentiment_parameters": mine[0]["sentiment"]["parameters"], "lm_parameters": mine[0]["lm"]["parameters"]}
        for key, (task, _, _) in METRICS.items():
            row[key] = mean_std([r[task][key] for r in mine])
            row[f"{task}_tokens_per_s"] = mean_std([r[task]["tokens_per_s"] for r in mine])
            row[f"{task}_train_seconds"] = mean_std([r[task]["train_seconds"] for r in mine])
        rows.append(row)
    return rows


def _row(results: dict[str, Any], cell: str, sizing: str) -> dict[str, Any]:
    return next(r for r in results["summary"] if r["cell"] == cell and r["sizing"] in (sizing, "both"))


def compare(a: dict[str, Any], b: dict[str, Any], key: str, higher_is_better: bool) -> tuple[float, str]:
    """a − b (sign: positive means a is better) and whether the gap exceeds the seeds' spread."""
    (ma, sa), (mb, sb) = a[key], b[key]
    gap = (ma - mb) if higher_is_better else (mb - ma)
    spread = math.hypot(sa, sb)
    return gap, ("better" if gap > spread else "worse" if gap < -spread else "within the spread")


def claims(results: dict[str, Any]) -> list[Claim]:
    """LSTM vs the reset-after GRU: quality at equal parameters, speed at equal hidden size."""
    lstm = _row(results, "lstm", "equal parameters")
    gru = _row(results, "gru", "equal parameters")
    parts, outcomes = [], []
    for key, (_, label, higher) in METRICS.items():
        gap, outcome = compare(lstm, gru, key, higher)
        outcomes.append(outcome)
        parts.append(f"{label}: LSTM {lstm[key][0]:.4g} ± {lstm[key][1]:.2g} vs GRU {gru[key][0]:.4g} ± "
                     f"{gru[key][1]:.2g} (LSTM {outcome})")
    better = "better" in outcomes and "worse" not in outcomes
    worse = "worse" in outcomes and "better" not in outcomes
    judged = lstm["seeds"] > 1  # one seed has no spread to tell a gap from noise
    quality = Claim(claim="LSTM is slightly better than GRU (equal parameters)",
                    holds=(True if better else False if worse else None) if judged else None,
                    verdict="; ".join(parts) + f" over {lstm['seeds']} seed(s)"
                            + ("" if judged else " — one seed has no spread: undecided"))
    return [quality, speed_claim(results)]


def speed_claim(results: dict[str, Any]) -> Claim:
    """GRU vs LSTM at equal hidden size, judged on the implementations that run both cells with the same code;
    the library kernels and the training runs' throughput are reported beside it, not judged."""
    lstm = _row(results, "lstm", "equal parameters")
    gru_h = _row(results, "gru", "equal hidden")
    times = results["implementations"]
    lstm_key, gru_key = f"lstm@{lstm['hidden_size']}", f"gru@{gru_h['hidden_size']}"
    speedup = {name: times[name][lstm_key] / times[name][gru_key] for name in SHARED}
    library = times["fused"][lstm_key] / times["fused"][gru_key]
    faster = {task: gru_h[f"{task}_tokens_per_s"][0] / lstm[f"{task}_tokens_per_s"][0] for task in ("sentiment", "lm")}
    shared = "; ".join(f"{name} GRU {times[name][gru_key]:.3g} ms vs LSTM {times[name][lstm_key]:.3g} ms "
                       f"(×{speedup[name]:.2f})" for name in SHARED)
    context = (f"for context, torch.nn's kernels (different code per cell) ×{library:.2f}, and the training runs' "
               f"tokens/s GRU/LSTM: sentiment ×{faster['sentiment']:.2f}, LM ×{faster['lm']:.2f}")
    if all(v > 1 for v in speedup.values()):
        holds = True
    elif all(v < 1 for v in speedup.values()):
        holds = False
    else:
        holds = None
    return Claim(claim="GRU is a little faster than LSTM (equal hidden size, same implementation)", holds=holds,
                 verdict=f"same code for both cells — {shared}; {context}")


def plot(results: dict[str, Any], path: Path) -> Path:
    """Four panels (accuracy, perplexity, and both tasks' training tokens/s), mean ± std over seeds."""
    plt = pyplot()
    panels = [("accuracy", "sentiment test accuracy"), ("perplexity", "LM test perplexity"),
              ("sentiment_tokens_per_s", "sentiment training tokens/s"), ("lm_tokens_per_s", "LM training tokens/s")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    width = 0.38
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for i, sizing in enumerate(SIZINGS):
            rows = [_row(results, cell, sizing) for cell in CELLS]
            ax.bar([x + (i - 0.5) * width for x in range(len(CELLS))], [r[key][0] for r in rows], width,
                   yerr=[r[key][1] for r in rows], capsize=3, label=sizing)
        ax.set_xticks(range(len(CELLS)), CELLS)
        ax.set_title(label)
        if key in METRICS:  # quality differences are small: zoom in on the range the bars span
            low = min(r[key][0] - r[key][1] for r in results["summary"])
            high = max(r[key][0] + r[key][1] for r in results["summary"])
            pad = 0.15 * (high - low) or 0.01 * high
            ax.set_ylim(max(0.0, low - pad), high + pad)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"LSTM vs GRU vs Elman: mean ± std over {results['setup']['seeds']} seed(s)")
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s = results["setup"]

    def ms(v: tuple[float, float], fmt: str = ".4f") -> str:
        return f"{v[0]:{fmt}} ± {v[1]:{fmt}}"

    rows = [[r["cell"], r["sizing"], r["hidden_size"], f"{r['recurrent_parameters']:,}", ms(r["accuracy"]),
             ms(r["perplexity"], ".1f"), ms(r["sentiment_tokens_per_s"], ",.0f"), ms(r["lm_tokens_per_s"], ",.0f"),
             f"{r['layer_fwd_bwd_ms']:.1f}", f"{r['layer_fwd_bwd_ms_lengths']:.1f}"] for r in results["summary"]]
    cap = f", each run capped at {s['minutes']} min" if s["minutes"] else ""
    lines = ["# LSTM vs GRU vs Elman: quality and speed", "", setup_line(results),
             f"Sentiment `{results['data']}` ({s['sentiment_epochs']} epochs for every configuration — equal "
             "updates, no early stopping — scored with the weights of its best validation accuracy), "
             f"language model `{results['lm_data']}` ({s['lm_epochs']} epoch, BPTT {s['lm']['bptt']}, batch "
             f"{s['lm']['batch_size']}); embedding {s['embed_dim']}, reference hidden size {s['hidden_size']}{cap}; "
             f"{s['seeds']} seed(s), mean ± standard deviation.",
             "Equal parameters = the recurrent layer's parameter count matches the LSTM's; tokens/s are measured "
             "in the training runs themselves; the layer columns are one forward+backward of the recurrent layer "
             "(batch 32, 64 steps; then with lengths from 48 to 64, as in a padded sentiment batch), all cells "
             "timed interleaved in one process.", "",
             *table(["cell", "sizing", "hidden", "recurrent params", "sentiment acc.", "LM perplexity",
                     "sentiment tok/s", "LM tok/s", "layer fwd+bwd ms", "… with varied lengths"], rows),
             "", "## Speed on one implementation", "",
             "The speed claim is judged where both cells run the same code; torch.nn's kernels are shown beside "
             "(on CPU the LSTM runs on oneDNN and the GRU on ATen, so their ratio compares two libraries).", "",
             *implementation_table(results), "", "## Verdict", "", *claims_section(results["claims"]), "",
             "![quality and speed](quality_speed.png)", ""]
    return "\n".join(lines)


def implementation_table(results: dict[str, Any]) -> list[str]:
    """One row per implementation: what it is and the milliseconds of every LSTM/GRU configuration."""
    times = results["implementations"]
    keys = list(times["reference"])
    rows = [[name, what, *(f"{times[name][k]:.3g}" for k in keys)] for name, what in {**SHARED, **LIBRARY}.items()]
    ran = ", ".join(f"{k}: {v}" for k, v in times["ran"].items())
    return [*table(["implementation", "what", *(f"{k} ms" for k in keys)], rows), "",
            f"Streaming backends that ran: {ran}."]
