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

from rnnkit.experiments.arms import QUICK_EXAMPLES, experiment_data, train_sentiment_arm
from rnnkit.experiments.lstm_vs_gru_speed import RULES as SPEED_RULES
from rnnkit.experiments.lstm_vs_gru_speed import layer_timing, speed, speed_claims, speed_table
from rnnkit.experiments.record import experiment_setup, finish, mean_std, pyplot, save_figure, setup_line, stamp, table
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, enough_seeds, verdict_section
from rnnkit.nn import get_cell
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
TRACES: tuple[str, ...] = ()
QUALITY = Rule(
    "lstm-vs-gru/quality",
    "per task, LSTM against the reset-after GRU at equal recurrent parameters: the difference of the means over "
    "seeds against the seeds' spread √(s_LSTM² + s_GRU²); beyond the spread one is better, inside it undecided; "
    "holds when the LSTM is better on some task and worse on none, does not hold when worse on some and better "
    "on none, otherwise undecided; fewer than min_seeds seeds: undecided", {"min_seeds": MIN_SEEDS})
RULES = (QUALITY, *SPEED_RULES)


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
    out, setup = experiment_setup(out, FULL, QUICK, quick, seeds=seeds)
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
    results = {**stamp("lstm-vs-gru", quick), "data": sources["sentiment"], "signal_data": sources["signal"],
               "setup": setup, "configurations": configs, "runs": runs, "summary": summarise(configs, runs, timing),
               "speed": speed(speed_sizes(setup), E, quick=quick)}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "quality_speed.png").name]
    return finish(out, results, report(results))


def speed_sizes(setup: dict[str, Any]) -> list[int]:
    """The equal hidden sizes the speed claims are timed at: the experiment's and ``speed_hidden``."""
    return sorted({setup["hidden_size"], setup["speed_hidden"]})


def retime(results: dict[str, Any], *, quick: bool = False) -> dict[str, Any]:
    """The results with the speed timed again by this code (on this machine, now), the rest as it was."""
    timed = {**results, "speed": speed(speed_sizes(results["setup"]), results["setup"]["embed_dim"], quick=quick)}
    splice = {"what": "speed timed again", "commit": timed["speed"]["source"]["commit"],
              "written": timed["speed"]["written"]}
    timed["splices"] = [s for s in results.get("splices", []) if s["what"] != splice["what"]] + [splice]
    timed["claims"] = claims(timed)
    return timed


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


def quality_claim(results: dict[str, Any]) -> Claim:
    """:data:`QUALITY`: LSTM vs the reset-after GRU at equal parameters, per task against the seeds' spread."""
    lstm = _row(results, "lstm", "equal parameters")
    gru = _row(results, "gru", "equal parameters")
    parts, outcomes = [], []
    for task, (label, _) in TASKS.items():
        key = f"{task}_accuracy"
        gap, spread, outcome = compare(lstm, gru, key)
        outcomes.append(outcome)
        said = {"better": "LSTM better", "worse": "GRU better", "undecided": "undecided, within the spread"}[outcome]
        parts.append(f"{label}: LSTM {lstm[key][0]:.4f} ± {lstm[key][1]:.4f} vs GRU (H={gru['hidden_size']}) "
                     f"{gru[key][0]:.4f} ± {gru[key][1]:.4f}, difference {gap:+.4f} vs spread {spread:.4f} — {said}")
    better = "better" in outcomes and "worse" not in outcomes
    worse = "worse" in outcomes and "better" not in outcomes
    holds = True if better else False if worse else None
    text = "; ".join(parts) + (f" (mean ± standard deviation over {lstm['seeds']} seed(s), equal updates, one "
                               "learning rate for all)")
    holds, text = enough_seeds(holds, lstm["seeds"], text)
    return QUALITY.judge("LSTM is slightly better than GRU (equal parameters)", holds, text)


def claims(results: dict[str, Any]) -> list[Claim]:
    """Quality at equal parameters (per task) and speed at equal hidden size, judged twice."""
    return [quality_claim(results), *speed_claims(results)]


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
             "", "## Speed, judged twice", "",
             "Once where both cells run the same code (rnnkit's reference loop: the cells' own cost), once with the "
             "defaults a user gets (the backends rnnkit picks: on CPU torch.nn's kernels for training — oneDNN's "
             "LSTM, ATen's GRU — and the compiled loop for streaming), the LSTM and the reset-after GRU at equal "
             "hidden size, interleaved in one process.", "", *speed_table(results), "",
             *verdict_section(results["claims"], RULES), "![quality and speed](quality_speed.png)", ""]
    return "\n".join(lines)
