"""Seed ensembles on the sentiment split: does averaging k models of a recipe beat bag-of-words?

    python benchmarks/sentiment_ensemble.py --init-from runs/quality/lm-reviews-6ep   # ~40 min, 1 thread
    python benchmarks/sentiment_ensemble.py --init-from LMDIR --only bow bilstm+lm --seeds 13 14 15
    python benchmarks/sentiment_ensemble.py --quick       # seconds, on the test fixture (CI); no results file

Each recipe is trained once per seed with `rnnkit train sentiment` into WORK/NAME-SEED (a finished directory
is reused, so an interrupted run picks up where it stopped). For each recipe the table gives the single
models' test accuracy (mean ± sample standard deviation over the seeds) and the accuracy of their
ensemble (`rnnkit evaluate DIR --ensemble DIR2 …`: mean class probabilities) on validation and test, with
the summed training time — the ensemble's cost. Pick a recipe by its validation column: the test column
of the best-looking row is biased upward by the choice. Each row is compared with the best bag-of-words
ensemble on the same test snippets by an exact McNemar test. Bag-of-words is ensembled the same way, so
the comparison is like for like. A last row lets every recurrent model vote.
Writes benchmarks/results/sentiment-ensemble-<machine>.json and docs/img/sentiment-ensemble.png.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.metrics.classification import classification_report
from rnnkit.tasks.run import train as train_sentiment
from rnnkit.tasks.sentiment import SentimentEnsemble, SentimentOptions, load_data
from rnnkit.train.config import TrainConfig

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reviews.csv"
RECIPES: dict[str, dict] = {
    "bow": {"model": "bow"},
    "bow+bigrams": {"model": "bow", "bigrams": True},
    "lstm": {"cell": "lstm"},
    "bilstm": {"cell": "lstm", "bidirectional": True},
}
PRETRAINED: dict[str, dict] = {  # with --init-from LMDIR
    "lstm+lm": {"cell": "lstm"},
    "bilstm+lm": {"cell": "lstm", "bidirectional": True},
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


def mcnemar_p(a_right: torch.Tensor, b_right: torch.Tensor) -> float:
    """Exact two-sided McNemar test: the probability, if both classifiers were equally accurate, of
    disagreements at least this lopsided (binomial on the pairs exactly one of them gets right)."""
    only_a, only_b = int((a_right & ~b_right).sum()), int((b_right & ~a_right).sum())
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def recipe_row(name: str, flags: str, dirs: list[Path], metrics: list[dict], data) -> dict:
    ensemble = SentimentEnsemble(dirs)
    probs = ensemble.probabilities([ex.text for ex in data.test])  # (members, texts, classes)
    gold = torch.tensor([ex.label for ex in data.test])
    report = classification_report(gold, probs.mean(0).argmax(1), ensemble.labels)
    singles = [m["test"]["accuracy"] for m in metrics]
    # The ensemble of the first k members, k = 1..K: how many members the gain needs.
    curve = [float((probs[:k].mean(0).argmax(1) == gold).double().mean()) for k in range(1, len(dirs) + 1)]
    # Validation accuracy of the ensemble: the honest way to pick a recipe (the test split only reports).
    val_probs = ensemble.probabilities([ex.text for ex in data.val]).mean(0)
    val_accuracy = float((val_probs.argmax(1) == torch.tensor([ex.label for ex in data.val])).double().mean())
    return {"name": name, "flags": flags, "seeds": [m["seed"] for m in metrics], "single_accuracies": singles,
            "single_mean": statistics.mean(singles),
            "single_sd": statistics.stdev(singles) if len(singles) > 1 else 0.0,
            "ensemble_accuracy": report["accuracy"], "ensemble_macro_f1": report["macro_f1"],
            "ensemble_val_accuracy": val_accuracy,
            "ensemble_by_size": curve, "train_seconds": [m["train_seconds"] for m in metrics],
            "total_train_seconds": round(sum(m["train_seconds"] for m in metrics), 1),
            "torch_threads": metrics[0].get("torch_threads"),
            "right": probs.mean(0).argmax(1) == gold}  # (N,) bool, dropped before writing


def table(rows: list[dict]) -> str:
    lines = ["| recipe | flags | members | single model (mean ± sd) | ensemble (val) | ensemble | ensemble macro-F1 "
             "| vs best bag-of-words ensemble (McNemar p) | training, all members |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        vs = r.get("vs_best_bow_ensemble")
        versus = f"{vs['points']:+.1f} pts (p = {vs['mcnemar_p']:.2f})" if vs else "–"
        lines.append(f"| {r['name']} | `{r['flags']}` | {len(r['single_accuracies'])} | {r['single_mean']:.3f} ± "
                     f"{r['single_sd']:.3f} | {r['ensemble_val_accuracy']:.3f} | **{r['ensemble_accuracy']:.3f}** | "
                     f"{r['ensemble_macro_f1']:.3f} | "
                     f"{versus} | {r['total_train_seconds']:.0f} s |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> Path:
    """Test accuracy of the ensemble of the first k seeds, against k, one line per recipe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in rows:
        if r["name"] == "every recurrent model":  # its members are the other rows'
            continue
        k = range(1, len(r["ensemble_by_size"]) + 1)
        style = "--" if r["name"].startswith("bow") else "-"
        ax.plot(k, r["ensemble_by_size"], style, marker="o", markersize=3, label=r["name"])
    ax.set_xlabel("members (seeds 13, 14, … averaged)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Rotten Tomatoes by movie: the ensemble of the first k seeds of each recipe", fontsize=9)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, choices=[*RECIPES, *PRETRAINED])
    parser.add_argument("--seeds", nargs="+", type=int, default=[13, 14, 15, 16, 17])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--init-from", default=None, metavar="LMDIR", help="also the LM-pretrained recipes")
    parser.add_argument("--work", type=Path, default=Path("runs/ensemble"), help="where the members are trained")
    parser.add_argument("--quick", action="store_true", help="fixture data, 1 epoch, tiny models; no results file")
    parser.add_argument("--plot", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img" /
                        "sentiment-ensemble.png", help="accuracy against the number of members")
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
                if overrides.get("model") == "bow" or "init_from" in overrides else base
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
            if overrides.get("model") != "bow":
                recurrent_dirs += dirs
                recurrent_metrics += metrics
        if len({r["name"] for r in rows if r["name"] != "bow"}) > 1:
            rows.append(recipe_row("every recurrent model", "the recurrent rows above", recurrent_dirs,
                                   recurrent_metrics, data))
    right = {r["name"]: r.pop("right") for r in rows}
    bows = [r for r in rows if r["name"].startswith("bow")]
    if bows:  # every other row against the best bag-of-words ensemble, on the same test snippets
        best = max(bows, key=lambda r: r["ensemble_accuracy"])
        for r in rows:
            if r is not best:
                points = 100 * (r["ensemble_accuracy"] - best["ensemble_accuracy"])
                r["vs_best_bow_ensemble"] = {"name": best["name"], "points": round(points, 2),
                                             "mcnemar_p": round(mcnemar_p(right[r["name"]], right[best["name"]]), 4)}
    print(table(rows))
    if args.quick:
        return
    print("plot:", plot(rows, args.plot))
    out = Path(__file__).parent / "results" / f"sentiment-ensemble-{machine_tag()}.json"
    print("wrote", write_results(out, rows, command="python benchmarks/sentiment_ensemble.py", data="rt-polarity",
                                 split_seed=13, epochs=args.epochs, init_from=args.init_from))


if __name__ == "__main__":
    main()
