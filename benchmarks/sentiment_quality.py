"""The sentiment quality table: majority, bag-of-words (uni, uni+bi) and every recurrent cell on one split.

    python benchmarks/sentiment_quality.py                 # full table (~20 min on 2 CPU cores)
    python benchmarks/sentiment_quality.py --only lstm bow # a subset
    python benchmarks/sentiment_quality.py --only bow lstm --seeds 13 14 15   # the spread over seeds
    python benchmarks/sentiment_quality.py --init-from runs/lm-reviews          # + the LM-pretrained rows
    python benchmarks/sentiment_quality.py --add lstm+lm=runs/x                 # merge a finished model dir
    python benchmarks/sentiment_quality.py --quick         # seconds, on the test fixture (CI)

Each row is `rnnkit train sentiment` with the flags shown on the same data split; ``--seeds`` repeats each
with other initialisation/shuffling seeds (the split stays that of --split-seed 13). Rows are merged into
benchmarks/results/sentiment-<machine>.json (a row of the same name and seed is replaced), and the table
printed: mean over the seeds in the file, ± the sample standard deviation when there are several.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.tasks.run import train as train_sentiment
from rnnkit.tasks.sentiment import SentimentOptions, load_data
from rnnkit.train.config import TrainConfig

CONFIGS: dict[str, dict] = {
    "bow": {"model": "bow"},
    "bow+bigrams": {"model": "bow", "bigrams": True},
    "rnn": {"cell": "rnn"},
    "lstm": {"cell": "lstm"},
    "gru": {"cell": "gru"},
    "gru-reset-before": {"cell": "gru-reset-before"},
    "bilstm": {"cell": "lstm", "bidirectional": True},
}
PRETRAINED: dict[str, dict] = {  # with --init-from LMDIR: the LM's embedding and encoder, its sizes and vocabulary
    "lstm+lm": {"cell": "lstm"},
    "bilstm+lm": {"cell": "lstm", "bidirectional": True},
}


def majority(opts: SentimentOptions) -> dict:
    data = load_data(opts)
    most = Counter(ex.label for ex in data.train).most_common(1)[0][0]
    correct = sum(ex.label == most for ex in data.test)
    return {"name": "majority", "flags": "", "seed": None, "accuracy": correct / len(data.test), "macro_f1": None,
            "train_seconds": 0.0, "label": data.labels[most]}


def flags_of(overrides: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in overrides.items())


def row_of(name: str, flags: str, seed: int | None, result: dict) -> dict:
    test = result["test"]
    return {"name": name, "flags": flags, "seed": seed, "accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
            "train_seconds": result["train_seconds"], "best_epoch": result["best_val"]["epoch"],
            "parameters": result["parameters"], "torch_threads": result.get("torch_threads")}


def added_row(spec: str) -> dict:
    """``NAME=DIR``: the row of a model directory trained by the CLI (flags from its config.json)."""
    name, _, directory = spec.partition("=")
    metrics, config = (json.loads((Path(directory) / f).read_text(encoding="utf-8"))
                       for f in ("metrics.json", "config.json"))
    options, train = config.get("options", {}), config.get("train", {})
    defaults, train_defaults = SentimentOptions(), TrainConfig()
    changed = {k: v for k, v in options.items() if k in defaults.__dataclass_fields__ and v != getattr(defaults, k)}
    changed |= {k: v for k, v in train.items() if k not in (*TrainConfig.RUNTIME, "seed", "epochs")
                and k in train_defaults.__dataclass_fields__ and v != getattr(train_defaults, k)}
    return row_of(name, flags_of(changed), metrics.get("seed"), metrics)


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    key = lambda r: (r["name"], r.get("seed"))  # noqa: E731
    fresh = {key(r) for r in new}
    return [r for r in old if key(r) not in fresh] + new


def table(rows: list[dict]) -> str:
    """One line per name: mean accuracy over its seeds (± sample standard deviation when several)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["name"]].append(r)
    lines = ["| model | flags | test accuracy | macro-F1 | seeds | training time |", "|---|---|---|---|---|---|"]
    for name, rs in groups.items():
        acc = [r["accuracy"] for r in rs]
        spread = f" ± {statistics.stdev(acc):.3f}" if len(acc) > 1 else ""
        f1s = [r["macro_f1"] for r in rs if r["macro_f1"] is not None]
        f1 = f"{statistics.mean(f1s):.3f}" if f1s else "–"
        seeds = ", ".join(str(r["seed"]) for r in rs if r.get("seed") is not None) or "–"
        seconds = statistics.mean(r["train_seconds"] for r in rs)
        lines.append(f"| {name} | `{rs[0]['flags']}` | {statistics.mean(acc):.3f}{spread} | {f1} | {seeds} | "
                     f"{seconds:.0f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, choices=[*CONFIGS, *PRETRAINED])
    parser.add_argument("--data", default="rt-polarity")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", nargs="+", type=int, default=[13])
    parser.add_argument("--init-from", default=None, metavar="LMDIR", help="also the LM-pretrained rows")
    parser.add_argument("--add", nargs="*", default=[], metavar="NAME=DIR", help="rows from finished model dirs")
    parser.add_argument("--quick", action="store_true", help="fixture data, 1 epoch, tiny models; no results file")
    parser.add_argument("--data-args", nargs=2, default=None, metavar=("TEXT_COL", "LABEL_COL"))
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    base = {"data": args.data}
    if args.data_args:
        base.update(text_col=args.data_args[0], label_col=args.data_args[1])
    quick = {"min_freq": 1} if args.quick else {}
    tiny = {"embed_dim": 8, "hidden_size": 8} if args.quick else {}
    configs = {**CONFIGS, **({k: {**v, "init_from": args.init_from} for k, v in PRETRAINED.items()}
                             if args.init_from else {})}
    names = args.only if args.only is not None else list(configs)
    rows = [majority(SentimentOptions(**base))] if args.only is None else []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name not in configs:
                raise SystemExit(f"{name} needs --init-from LMDIR")
            overrides = configs[name]
            size = {} if overrides.get("model") == "bow" or "init_from" in overrides else tiny
            opts = SentimentOptions(**base, **quick, **size, **overrides)
            for seed in args.seeds:
                cfg = TrainConfig(epochs=1 if args.quick else args.epochs, seed=seed, progress=False)
                result = train_sentiment(opts, cfg, Path(tmp) / f"{name}-{seed}", log=lambda _: None)
                rows.append(row_of(name, flags_of(overrides), seed, result))
                print(f"{name:18s} seed {seed} acc {rows[-1]['accuracy']:.4f}  F1 {rows[-1]['macro_f1']:.4f}  "
                      f"{result['train_seconds']:.0f} s", flush=True)
    rows += [added_row(spec) for spec in args.add]
    if args.quick:
        print(table(rows))
        return
    out = Path(__file__).parent / "results" / f"sentiment-{machine_tag()}.json"
    old = json.loads(out.read_text(encoding="utf-8"))["records"] if out.exists() else []
    rows = merge([{"seed": 13, **r} if r["name"] != "majority" else r for r in old], rows)
    print(table(rows))
    print("wrote", write_results(out, rows, command="python benchmarks/sentiment_quality.py", data=args.data,
                                 epochs=args.epochs))


if __name__ == "__main__":
    main()
