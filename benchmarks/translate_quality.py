"""The translation numbers of the README: the default model, and the bottleneck experiment.

    python benchmarks/translate_quality.py                    # both (~1.5 h on the 2-core CPU)
    python benchmarks/translate_quality.py --only default     # `rnnkit train translate --max-minutes 30`, seeds 13, 14
    python benchmarks/translate_quality.py --only bottleneck  # `rnnkit experiment bottleneck` (3 epochs per model)
    python benchmarks/translate_quality.py --from runs/mt     # only rewrite the results file from finished runs
    python benchmarks/translate_quality.py --quick            # seconds, synthetic data (CI); no results file

Runs into OUT/default (the documented recipe, `rnnkit train translate --max-minutes 30` with every default:
fr-en, GRU 256, bidirectional encoder, BPE 4k per side, Bahdanau attention, as many epochs as fill the 30
minutes) and OUT/bottleneck (the plain encoder–decoder and both attentions, the same number of updates
each), then writes benchmarks/results/translate-<machine>.json with BLEU/chrF overall, per domain and per
source-length bucket, the budget (epochs, updates, wall and CPU seconds) and the hardware. The 30-minute
budget is wall clock: run it on an otherwise idle machine (2 torch threads on the 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.experiments.bottleneck import run
from rnnkit.tasks.run import train as train_translate
from rnnkit.tasks.translate import TranslateOptions
from rnnkit.train.checkpoint import read_jsonl
from rnnkit.train.config import TrainConfig

KEYS = ("bleu", "chrf", "per_domain", "per_bucket", "per_domain_bucket")


def default_record(directory: Path) -> dict:
    """The default model's test report and its validation curve (greedy val BLEU against training time)."""
    metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    curve = [{"epoch": r["epoch"], "elapsed_s": r["elapsed_s"], "val_bleu": r["val"]["bleu"],
              "val_loss": r["val"]["loss"]} for r in read_jsonl(directory / "history.jsonl")]
    return {"model": f"default ({metrics.get('attention')}), --max-minutes 30, seed {metrics.get('seed')}",
            **{k: test[k] for k in KEYS if k in test},
            "greedy_bleu": test.get("greedy", test)["bleu"], "decoding": test["decoding"],
            "train_seconds": metrics["train_seconds"], "steps": metrics["steps"], "epochs": metrics.get("epochs"),
            "planned_epochs": metrics.get("planned_epochs"), "best_epoch": metrics["best_val"]["epoch"],
            "parameters": metrics["parameters"], "torch_threads": metrics.get("torch_threads"),
            "val_curve": curve, "samples": test["samples"], "signature": test["signature"]}


def bottleneck_records(results: dict) -> list[dict]:
    return [{"model": f"bottleneck: {name}", "budget_epochs": results["budget_epochs"],
             **{k: arm[k] for k in ("attention", *KEYS, "greedy_bleu", "drop", "train_seconds", "cpu_seconds",
                                    "steps", "parameters") if k in arm}}
            for name, arm in results["arms"].items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/mt"), help="folder of the runs")
    parser.add_argument("--only", choices=("default", "bottleneck"), default=None)
    parser.add_argument("--epochs", type=int, default=3, help="bottleneck: epochs per model (the experiment's default)")
    parser.add_argument("--from", dest="existing", type=Path, default=None, metavar="DIR",
                        help="read finished runs (DIR/default, DIR/bottleneck) instead of training")
    parser.add_argument("--seeds", type=int, nargs="*", default=[14], help="default: more seeds beside the default "
                        "one (each into OUT/default-seedN; the README quotes seeds 13 and 14)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    root = args.existing or args.out
    records: list[dict] = []
    meta: dict = {"command": "python benchmarks/translate_quality.py", "data": "fr-en"}
    if args.only in (None, "default") and not args.quick:
        names = ["default"] + [f"default-seed{seed}" for seed in args.seeds]
        for name, seed in zip(names, [TrainConfig().seed, *args.seeds], strict=True):
            if args.existing is None:
                cpu = time.process_time()
                train_translate(TranslateOptions(), TrainConfig(max_minutes=30, seed=seed, progress=False), root / name)
                meta[f"{name}_cpu_seconds"] = round(time.process_time() - cpu, 1)
            records.append(default_record(root / name))
    if args.only in (None, "bottleneck") or args.quick:
        if args.existing is None:
            results = run(root / "bottleneck", quick=args.quick, minutes=None, epochs=args.epochs)
        else:
            results = json.loads((root / "bottleneck" / "results.json").read_text(encoding="utf-8"))
        records += bottleneck_records(results)
        meta.update(bottleneck_epochs=results["budget_epochs"], claim_holds=results["claim_holds"],
                    run_machine=results["machine"])
    for r in records:
        buckets = " / ".join(f"{b} {s['bleu']:.1f}" for b, s in r["per_bucket"].items())
        print(f"{r['model']:26s} BLEU {r['bleu']:.1f} chrF {r['chrf']:.1f} | {buckets}")
    if not args.quick:
        out = Path(__file__).parent / "results" / f"translate-{machine_tag()}.json"
        print("wrote", write_results(out, records, **meta))


if __name__ == "__main__":
    main()
