"""The translation numbers of the README: the default model, and the bottleneck experiment.

    python benchmarks/translate_quality.py                    # both (~1.5 h on one idle core, longer when shared)
    python benchmarks/translate_quality.py --only default     # `rnnkit train translate` with its defaults
    python benchmarks/translate_quality.py --only bottleneck  # `rnnkit experiment bottleneck`, 2 epochs per model
    python benchmarks/translate_quality.py --from runs/mt     # only rewrite the results file from finished runs
    python benchmarks/translate_quality.py --quick            # seconds, synthetic data (CI); no results file

Runs into OUT/default (the default `rnnkit train translate`: fr-en, GRU 256, bidirectional encoder, BPE 4k per
side, Luong general attention, 10 epochs) and OUT/bottleneck (the same model with and without attention, the
same number of updates each), then writes benchmarks/results/translate-<machine>.json with BLEU/chrF overall,
per domain and per source-length bucket, the budget (updates, wall and CPU seconds) and the hardware. Set
OMP_NUM_THREADS=1 on a shared machine (the README's numbers used one thread on a 2-core machine shared with
other jobs, so wall-clock times there are ~2× what an idle core needs: see the CPU seconds).
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
    return {"model": "default (luong-general)", **{k: test[k] for k in KEYS if k in test},
            "greedy_bleu": test.get("greedy", test)["bleu"], "decoding": test["decoding"],
            "train_seconds": metrics["train_seconds"], "steps": metrics["steps"],
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
    parser.add_argument("--epochs", type=int, default=2, help="bottleneck: epochs per model")
    parser.add_argument("--from", dest="existing", type=Path, default=None, metavar="DIR",
                        help="read finished runs (DIR/default, DIR/bottleneck) instead of training")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    root = args.existing or args.out
    records: list[dict] = []
    meta: dict = {"command": "python benchmarks/translate_quality.py", "data": "fr-en"}
    if args.only in (None, "default") and not args.quick:
        if args.existing is None:
            cpu = time.process_time()
            train_translate(TranslateOptions(), TrainConfig(progress=False), root / "default")
            meta["default_cpu_seconds"] = round(time.process_time() - cpu, 1)
        records.append(default_record(root / "default"))
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
