"""The lecture's bottleneck, measured: "the network will have time to forget everything".

Two encoder–decoders are trained on the same data, split, seed and time budget and differ in one thing:
``--attention none`` (the decoder sees the source only through the encoder's final state) versus
attention (it can look back at every encoder output). Both are scored with sacreBLEU per source-length
bucket; the claim holds if the model without attention loses a larger share of its BLEU from the
shortest bucket to the longest:  drop = 1 − BLEU(longest) / BLEU(shortest).

Writes ``results.json``, ``bleu_by_length.png`` and ``report.md`` to the output folder. ``quick=True``
replaces the corpus by a synthetic one (French number words → English, 1–12 words) and the models by
tiny ones, to run in seconds.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from rnnkit.bench.timing import machine_info
from rnnkit.experiments.record import save_figure
from rnnkit.metrics.bleu import bucket_drop
from rnnkit.tasks.translate import TranslateOptions, train_translate
from rnnkit.train.checkpoint import write_json
from rnnkit.train.loop import TrainConfig

ARMS = {"attention": "luong-general", "no attention": "none"}  # the default model first
QUICK = {"src_bpe": 300, "tgt_bpe": 300, "embed_dim": 16, "hidden_size": 32, "batch_size": 16, "beam": 2,
         "val_sentences": 0}
NUMBERS = [("zéro", "zero"), ("un", "one"), ("deux", "two"), ("trois", "three"), ("quatre", "four"),
           ("cinq", "five"), ("six", "six"), ("sept", "seven"), ("huit", "eight"), ("neuf", "nine")]


def write_quick_corpus(path: Path, n: int = 400, seed: int = 0) -> Path:
    """A synthetic Anki-format file (``English<TAB>French``) of digit-word sequences of 1–12 words."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [NUMBERS[rng.randrange(10)] for _ in range(rng.randint(1, 12))]
        lines.append(" ".join(en for _, en in words) + "\t" + " ".join(fr for fr, _ in words))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(out: Path, *, quick: bool = False, minutes: float | None = 30.0, epochs: int = 10, data: str = "fr-en",
        log=print) -> dict[str, Any]:
    """Train both arms into ``out/<arm>`` and write the comparison (see the module docstring).

    The budget is ``epochs`` (the LR schedule's length) cut at ``minutes`` of wall-clock training per
    model. On a machine shared with other jobs wall-clock minutes buy unequal compute, so give equal
    ``epochs`` and ``minutes=None`` there: both arms then make the same number of updates."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {"data": data}
    cfg = TrainConfig(epochs=epochs, max_minutes=minutes, progress=False)
    if quick:
        base = {"data": str(write_quick_corpus(out / "data" / "fra.txt")), **QUICK}
        cfg = TrainConfig(epochs=2, lr=5e-3, progress=False)
    arms: dict[str, Any] = {}
    for name, attention in ARMS.items():
        opts = TranslateOptions(**base, attention=attention)
        log(f"training '{name}' (--attention {attention}), budget {cfg.epochs} epochs, {cfg.max_minutes or '∞'} min")
        cpu = time.process_time()
        result = train_translate(opts, cfg, out / name.replace(" ", "-"), log=log)
        test = result["test"]
        arms[name] = {"attention": attention, "bleu": test["bleu"], "chrf": test["chrf"],
                      "greedy_bleu": test.get("greedy", test)["bleu"], "per_domain": test["per_domain"],
                      "per_bucket": test["per_bucket"], "drop": bucket_drop(test["per_bucket"]),
                      "per_domain_bucket": test["per_domain_bucket"],
                      "train_seconds": result["train_seconds"], "steps": result["steps"],
                      "cpu_seconds": round(time.process_time() - cpu, 1),  # training + evaluation, this process
                      "parameters": result["parameters"], "best_val": result["best_val"],
                      "decoding": test["decoding"], "signature": test["signature"]}
    results = {"experiment": "bottleneck", "quick": quick, "data": base["data"], "budget_minutes": cfg.max_minutes,
               "budget_epochs": cfg.epochs,
               "train_config": asdict(cfg), "options": {k: v for k, v in asdict(TranslateOptions(**base)).items()
                                                        if k != "attention"},
               "machine": machine_info(), "torch_threads": torch.get_num_threads(), "arms": arms,
               "claim_holds": _claim(arms), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json(out / "results.json", results)
    plot(arms, out / "bleu_by_length.png")
    (out / "report.md").write_text(report(results), encoding="utf-8")
    return results


def _claim(arms: dict[str, Any]) -> bool | None:
    without, with_ = arms["no attention"]["drop"], arms["attention"]["drop"]
    return None if without is None or with_ is None else without > with_


def plot(arms: dict[str, Any], path: Path) -> Path:
    """Grouped bars: test BLEU per source-length bucket, without and with attention."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buckets = list(dict.fromkeys(b for arm in arms.values() for b in arm["per_bucket"]))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    width = 0.8 / len(arms)
    for i, (name, arm) in enumerate(arms.items()):
        values = [arm["per_bucket"].get(b, {}).get("bleu", 0.0) for b in buckets]
        ax.bar([x + (i - (len(arms) - 1) / 2) * width for x in range(len(buckets))], values, width,
               label=f"{name} (BLEU {arm['bleu']:.1f})")
    ax.set_xticks(range(len(buckets)), buckets)
    ax.set_xlabel("source length (words)")
    ax.set_ylabel("test BLEU")
    ax.set_title("The bottleneck: BLEU by source length")
    ax.legend()
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    """report.md: the setup, the per-bucket table and whether the lecture's claim held."""
    arms = results["arms"]
    buckets = list(dict.fromkeys(b for arm in arms.values() for b in arm["per_bucket"]))
    m, first = results["machine"], next(iter(arms.values()))
    budget = f"{results['budget_epochs']} epochs" + (f" cut at {results['budget_minutes']} min" if
                                                       results["budget_minutes"] else "") + " per model"
    lines = ["# Bottleneck: seq2seq without vs with attention", "",
             f"Data `{results['data']}`, budget {budget}, on {m['cpu']} ({m['cores']} cores, "
             f"{results['torch_threads']} torch threads{', ' + m['gpu'] if 'gpu' in m else ''}), torch {m['torch']}.",
             f"Test decoding: {first['decoding']}. sacreBLEU {first['signature']['bleu']}",
             "", "| model | BLEU | chrF | greedy BLEU | " + " | ".join(buckets)
             + " | drop shortest→longest | updates | training s (wall) | CPU s |", "|---" * (8 + len(buckets)) + "|"]
    for name, arm in arms.items():
        cells = [f"{arm['per_bucket'].get(b, {}).get('bleu', float('nan')):.1f}" for b in buckets]
        drop = "–" if arm["drop"] is None else f"{100 * arm['drop']:.0f} %"
        lines.append(f"| {name} | {arm['bleu']:.1f} | {arm['chrf']:.1f} | {arm['greedy_bleu']:.1f} | "
                     + " | ".join(cells) + f" | {drop} | {arm['steps']} | {arm['train_seconds']:.0f} | "
                     f"{arm['cpu_seconds']:.0f} |")
    domains = list(dict.fromkeys(d for arm in arms.values() for d in arm["per_domain"]))
    if len(domains) > 1:
        lines += ["", "| model | " + " | ".join(f"{d} BLEU" for d in domains) + " |", "|---" * (1 + len(domains)) + "|"]
        for name, arm in arms.items():
            lines.append(f"| {name} | " + " | ".join(f"{arm['per_domain'][d]['bleu']:.1f}" for d in domains) + " |")
        lines += ["", "Within one domain (short sources are mostly UI strings, long ones mostly verses):", "",
                  "| model | domain | " + " | ".join(buckets) + " |", "|---" * (2 + len(buckets)) + "|"]
        for name, arm in arms.items():
            for d in domains:
                row = arm["per_domain_bucket"][d]
                lines.append(f"| {name} | {d} | " + " | ".join(f"{row[b]['bleu']:.1f} ({row[b]['n']})" if b in row
                                                                else "–" for b in buckets) + " |")
    verdict = {True: "holds: the model without attention loses a larger share of its BLEU on long sources.",
               False: "does not hold in this run.", None: "cannot be judged (a shortest-bucket BLEU of 0)."}
    lines += ["", f"The lecture's claim {verdict[results['claim_holds']]}", "", "![BLEU by source length]"
              "(bleu_by_length.png)", ""]
    return "\n".join(lines)
