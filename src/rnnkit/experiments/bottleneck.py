"""The lecture's bottleneck, measured: "the network will have time to forget everything".

Three encoder–decoders are trained on the same data, split, seed and number of updates (epochs, no wall
clock: a time cap would give the faster model more updates) and differ in how the decoder sees the
source: **attention** (it can look back at every encoder output), **no attention** (only through the
final states of a bidirectional encoder, bridged), and the lecture's **plain encoder–decoder** (a
unidirectional encoder whose last state is the decoder's first state: the only message). Each is scored
with sacreBLEU per source-length bucket, and the share of BLEU lost from the shortest bucket to the
longest is compared: drop = 1 − BLEU(longest) / BLEU(shortest).

The verdict is taken **within each domain**: in the fr-en data, short sources are mostly LibreOffice
strings and long ones Bible verses, so the pooled buckets confound length with domain. The claim holds
in a domain when both models without attention lose a larger share than the model with attention.

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

from rnnkit.experiments.record import finish, pyplot, save_figure, stamp
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, enough_seeds, verdict_section
from rnnkit.metrics.bleu import bucket_drop
from rnnkit.tasks.run import train
from rnnkit.tasks.translate import TranslateOptions
from rnnkit.train.config import TrainConfig

ARMS = {"attention": {"attention": "bahdanau"},
        "no attention": {"attention": "none"},
        "plain encoder–decoder": {"attention": "none", "bidirectional": False}}
QUICK = {"src_bpe": 300, "tgt_bpe": 300, "embed_dim": 16, "hidden_size": 32, "batch_size": 16, "beam": 2,
         "val_sentences": 0}
TRACES: tuple[str, ...] = ()
WITHIN_DOMAIN = Rule(
    "bottleneck/within-domain",
    "within each domain, each model's share of BLEU lost from its shortest to its longest source bucket (1 − "
    "BLEU(longest) / BLEU(shortest)); the claim holds in a domain when both models without attention lose a larger "
    "share than the model with attention; holds when it holds in every domain that can be judged, does not hold "
    "when it fails in every one, undecided when the domains disagree or none can be judged (a bucket's BLEU of 0, "
    "a single bucket); fewer than min_seeds seeds: undecided", {"min_seeds": MIN_SEEDS})
RULES = (WITHIN_DOMAIN,)
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


def run(out: Path, *, quick: bool = False, minutes: float | None = None, epochs: int = 3, data: str = "fr-en",
        log=print) -> dict[str, Any]:
    """Train every arm into ``out/<arm>`` and write the comparison (see the module docstring).

    The budget is ``epochs`` — the same updates for every arm. ``minutes`` (off by default) also cuts
    each model's training at that much wall clock; the report then says the arms' updates differ."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {"data": data}
    cfg = TrainConfig(epochs=epochs, patience=0, max_minutes=minutes, progress=False)  # patience 0: equal updates
    if quick:
        base = {"data": str(write_quick_corpus(out / "data" / "fra.txt")), **QUICK}
        cfg = TrainConfig(epochs=2, lr=5e-3, progress=False)
    arms: dict[str, Any] = {}
    for name, arm in ARMS.items():
        opts = TranslateOptions(**base, **arm)
        flags = " ".join(f"--{k} {v}" for k, v in arm.items())
        log(f"training '{name}' ({flags}), budget {cfg.epochs} epochs, {cfg.max_minutes or '∞'} min")
        cpu = time.process_time()
        result = train(opts, cfg, out / name.replace(" ", "-").replace("–", "-"), log=log)
        test = result["test"]
        arms[name] = {**arm, "bleu": test["bleu"], "chrf": test["chrf"],
                      "greedy_bleu": test.get("greedy", test)["bleu"], "per_domain": test["per_domain"],
                      "per_bucket": test["per_bucket"], "drop": bucket_drop(test["per_bucket"]),
                      "per_domain_bucket": test["per_domain_bucket"],
                      "train_seconds": result["train_seconds"], "steps": result["steps"],
                      "cpu_seconds": round(time.process_time() - cpu, 1),  # training + evaluation, this process
                      "parameters": result["parameters"], "best_val": result["best_val"],
                      "decoding": test["decoding"], "signature": test["signature"]}
    results = {**stamp("bottleneck", quick), "data": base["data"], "budget_minutes": cfg.max_minutes,
               "budget_epochs": cfg.epochs, "seeds": 1,
               "train_config": asdict(cfg), "options": {k: v for k, v in asdict(TranslateOptions(**base)).items()
                                                        if k not in ("attention", "bidirectional")},
               "arms": arms, "within_domain": within_domain(arms)}
    results["claims"] = claims(results)
    results["plots"] = [plot(arms, out / "bleu_by_length.png").name]
    return finish(out, results, report(results))


def within_domain(arms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per domain: each arm's BLEU drop from its shortest to its longest bucket, and whether both arms
    without attention lose more than the one with it (None: a drop cannot be computed)."""
    domains = list(dict.fromkeys(d for arm in arms.values() for d in arm["per_domain_bucket"]))
    found = {}
    for domain in domains:
        drops = {name: bucket_drop(arm["per_domain_bucket"].get(domain, {})) for name, arm in arms.items()}
        others = [d for name, d in drops.items() if name != "attention"]
        if drops["attention"] is None or None in others:
            holds = None
        else:
            holds = all(d > drops["attention"] for d in others)
        found[domain] = {"drops": drops, "holds": holds}
    return found


def _claim(within: dict[str, dict[str, Any]]) -> bool | None:
    """Holds when it holds in every domain that can be judged, does not hold when it fails in every one;
    None when the domains disagree (the run cannot decide) or none can be judged."""
    judged = [v["holds"] for v in within.values() if v["holds"] is not None]
    if judged and all(judged):
        return True
    if judged and not any(judged):
        return False
    return None


def claims(results: dict[str, Any]) -> list[Claim]:
    """:data:`WITHIN_DOMAIN`, re-computed from each arm's BLEU per domain and bucket."""
    def pct(d: float | None) -> str:
        return "–" if d is None else format(d, ".0%")

    answer = {True: "yes", False: "no", None: "cannot tell"}
    within = within_domain(results["arms"])
    per_domain = "; ".join(f"{domain}: " + ", ".join(f"{n} {pct(d)}" for n, d in v["drops"].items())
                           + f" (both without attention lose more: {answer[v['holds']]})"
                           for domain, v in within.items())
    pooled = ", ".join(f"{name} {pct(arm['drop'])}" for name, arm in results["arms"].items())
    bleu = ", ".join(f"{name} {arm['bleu']:.1f}" for name, arm in results["arms"].items())
    seeds = results.get("seeds", 1)
    budget = f"{results['budget_epochs']} epochs per model, equal updates, {seeds} seed(s); test BLEU {bleu}"
    holds, text = enough_seeds(_claim(within), seeds, "BLEU lost from the shortest to the longest source bucket, "
                               f"within each domain — {per_domain or 'no domain'}; pooled over domains: {pooled} "
                               f"({budget})")
    return [WITHIN_DOMAIN.judge("Without attention, a seq2seq model loses more of its BLEU on long sources", holds,
                                text)]


def plot(arms: dict[str, Any], path: Path) -> Path:
    """Grouped bars: test BLEU per source-length bucket, without and with attention."""
    plt = pyplot()
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
    seeds = results.get("seeds", 1)
    budget = f"{results['budget_epochs']} epochs" + (f" cut at {results['budget_minutes']} min" if
                                                       results["budget_minutes"] else "") + " per model"
    lines = ["# Bottleneck: seq2seq without vs with attention", "",
             f"Data `{results['data']}`, budget {budget}, {seeds} seed(s), on {m['cpu']} ({m['cores']} cores, "
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
    lines += ["", "Share of BLEU lost from the shortest to the longest source bucket, within each domain:", "",
              "| domain | " + " | ".join(arms) + " | both without attention lose more |",
              "|---" * (2 + len(arms)) + "|"]
    mark = {True: "yes", False: "no", None: "–"}
    for domain, v in results["within_domain"].items():
        drops = ["–" if d is None else f"{100 * d:.0f} %" for d in v["drops"].values()]
        lines.append(f"| {domain} | " + " | ".join(drops) + f" | {mark[v['holds']]} |")
    lines += ["", "The few long sources of a domain make its last bucket noisy (sentence counts in parentheses).", "",
              *verdict_section(results["claims"], RULES), "![BLEU by source length](bleu_by_length.png)", ""]
    return "\n".join(lines)
