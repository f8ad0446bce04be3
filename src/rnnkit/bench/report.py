"""Render ``rnnkit.bench.speed.run_suite`` results as markdown tables and a plot (for docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

from rnnkit.extras import pyplot


def layer_table(records: list[dict]) -> str:
    rows = ["| cell | backend | shape (B, T, E, H) | pass | median ms | tokens/s | speed vs torch.nn |",
            "|---|---|---|---|---|---|---|"]
    for r in records:
        rows.append(f"| {r['cell']} | {r['backend']} | {r['B']}, {r['T']}, {r['E']}, {r['H']} | {r['pass']} | "
                    f"{r['median_s'] * 1e3:.2f} | {r['tokens_per_s']:,.0f} | {r['speed_vs_torch_nn']:.2f}× |")
    return "\n".join(rows)


def streaming_table(records: list[dict]) -> str:
    names = list(records[0]["us_per_step"])
    rows = ["| cell (backend) | " + " | ".join(names) + " | step() / nn.LSTM |",
            "|---|" + "---|" * (len(names) + 1)]
    for r in records:
        cells = " | ".join(f"{r['us_per_step'][n]:.1f}" for n in names)
        rows.append(f"| {r['cell']} ({r['backend']}) | {cells} | {r['step_vs_nn_lstm']:.2f}× |")
    return "\n".join(rows)


def markdown(results: dict, machine: dict, command: str) -> str:
    d, loops = results["denormals"], results["training_loop"]
    s = results["streaming"][0]
    parts = [
        f"Measured with `{command}` on {machine['cpu']} ({machine['cores']} cores, {machine['torch_threads']} torch "
        f"threads), torch {machine['torch']}" + (f", GPU {machine['gpu']}" if machine.get("gpu") else "") + ".",
        "Every ratio compares candidates timed in the same process, interleaved (median of the repeats).",
        "",
        "### Layers: one layer, forward and forward+backward",
        "",
        layer_table(results["layers"]),
        "",
        f"### Streaming at batch 1 (µs per step; T={s['T']}, E={s['E']}, H={s['H']}, no grad)",
        "",
        streaming_table(results["streaming"]),
        "",
        "### Denormal floats",
        "",
        f"Forward+backward of a tanh RNN over T={d['T']} steps (H={d['H']}): "
        f"{d['seconds']['not flushed'] * 1e3:.1f} ms without flushing denormals, "
        f"{d['seconds']['flushed'] * 1e3:.1f} ms with `torch.set_flush_denormal(True)` — "
        f"{d['slowdown_without_flush']:.1f}× slower without. rnnkit flushes them in `train_loop` and in the harness.",
        "",
        "### Training-loop overhead",
        "",
        "The same model, batches, AdamW and clipping, trained by a minimal hand-written PyTorch loop and by",
        "rnnkit's `train_loop` (which adds seeding per step, counters, progress and checkpoint bookkeeping):",
        "",
        "| task | model | batches | hand-written loop tokens/s | rnnkit train_loop tokens/s | ratio |",
        "|---|---|---|---|---|---|",
        *[f"| {x['task']} | {x['cell']}, hidden {x['hidden']} | {x['batches']} × {x['B']} × ≤{x['T']} | "
          f"{x['hand_written_tokens_per_s']:,.0f} | {x['rnnkit_fit_tokens_per_s']:,.0f} | **{x['ratio']:.2f}×** |"
          for x in loops],
    ]
    return "\n".join(parts) + "\n"


def plot(results: dict, path: Path) -> Path:
    """Bar chart: forward+backward speed of each cell × backend relative to its torch.nn twin."""
    plt = pyplot()
    records = [r for r in results["layers"] if r["pass"] == "forward+backward" and r["backend"] != "torch.nn"]
    first = (records[0]["B"], records[0]["T"], records[0]["E"], records[0]["H"])
    records = [r for r in records if (r["B"], r["T"], r["E"], r["H"]) == first]
    cells = [r["cell"].replace("-", "-\n", 1) for r in records]  # "gru-\nreset-before": no overlapping labels
    labels = [f"{cell}\n{r['backend']}" for cell, r in zip(cells, records, strict=True)]
    fig, ax = plt.subplots(figsize=(max(6, len(records) * 1.1), 3.8))
    ax.bar(range(len(records)), [r["speed_vs_torch_nn"] for r in records], color="tab:blue")
    ax.axhline(1.0, color="black", lw=1, ls="--", label="torch.nn (same run)")
    ax.set_xticks(range(len(records)), labels, fontsize=8)
    ax.set_ylabel("speed vs torch.nn")
    ax.set_title(f"forward+backward, B={first[0]} T={first[1]} E={first[2]} H={first[3]}")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
