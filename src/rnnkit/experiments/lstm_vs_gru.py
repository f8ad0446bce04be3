"""The lecture's "LSTM is slightly better, GRU is a little faster", measured with seeds and spread.

Every cell (LSTM, the reset-after GRU of cuDNN/torch, the lecture's reset-before GRU, Elman) is trained
on one text and one signal task: **sentiment** (test accuracy, rt-polarity by default: embedding → one
recurrent layer → max-pool → classifier) and **activity recognition** (test accuracy, UCI HAPT by default:
128-sample windows of 6 raw sensor channels → a per-frame Linear+ReLU front end of the embedding's width →
one recurrent layer → mean-pool → classifier). Both tasks feed the recurrent layer ``embed_dim`` features per
step, so one set of sizes serves both. Two sizings: **equal hidden size** (the LSTM's), and **equal
parameters** — each cell's hidden size solved so that its recurrent layer has as many parameters as the
LSTM's (embedding, front end and output layers are not matched; the whole-model counts are reported).

Equal updates, not equal wall clock: every configuration trains the same number of epochs of the same
batches (no early stopping, no time cap — a cap would hand the faster kernel more updates and confound
quality with throughput). Each configuration runs with several seeds (weights and batch order; the data
split is fixed); the verdict compares the means of LSTM and GRU at equal parameters per task against the
seeds' spread and calls a difference inside the spread undecided.

Speed is measured twice: training throughput of those very runs, and the forward+backward time of the
recurrent layer alone, all cells timed interleaved in one process (``rnnkit.bench.timing.time_interleaved``),
once with equal lengths and once with the varied lengths of a padded sentiment batch.

Writes ``results.json``, ``quality_speed.png`` and ``report.md``; the trained models stay in ``models/``.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import torch

from rnnkit.bench.timing import time_interleaved
from rnnkit.experiments.arms import QUICK_EXAMPLES, experiment_data, train_sentiment_arm
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
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.tasks.signals import ActivityOptions, load_signal_data
from rnnkit.train.config import TrainConfig

CELLS = ("lstm", "gru", "gru-reset-before", "rnn")
SIZINGS = ("equal hidden", "equal parameters")
# The full-size budget: 7 configurations × 3 seeds × 2 tasks must finish in ≤ 40 min at 1 torch thread on a
# shared 2-core CPU. Measured there (while two other 1-thread experiments ran): at embedding 64 / hidden 128 one
# epoch of all 7 configurations takes ~50 s on rt-polarity (~7.5 s for the LSTM, ~5 s for the Elman RNN) and
# ~115 s on HAPT (6,120 windows of 128 steps, batch 64: ~21 s for the LSTM including evaluation, ~6 s for the
# Elman RNN); 4 + 3 epochs then cost ~550 s per seed, ~28 min for 3 seeds, plus ~2 min of layer timing.
# The full run took 26 min there (22:48–23:14, 2026-11-29; 1,276 sentiment and 288 activity updates per run).
# (The former hidden 256 with a word-level LM arm took hours.)
# speed_hidden: the speed claim is also timed at this equal hidden size (the one of benchmarks/gru_lstm_speed.py):
# at the training size of 128 a streaming step() costs ~20 µs, mostly fixed per-call overhead, not the cell's work.
FULL = {"embed_dim": 64, "hidden_size": 128, "seeds": 3, "sentiment_epochs": 4, "signal_epochs": 3,
        "sentiment": {}, "signal": {"batch_size": 64}, "speed_hidden": 256}
QUICK = {"embed_dim": 8, "hidden_size": 8, "seeds": 1, "sentiment_epochs": 1, "signal_epochs": 1,
         "sentiment": {"min_freq": 1, "batch_size": 16}, "signal": {"batch_size": 16}, "speed_hidden": 16}
# task → (label, what its training throughput counts)
TASKS = {"sentiment": ("sentiment test accuracy", "tokens"), "signal": ("activity test accuracy", "sequences")}


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


def speed_configurations(configs: list[dict[str, Any]], speed_hidden: int) -> list[dict[str, Any]]:
    """The trained configurations plus an LSTM and a GRU at ``speed_hidden`` (equal hidden size), for timing."""
    extra = [{"sizing": "speed", "cell": cell, "hidden_size": speed_hidden} for cell in ("lstm", "gru")]
    return configs + [c for c in extra if not any(c["cell"] == d["cell"] and c["hidden_size"] == d["hidden_size"]
                                                  for d in configs)]


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


def experiment_signals(data: str, out: Path, quick: bool) -> str:
    """The activity data an experiment trains on: a file as given; a registered dataset as is, or in a quick run
    a seeded sample of :data:`QUICK_EXAMPLES` of its sequences written as one UEA ``.ts`` file (which the loader
    splits stratified 80/10/10)."""
    if not quick or Path(data).exists():
        return data
    corpus = load_signal_data(data)
    every = [*corpus.train, *corpus.val, *corpus.test]
    chosen = random.Random(0).sample(every, min(len(every), QUICK_EXAMPLES))
    path = Path(out) / "data" / f"{data}-quick.ts"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"@problemName {data}-quick", "@timeStamps false", "@missing false",
             f"@univariate {'true' if corpus.num_channels == 1 else 'false'}", f"@dimensions {corpus.num_channels}",
             "@equalLength false", "@classLabel true " + " ".join(corpus.labels), "@data"]
    for ex in chosen:
        dims = [",".join(f"{v:.6g}" for v in ex.features[:, c]) for c in range(corpus.num_channels)]
        lines.append(":".join([*dims, corpus.labels[ex.label]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def task_options(task: str, data: str, cell: str, embed_dim: int, hidden_size: int,
                 extra: dict[str, Any]) -> SentimentOptions | ActivityOptions:
    """One arm's options. Activity: raw channels (no gravity split, no augmentation) → a dense front end of
    ``embed_dim`` features per frame (the text task's embedding width) → one unidirectional layer, mean-pooled."""
    if task == "sentiment":
        return SentimentOptions(data=data, cell=cell, embed_dim=embed_dim, hidden_size=hidden_size, **extra)
    return ActivityOptions(data=data, cell=cell, hidden_size=hidden_size, gravity=False, layers=1, bidirectional=False,
                           pooling="mean", frontend="dense", frontend_size=embed_dim, augment_rotation=0.0,
                           augment_scale=0.0, **extra)


def run(out: Path, *, quick: bool = False, data: str = "rt-polarity", signal_data: str = "hapt",
        seeds: int | None = None, log=print) -> dict[str, Any]:
    """Train every configuration × seed on both tasks, the same epochs for all (no early stopping, no time cap)."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, None)
    if seeds is not None:
        setup["seeds"] = seeds
    if setup["seeds"] < 1:
        raise ValueError(f"seeds must be >= 1, got {setup['seeds']}")
    sources = {"sentiment": experiment_data(data, out, quick), "signal": experiment_signals(signal_data, out, quick)}
    E, configs = setup["embed_dim"], configurations(setup["embed_dim"], setup["hidden_size"])
    log("configurations: " + ", ".join(f"{c['cell']} H={c['hidden_size']} ({c['sizing']}, "
                                       f"{c['recurrent_parameters']:,} recurrent parameters)" for c in configs))
    runs = []
    for seed in range(1, setup["seeds"] + 1):
        for c in configs:
            name = f"{c['cell']}-h{c['hidden_size']}-seed{seed}"
            done = {}
            for task in TASKS:
                # train_sentiment_arm trains (or reuses) any classifier: run.train dispatches on the options' type
                done[task] = train_sentiment_arm(
                    task_options(task, sources[task], c["cell"], E, c["hidden_size"], setup[task]),
                    TrainConfig(epochs=setup[f"{task}_epochs"], patience=0, max_minutes=None, seed=seed,
                                progress=False), out / "models" / task / name, log=log)
            runs.append({**c, "seed": seed, **done})
            log(f"{name}: sentiment accuracy {done['sentiment']['accuracy']:.4f}, activity accuracy "
                f"{done['signal']['accuracy']:.4f}")
    timing = layer_timing(configs, E, repeats=2 if quick else 7)
    implementations = implementation_timing(speed_configurations(configs, setup["speed_hidden"]), E,
                                            steps=8 if quick else 64, repeats=2 if quick else 7)
    results = {**stamp("lstm-vs-gru", quick), "data": sources["sentiment"], "signal_data": sources["signal"],
               "setup": setup, "configurations": configs, "runs": runs, "summary": summarise(configs, runs, timing),
               "implementations": implementations}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "quality_speed.png").name]
    return finish(out, results, report(results))


def summarise(configs: list[dict[str, Any]], runs: list[dict[str, Any]], timing: dict[str, float]) -> list[dict]:
    """Mean and standard deviation over seeds of every configuration's numbers, per task."""
    rows = []
    for c in configs:
        mine = [r for r in runs if r["cell"] == c["cell"] and r["hidden_size"] == c["hidden_size"]]
        key = f"{c['cell']}@{c['hidden_size']}"
        row = {**c, "seeds": len(mine), "layer_fwd_bwd_ms": 1000 * timing[key],
               "layer_fwd_bwd_ms_lengths": 1000 * timing[key + "/lengths"]}
        for task, (_, unit) in TASKS.items():
            row[f"{task}_parameters"] = mine[0][task]["parameters"]
            row[f"{task}_updates"] = sorted({r[task]["steps"] for r in mine})
            row[f"{task}_accuracy"] = mean_std([r[task]["accuracy"] for r in mine])
            row[f"{task}_{unit}_per_s"] = mean_std([r[task]["tokens_per_s"] for r in mine])
            row[f"{task}_train_seconds"] = mean_std([r[task]["train_seconds"] for r in mine])
        rows.append(row)
    return rows


def _row(results: dict[str, Any], cell: str, sizing: str) -> dict[str, Any]:
    return next(r for r in results["summary"] if r["cell"] == cell and r["sizing"] in (sizing, "both"))


def compare(a: dict[str, Any], b: dict[str, Any], key: str) -> tuple[float, float, str]:
    """mean(a) − mean(b) of a higher-is-better ``key``, the seeds' spread √(s_a² + s_b²), and which side the
    difference falls on: ``"better"`` / ``"worse"`` beyond the spread, else ``"undecided"``."""
    (ma, sa), (mb, sb) = a[key], b[key]
    gap = ma - mb
    spread = math.hypot(sa, sb)
    return gap, spread, ("better" if gap > spread else "worse" if gap < -spread else "undecided")


def claims(results: dict[str, Any]) -> list[Claim]:
    """LSTM vs the reset-after GRU: quality at equal parameters (per task), speed at equal hidden size."""
    lstm = _row(results, "lstm", "equal parameters")
    gru = _row(results, "gru", "equal parameters")
    judged = lstm["seeds"] > 1  # one seed has no spread to tell a gap from noise
    parts, outcomes = [], []
    for task, (label, _) in TASKS.items():
        key = f"{task}_accuracy"
        gap, spread, outcome = compare(lstm, gru, key)
        outcome = outcome if judged else "one seed"
        outcomes.append(outcome)
        said = {"better": "LSTM better", "worse": "GRU better", "undecided": "undecided, within the spread",
                "one seed": "not judged (one seed)"}[outcome]
        parts.append(f"{label}: LSTM {lstm[key][0]:.4f} ± {lstm[key][1]:.4f} vs GRU (H={gru['hidden_size']}) "
                     f"{gru[key][0]:.4f} ± {gru[key][1]:.4f}, difference {gap:+.4f} vs spread {spread:.4f} — {said}")
    better = "better" in outcomes and "worse" not in outcomes
    worse = "worse" in outcomes and "better" not in outcomes
    quality = Claim(claim="LSTM is slightly better than GRU (equal parameters)",
                    holds=True if better else False if worse else None,
                    verdict="; ".join(parts) + f" (mean ± standard deviation over {lstm['seeds']} seed(s), equal "
                            "updates" + ("" if judged else "; one seed has no spread: undecided") + ")")
    return [quality, speed_claim(results)]


def speed_claim(results: dict[str, Any]) -> Claim:
    """GRU vs LSTM at equal hidden size — the training size and ``speed_hidden`` — judged on the implementations
    that run both cells with the same code: holds when the GRU is faster on every one at both sizes, does not
    hold when it is slower on every one, undecided otherwise. The library kernels and the training runs'
    throughput are reported beside it, not judged."""
    lstm = _row(results, "lstm", "equal parameters")
    gru_h = _row(results, "gru", "equal hidden")
    times = results["implementations"]
    sizes = sorted({lstm["hidden_size"], results.get("setup", {}).get("speed_hidden", lstm["hidden_size"])})
    speedup, parts = {}, []
    for H in sizes:
        lstm_key, gru_key = f"lstm@{H}", f"gru@{H}"
        for name in SHARED:
            speedup[(name, H)] = times[name][lstm_key] / times[name][gru_key]
        shared = ", ".join(f"{name} ×{speedup[(name, H)]:.2f}" for name in SHARED)
        library = times["fused"][lstm_key] / times["fused"][gru_key]
        parts.append(f"H={H}: {shared} (torch.nn's kernels, different code per cell: ×{library:.2f})")
    faster = {task: gru_h[f"{task}_{unit}_per_s"][0] / lstm[f"{task}_{unit}_per_s"][0]
              for task, (_, unit) in TASKS.items()}
    context = (f"the training runs' throughput GRU/LSTM at H={lstm['hidden_size']}: sentiment "
               f"×{faster['sentiment']:.2f}, activity ×{faster['signal']:.2f}")
    if all(v > 1 for v in speedup.values()):
        holds = True
    elif all(v < 1 for v in speedup.values()):
        holds = False
    else:
        holds = None
    slower = [f"{name} at H={H}" for (name, H), v in speedup.items() if v <= 1]
    why = f" — the GRU is not faster in {', '.join(slower)}" if holds is None else ""
    return Claim(claim="GRU is a little faster than LSTM (equal hidden size, same implementation)", holds=holds,
                 verdict=f"LSTM time / GRU time on the same code — {'; '.join(parts)}{why}; {context}")


def plot(results: dict[str, Any], path: Path) -> Path:
    """Four panels (both tasks' test accuracy and training throughput), mean ± std over seeds."""
    plt = pyplot()
    panels = [("sentiment_accuracy", "sentiment test accuracy"), ("signal_accuracy", "activity test accuracy"),
              ("sentiment_tokens_per_s", "sentiment training tokens/s"),
              ("signal_sequences_per_s", "activity training sequences/s")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    width = 0.38
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for i, sizing in enumerate(SIZINGS):
            rows = [_row(results, cell, sizing) for cell in CELLS]
            ax.bar([x + (i - 0.5) * width for x in range(len(CELLS))], [r[key][0] for r in rows], width,
                   yerr=[r[key][1] for r in rows], capsize=3, label=sizing)
        ax.set_xticks(range(len(CELLS)), CELLS)
        ax.set_title(label)
        if key.endswith("accuracy"):  # quality differences are small: zoom in on the range the bars span
            low = min(r[key][0] - r[key][1] for r in results["summary"])
            high = max(r[key][0] + r[key][1] for r in results["summary"])
            pad = 0.15 * (high - low) or 0.01 * high
            ax.set_ylim(max(0.0, low - pad), high + pad)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"LSTM vs GRU vs Elman: mean ± std over {results['setup']['seeds']} seed(s), equal updates")
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s = results["setup"]

    def ms(v: tuple[float, float], fmt: str = ".4f") -> str:
        return f"{v[0]:{fmt}} ± {v[1]:{fmt}}"

    rows = [[r["cell"], r["sizing"], r["hidden_size"], f"{r['recurrent_parameters']:,}", ms(r["sentiment_accuracy"]),
             ms(r["signal_accuracy"]), ms(r["sentiment_tokens_per_s"], ",.0f"), ms(r["signal_sequences_per_s"], ",.0f"),
             f"{r['layer_fwd_bwd_ms']:.1f}", f"{r['layer_fwd_bwd_ms_lengths']:.1f}"] for r in results["summary"]]
    updates = ", ".join(f"{'/'.join(map(str, sorted({u for r in results['summary'] for u in r[f'{task}_updates']})))} "
                        f"{'activity' if task == 'signal' else task}" for task in TASKS)
    lines = ["# LSTM vs GRU vs Elman: quality and speed", "", setup_line(results),
             f"Sentiment `{results['data']}` ({s['sentiment_epochs']} epochs) and activity recognition "
             f"`{results['signal_data']}` ({s['signal_epochs']} epochs; raw channels → dense front end of "
             f"{s['embed_dim']} → one recurrent layer, mean-pooled), the same epochs for every configuration — equal "
             f"updates ({updates} updates per run), no early stopping, no time cap — each scored on its test split "
             f"with the weights of its best validation accuracy; embedding / front end {s['embed_dim']}, reference "
             f"hidden size {s['hidden_size']}; {s['seeds']} seed(s), mean ± standard deviation.",
             "Equal parameters = the recurrent layer's parameter count matches the LSTM's; throughput is measured "
             "in the training runs themselves; the layer columns are one forward+backward of the recurrent layer "
             "(batch 32, 64 steps; then with lengths from 48 to 64, as in a padded sentiment batch), all cells "
             "timed interleaved in one process.", "",
             *table(["cell", "sizing", "hidden", "recurrent params", "sentiment acc.", "activity acc.",
                     "sentiment tok/s", "activity seq/s", "layer fwd+bwd ms", "… with varied lengths"], rows),
             "", "## Speed on one implementation", "",
             "The speed claim is judged where both cells run the same code; torch.nn's kernels are shown beside "
             "(on CPU the LSTM runs on oneDNN and the GRU on ATen, so their ratio compares two libraries).", "",
             *implementation_table(results), "",
             *([f"Timed again on {results['speed_timed']}, after the training, with no other job on the machine "
                "(the run's own timing had shared the CPU with other experiments).", ""]
               if "speed_timed" in results else []),
             "## Verdict", "",
             "Quality per task: the difference of the means (LSTM − GRU, equal parameters) against the seeds' "
             "spread √(s_LSTM² + s_GRU²); inside the spread it is undecided.", "",
             *claims_section(results["claims"]), "", "![quality and speed](quality_speed.png)", ""]
    return "\n".join(lines)


def implementation_table(results: dict[str, Any]) -> list[str]:
    """One row per implementation: what it is and the milliseconds of every LSTM/GRU configuration."""
    times = results["implementations"]
    keys = list(times["reference"])
    rows = [[name, what, *(f"{times[name][k]:.3g}" for k in keys)] for name, what in {**SHARED, **LIBRARY}.items()]
    ran = ", ".join(f"{k}: {v}" for k, v in times["ran"].items())
    return [*table(["implementation", "what", *(f"{k} ms" for k in keys)], rows), "",
            f"Streaming backends that ran: {ran}."]
