"""The signals quality table: spoken digits (FSDD), activity (HAPT, BasicMotions) and SYNTHETIC video.

    python benchmarks/signals_quality.py                    # every row (~1 h on one core)
    python benchmarks/signals_quality.py --only fsdd-gru    # a subset
    python benchmarks/signals_quality.py --quick            # seconds, on the test fixtures (CI)

Each row is `rnnkit train TASK` with the flags shown (and the default seed 13), run in this process with
one torch thread. The HAPT rows are an ablation: the reference 2-layer LSTM on the raw 6 channels, then
each lever alone, then all of them (the `rnnkit train activity` defaults). Writes
benchmarks/results/signals-<machine>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import tempfile
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.tasks import TASKS
from rnnkit.tasks.run import train as train_model
from rnnkit.train.config import TrainConfig

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "signals"
PLAIN = {"gravity": False, "frontend": "none", "bidirectional": False, "augment_rotation": 0.0, "augment_scale": 0.0}
HAPT_REFERENCE = {**PLAIN, "cell": "lstm", "layers": 2, "hidden_size": 128, "pooling": "last", "batch_size": 64}

# name → (task, options, training settings)
CONFIGS: dict[str, tuple[str, dict, dict]] = {
    "fsdd-gru": ("speech-digits", {"bidirectional": False}, {"epochs": 15}),
    "fsdd-lstm": ("speech-digits", {"cell": "lstm", "bidirectional": False}, {"epochs": 15}),
    "fsdd-rnn": ("speech-digits", {"cell": "rnn", "bidirectional": False}, {"epochs": 15}),
    "fsdd-bigru": ("speech-digits", {}, {"epochs": 15}),
    "hapt-lstm-reference": ("activity", HAPT_REFERENCE, {"epochs": 15}),
    "hapt-+gravity": ("activity", {**HAPT_REFERENCE, "gravity": True}, {"epochs": 15}),
    "hapt-+augment": ("activity", {**HAPT_REFERENCE, "augment_rotation": 45.0, "augment_scale": 0.1}, {"epochs": 15}),
    "hapt-conv-bilstm": ("activity", {**PLAIN, "frontend": "conv", "bidirectional": True}, {"epochs": 15}),
    "hapt-all-levers": ("activity", {}, {"epochs": 20}),
    "hapt-all-levers-seed7": ("activity", {}, {"epochs": 20, "seed": 7}),
    "basicmotions": ("activity", {"data": "basicmotions", "batch_size": 8}, {"epochs": 30}),
    "video-gru": ("video", {}, {"epochs": 12}),
}


def command(task: str, overrides: dict, train: dict) -> str:
    """The `rnnkit train` command line of a row (booleans as --x / --no-x)."""
    options = TASKS[task].options()
    parts = ["rnnkit", "train", task]
    for key, value in overrides.items():
        if getattr(options, key) == value:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag if value is True else flag.replace("--", "--no-", 1)] if isinstance(value, bool) else \
            [flag, str(value)]
    for key, value in {**train, "patience": 0}.items():
        parts += ["--" + key.replace("_", "-"), str(value)]
    return shlex.join(parts)


def run(name: str, task: str, overrides: dict, train: dict, out: Path, quick: bool) -> dict:
    cfg = TrainConfig(**{**train, **({"epochs": 1} if quick else {})}, patience=0, progress=False)
    if quick:
        overrides = {**overrides, "hidden_size": 8}
        if task == "video":
            overrides.update(train_clips=20, val_clips=5, test_clips=5, frames=6, frame_size=16)
        elif task == "speech-digits":
            overrides["data"] = str(FIXTURES / "digits_excerpt.npz")
        else:  # the excerpt as both TRAIN and TEST: 2 train, 1 val, 3 test windows
            for part in ("TRAIN", "TEST"):
                shutil.copy(FIXTURES / "BasicMotions_TRAIN_excerpt.ts", out.parent / f"BasicMotions_{part}.ts")
            overrides["data"] = str(out.parent / "BasicMotions_TRAIN.ts")
    result = train_model(TASKS[task].options(**overrides), cfg, out, log=lambda _: None)
    test = result["test"]
    record = {"name": name, "task": task, "data": result["data"], "command": command(task, overrides, train),
              "accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
              "per_class_f1": {k: v["f1"] for k, v in test["per_class"].items()}, "confusion": test["confusion"],
              "train_seconds": result["train_seconds"], "epochs": cfg.epochs, "seed": cfg.seed,
              "best_epoch": result["best_val"]["epoch"], "best_val_accuracy": result["best_val"]["accuracy"],
              "parameters": result["parameters"],
              "torch_threads": result["torch_threads"], "split": result["split"].get("method"),
              "test_subjects": result["split"].get("keys", {}).get("test") if result["data"] == "hapt" else None}
    if "pair_confusions" in test:
        record["pair_confusions"] = test["pair_confusions"]
    if result.get("synthetic"):
        record["synthetic"] = True
    return record


def table(rows: list[dict]) -> str:
    lines = ["| row | data | command | test accuracy | macro-F1 | SITTING↔STANDING errors | training time |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        pair = next(iter(r.get("pair_confusions", [])), None)
        sit = (f"{pair['SITTING_as_STANDING']} + {pair['STANDING_as_SITTING']} ({pair['share_of_errors']:.0%} of "
               "errors)") if pair else "–"
        data = "SYNTHETIC video" if r.get("synthetic") else r["data"]
        lines.append(f"| {r['name']} | {data} | `{r['command']}` | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {sit} | "
                     f"{r['train_seconds']:.0f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, choices=list(CONFIGS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the table is measured with 1)")
    parser.add_argument("--quick", action="store_true", help="fixture data, 1 epoch, tiny models; no results file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CONFIGS:
            task, overrides, train = CONFIGS[name]
            rows.append(run(name, task, overrides, train, Path(tmp) / name, args.quick))
            r = rows[-1]
            print(f"{name:22s} acc {r['accuracy']:.4f}  F1 {r['macro_f1']:.4f}  {r['train_seconds']:.0f} s", flush=True)
    print(table(rows))
    if not args.quick:
        out = Path(__file__).parent / "results" / f"signals-{machine_tag()}.json"
        previous = {}
        if out.exists() and args.only:  # a subset run updates its rows and keeps the others
            previous = {r["name"]: r for r in json.loads(out.read_text())["records"]}
        merged = {**previous, **{r["name"]: r for r in rows}}
        print("wrote", write_results(out, [merged[n] for n in CONFIGS if n in merged],
                                     command="python benchmarks/signals_quality.py", threads=args.threads))


if __name__ == "__main__":
    main()
