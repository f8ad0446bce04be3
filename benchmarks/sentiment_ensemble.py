"""Seed ensembles on the sentiment split: does averaging k models of a recipe beat bag-of-words?

    python benchmarks/sentiment_ensemble.py --init-from runs/quality/lm-reviews          # ~25 min, 1 thread
    python benchmarks/sentiment_ensemble.py --init-from LMDIR --only bow bilstm+lm --seeds 13 14 15
    python benchmarks/sentiment_ensemble.py --quick       # seconds, on the test fixture (CI); no results file

Each recipe is trained once per seed with `rnnkit train sentiment` into WORK/NAME-SEED (a finished directory
is reused, so an interrupted run picks up where it stopped). For each recipe the table gives the single
models' test accuracy (mean ± sample standard deviation over the seeds) and the accuracy of their
ensemble (`rnnkit evaluate DIR --ensemble DIR2 …`: mean class probabilities), with the summed training
time — the ensemble's cost. Bag-of-words is ensembled the same way, so the comparison is like for like.
A last row lets every recurrent model vote. Writes benchmarks/results/sentiment-ensemble-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from rnnkit.benchmark import machine_tag, write_results
from rnnkit.metrics import classification_report
from rnnkit.tasks.sentiment import SentimentOptions, load_data, train_sentiment
from rnnkit.tasks.sentiment_ensemble import SentimentEnsemble
from rnnkit.train import TrainConfig

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reviews.csv"
RECIPES: dict[str, dict] = {
    "bow": {"model": "bow"},
    "lstm": {"model": "lstm"},
    "bilstm": {"model": "lstm", "bidirectional": True},
}
PRETRAINED: dict[str, dict] = {  # with --init-from LMDIR
    "lstm+lm": {"model": "lstm"},
    "bilstm+lm": {"model": "lstm", "bidirectional": True},
}


def flags_of(overrides: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in overrides.items())


def train_member(directory: Path, opts: SentimentOptions, cfg: TrainConfig) -> dict:
    """The metrics of the model in ``directory``, training it first unless it has finished."""
    metrics = directory / "metrics.json"
    if not metrics.exists():
        if directory.exists():  # an interrupted member: start it again rather than mix settings
            for f in sorted(directory.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
            directory.rmdir()
        train_sentiment(opts, cfg, directory, log=lambda _: None)
    return json.loads(metrics.read_text(encoding="utf-8"))


def recipe_row(name: str, flags: str, dirs: list[Path], metrics: list[dict], data) -> dict:
    ensemble = SentimentEnsemble(dirs)
    probs = ensemble.probabilities([ex.text for ex in data.test])  # (members, texts, classes)
    gold = torch.tensor([ex.label for ex in data.test])
    report = classification_report(gold, probs.mean(0).argmax(1), ensemble.labels)
    singles = [m["test"]["accuracy"] for m in metrics]
    # The ensemble of the first k members, k = 1..K: how many members the gain needs.
    curve = [float((probs[:k].mean(0).argmax(1) == gold).double().mean()) for k in range(1, len(dirs) + 1)]
    return {"name": name, "flags": flags, "seeds": [m["seed"] for m in metrics], "single_accuracies": singles,
            "single_mean": statistics.mean(singles),
            "single_sd": statistics.stdev(singles) if len(singles) > 1 else 0.0,
            "ensemble_accuracy": report["accuracy"], "ensemble_macro_f1": report["macro_f1"],
            "ensemble_by_size": curve, "train_seconds": [m["train_seconds"] for m in metrics],
            "total_train_seconds": round(sum(m["train_seconds"] for m in metrics), 1),
            "torch_threads": metrics[0].get("torch_threads")}


def table(rows: list[dict]) -> str:
    lines = ["| recipe | flags | members | single model (mean ± sd) | ensemble | ensemble macro-F1 "
             "| training, all members |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | `{r['flags']}` | {len(r['single_accuracies'])} | {r['single_mean']:.3f} ± "
                     f"{r['single_sd']:.3f} | **{r['ensemble_accuracy']:.3f}** | {r['ensemble_macro_f1']:.3f} | "
                     f"{r['total_train_seconds']:.0f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, choices=[*RECIPES, *PRETRAINED])
    parser.add_argument("--seeds", nargs="+", type=int, default=[13, 14, 15, 16, 17])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--init-from", default=None, metavar="LMDIR", help="also the LM-pretrained recipes")
    parser.add_argument("--work", type=Path, default=Path("runs/ensemble"), help="where the members are trained")
    parser.add_argument("--quick", action="store_true", help="fixture data, 1 epoch, tiny models; no results file")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    base = {"data": str(FIXTURE), "text_col": "review", "label_col": "sentiment", "min_freq": 1,
            "embed_dim": 8, "hidden_size": 8} if args.quick else {}
    recipes = {**RECIPES, **({k: {**v, "init_from": args.init_from} for k, v in PRETRAINED.items()}
                             if args.init_from else {})}
    names = args.only if args.only is not None else list(recipes)
    missing = [n for n in names if n not in recipes]
    if missing:
        raise SystemExit(f"{', '.join(missing)} need --init-from LMDIR")
    rows, recurrent_dirs, recurrent_metrics = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) if args.quick else args.work
        data = None
        for name in names:
            overrides = recipes[name]
            size = {k: v for k, v in base.items() if k not in ("embed_dim", "hidden_size")} \
                if overrides["model"] == "bow" or "init_from" in overrides else base
            opts = SentimentOptions(**size, **overrides)
            data = data or load_data(opts)
            dirs, metrics = [], []
            for seed in args.seeds:
                cfg = TrainConfig(epochs=1 if args.quick else args.epochs, seed=seed, progress=False)
                dirs.append(work / f"{name}-{seed}")
                metrics.append(train_member(dirs[-1], opts, cfg))
                print(f"{name:10s} seed {seed} acc {metrics[-1]['test']['accuracy']:.4f}  "
                      f"{metrics[-1]['train_seconds']:.0f} s", flush=True)
            rows.append(recipe_row(name, flags_of(overrides), dirs, metrics, data))
            if overrides["model"] != "bow":
                recurrent_dirs += dirs
                recurrent_metrics += metrics
        if len({r["name"] for r in rows if r["name"] != "bow"}) > 1:
            rows.append(recipe_row("every recurrent model", "the recurrent rows above", recurrent_dirs,
                                   recurrent_metrics, data))
    print(table(rows))
    if args.quick:
        return
    out = Path(__file__).parent / "results" / f"sentiment-ensemble-{machine_tag()}.json"
    print("wrote", write_results(out, rows, command="python benchmarks/sentiment_ensemble.py", data="rt-polarity",
                                 split_seed=13, epochs=args.epochs, init_from=args.init_from))


if __name__ == "__main__":
    main()
