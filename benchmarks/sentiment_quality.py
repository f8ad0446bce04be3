"""The sentiment quality table: majority, bag-of-words (uni, uni+bi) and every recurrent cell on one split.

    python benchmarks/sentiment_quality.py                 # full table (~20 min on 2 CPU cores)
    python benchmarks/sentiment_quality.py --only lstm bow # a subset
    python benchmarks/sentiment_quality.py --quick         # seconds, on the test fixture (CI)

Each row is `rnnkit train sentiment` with the flags shown, same data split and seed; writes
benchmarks/results/sentiment-<machine>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import torch

from rnnkit.benchmark import machine_tag, write_results
from rnnkit.tasks.sentiment import SentimentOptions, load_data, train_sentiment
from rnnkit.train import TrainConfig

CONFIGS: dict[str, dict] = {
    "bow": {"model": "bow"},
    "bow+bigrams": {"model": "bow", "bigrams": True},
    "rnn": {"model": "rnn"},
    "lstm": {"model": "lstm"},
    "gru": {"model": "gru"},
    "gru-reset-before": {"model": "gru-reset-before"},
    "bilstm": {"model": "lstm", "bidirectional": True},
}


def majority(opts: SentimentOptions) -> dict:
    data = load_data(opts)
    most = Counter(ex.label for ex in data.train).most_common(1)[0][0]
    correct = sum(ex.label == most for ex in data.test)
    return {"name": "majority", "flags": "", "accuracy": correct / len(data.test), "macro_f1": None,
            "train_seconds": 0.0, "label": data.labels[most]}


def flags_of(overrides: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in overrides.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, choices=list(CONFIGS))
    parser.add_argument("--data", default="rt-polarity")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="fixture data, 1 epoch, tiny models; no results file")
    parser.add_argument("--data-args", nargs=2, default=None, metavar=("TEXT_COL", "LABEL_COL"))
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    base = {"data": args.data}
    if args.data_args:
        base.update(text_col=args.data_args[0], label_col=args.data_args[1])
    quick = {"min_freq": 1} if args.quick else {}
    tiny = {"embed_dim": 8, "hidden_size": 8} if args.quick else {}
    rows = [majority(SentimentOptions(**base))]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CONFIGS:
            overrides = CONFIGS[name]
            opts = SentimentOptions(**base, **quick, **({} if overrides["model"] == "bow" else tiny), **overrides)
            cfg = TrainConfig(epochs=1 if args.quick else args.epochs, progress=False)
            result = train_sentiment(opts, cfg, Path(tmp) / name, log=lambda _: None)
            test = result["test"]
            rows.append({"name": name, "flags": flags_of(overrides), "accuracy": test["accuracy"],
                         "macro_f1": test["macro_f1"], "train_seconds": result["train_seconds"],
                         "best_epoch": result["best_val"]["epoch"], "parameters": result["parameters"]})
            print(f"{name:18s} acc {test['accuracy']:.4f}  F1 {test['macro_f1']:.4f}  "
                  f"{result['train_seconds']:.0f} s", flush=True)
    table = ["| model | flags | test accuracy | macro-F1 | training time |", "|---|---|---|---|---|"]
    for r in rows:
        f1 = "–" if r["macro_f1"] is None else f"{r['macro_f1']:.3f}"
        table.append(f"| {r['name']} | `{r['flags']}` | {r['accuracy']:.3f} | {f1} | {r['train_seconds']:.0f} s |")
    print("\n".join(table))
    if not args.quick:
        out = Path(__file__).parent / "results" / f"sentiment-{machine_tag()}.json"
        print("wrote", write_results(out, rows, command="python benchmarks/sentiment_quality.py", data=args.data,
                                     epochs=args.epochs))


if __name__ == "__main__":
    main()
