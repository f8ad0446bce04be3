"""The language-modelling table: word-level Jane Austen, character-level Shakespeare.

    python benchmarks/lm_quality.py                       # every recipe, 30 min cap each (~1.5 h)
    python benchmarks/lm_quality.py --only shakespeare    # one recipe
    python benchmarks/lm_quality.py --from runs/quality   # only rewrite the results file from finished runs
    python benchmarks/lm_quality.py --quick               # seconds, on the test fixture (CI); no results file

Each recipe is one `rnnkit train lm` command (printed in the table), trained into OUT/lm-NAME with a
wall-clock cap; the table gives the test perplexity (word level) or bits per character (char level) of the
best validation epoch next to the n-gram baselines of the same vocabulary, the epochs and updates it took
and the threads it ran on. Writes benchmarks/results/lm-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.tasks.lm import LMOptions
from rnnkit.tasks.run import train as train_lm
from rnnkit.train.checkpoint import read_jsonl
from rnnkit.train.config import TrainConfig

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "lm" / "wikitext-2"

# name -> (LMOptions overrides, TrainConfig overrides). Epochs set the LR schedule's length; the cap stops early.
RECIPES: dict[str, tuple[dict, dict]] = {
    "austen": ({"data": "austen", "embed_dim": 256, "hidden_size": 512, "tie_weights": True, "dropout": 0.4},
               {"lr": 3e-3, "epochs": 6, "max_minutes": 30.0}),
    "shakespeare": ({"data": "shakespeare", "embed_dim": 64, "hidden_size": 512, "layers": 2, "dropout": 0.2,
                     "bptt": 128, "batch_size": 64}, {"lr": 3e-3, "epochs": 3, "max_minutes": 30.0}),
    "shakespeare-1x512": ({"data": "shakespeare", "embed_dim": 64, "hidden_size": 512, "dropout": 0.1, "bptt": 128,
                           "batch_size": 64}, {"lr": 3e-3, "epochs": 4, "max_minutes": 30.0}),
}
QUICK = ({"data": str(FIXTURE), "min_freq": 1, "embed_dim": 16, "hidden_size": 16, "bptt": 8, "batch_size": 4},
         {"epochs": 1})


def command(opts: dict, train: dict) -> str:
    flags = []
    for key, value in {**opts, **train}.items():
        flag = "--" + key.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return "rnnkit train lm " + " ".join(flags)


def record(name: str, directory: Path, opts: dict, train: dict) -> dict:
    """One table row from a finished model directory (its metrics.json and history.jsonl)."""
    metrics_file = directory / "metrics.json"
    if not metrics_file.exists():
        raise SystemExit(f"{directory} has no metrics.json: the run did not finish; "
                         f"continue it with `rnnkit train lm --resume {directory}`")
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    test, level = metrics["test"], metrics["level"]
    curve = [{"epoch": r["epoch"], "elapsed_s": r["elapsed_s"], "val_perplexity": r["val"]["perplexity"]}
             for r in read_jsonl(directory / "history.jsonl")]
    return {"name": name, "command": command(opts, train), "data": metrics.get("data"), "level": level,
            "test_perplexity": test["perplexity"], "test_bits_per_token": test["loss"] / math.log(2),
            "test_tokens": test["tokens"], "baselines": metrics["baselines"],
            "best_epoch": metrics["best_val"]["epoch"], "epochs_run": len(curve), "steps": metrics["steps"],
            "train_seconds": metrics["train_seconds"], "parameters": metrics["parameters"],
            "torch_threads": metrics.get("torch_threads"), "val_curve": curve}


def row(r: dict) -> str:
    best = min(r["baselines"], key=lambda k: r["baselines"][k]["test_perplexity"])
    b = r["baselines"][best]
    if r["level"] == "char":
        main, base = f"{r['test_bits_per_token']:.3f} bits/char", f"{best} {b['test_bits_per_token']:.3f} bits/char"
    else:
        main, base = f"perplexity {r['test_perplexity']:.1f}", f"{best} {b['test_perplexity']:.1f}"
    return (f"| {r['name']} | `{r['command']}` | {main} | {base} | {r['epochs_run']} "
            f"({r['steps']:,} updates) | {r['train_seconds'] / 60:.0f} min, {r['torch_threads']} thr |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/quality"), help="folder of the runs (OUT/lm-NAME)")
    parser.add_argument("--only", nargs="*", choices=list(RECIPES), default=None)
    parser.add_argument("--from", dest="existing", type=Path, default=None, metavar="DIR",
                        help="read finished runs (DIR/lm-NAME) instead of training")
    parser.add_argument("--threads-of", nargs="*", default=[], metavar="NAME=N",
                        help="with --from: torch threads of runs whose metrics.json predates recording them")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    threads = {k: int(v) for k, v in (item.split("=", 1) for item in args.threads_of)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        recipes = {"quick": QUICK} if args.quick else {k: RECIPES[k] for k in args.only or RECIPES}
        root = Path(tmp) if args.quick else args.existing or args.out
        for name, (opts, train) in recipes.items():
            directory = root / f"lm-{name}"
            if args.existing is None:
                train_lm(LMOptions(**opts), TrainConfig(**train, progress=False), directory, log=lambda _: None)
            rows.append(record(name, directory, opts, train))
            rows[-1]["torch_threads"] = rows[-1]["torch_threads"] or threads.get(name)
    table = ["| corpus | command | test | best n-gram baseline | epochs | training |", "|---|---|---|---|---|---|"]
    table += [row(r) for r in rows]
    print("\n".join(table))
    if not args.quick:
        out = Path(__file__).parent / "results" / f"lm-{machine_tag()}.json"
        print("wrote", write_results(out, rows, command="python benchmarks/lm_quality.py"))


if __name__ == "__main__":
    main()
