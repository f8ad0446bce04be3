"""Training the models an experiment compares (its *arms*): sentiment classifiers and language models.

Each arm is an ordinary model directory (``rnnkit train`` writes the same), under the experiment's
folder. An arm whose directory already holds a finished model trained with the same options is reused,
so an experiment killed half-way continues where it stopped when run again with the same ``--out``.
Quick runs cut a registered corpus to a few hundred examples so they take seconds.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rnnkit.data import load_text_classification
from rnnkit.data.sources import absolute_options
from rnnkit.tasks import run
from rnnkit.tasks.lm import LMOptions
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.train.checkpoint import CONFIG, HISTORY, METRICS, ModelDirError, read_config, read_jsonl
from rnnkit.train.config import TrainConfig, resolve_device

QUICK_EXAMPLES = 300  # a registered corpus in a quick run: this many examples, written as a CSV
QUICK_SENTIMENT = {"embed_dim": 8, "hidden_size": 8, "min_freq": 1, "batch_size": 16}


def experiment_data(data: str, out: Path, quick: bool) -> str:
    """The sentiment data an experiment trains on: a file or folder as given; a registered corpus as is,
    or in a quick run a seeded sample of :data:`QUICK_EXAMPLES` of its examples (80/10/10 from its own
    train/val/test) as a CSV."""
    if not quick or Path(data).exists():
        return data
    corpus = load_text_classification(data)
    path = Path(out) / "data" / f"{data}-quick.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    share = {"train": 0.8, "val": 0.1, "test": 0.1}
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for split, fraction in share.items():  # a seeded sample: corpora are often stored sorted by label
            examples = getattr(corpus, split)
            chosen = random.Random(0).sample(examples, min(len(examples), int(fraction * QUICK_EXAMPLES)))
            writer.writerows((ex.text, corpus.labels[ex.label]) for ex in chosen)
    return str(path)


def finished_metrics(directory: Path, opts: Any, cfg: TrainConfig) -> dict[str, Any] | None:
    """The metrics of a finished model in ``directory`` trained with these settings; None if there is none.

    Raises ModelDirError for a directory holding another or an unfinished model."""
    if not (directory / CONFIG).exists():
        return None
    config = read_config(directory, task=run.app_for_options(opts).name)
    opts = absolute_options(opts)  # as run.train saves them: data paths absolute, amp off where it cannot run
    if cfg.amp and resolve_device(cfg.device).type != "cuda":
        cfg = replace(cfg, amp=False)
    same_train = TrainConfig.from_dict(config["train"]).fingerprint() == cfg.fingerprint()
    same = config["options"] == asdict(opts) and same_train
    if same and (directory / METRICS).exists():
        return json.loads((directory / METRICS).read_text(encoding="utf-8"))
    raise ModelDirError(f"{directory} holds {'an unfinished model' if same else 'a model trained otherwise'}; "
                        "delete it (or pass another --out) to train this arm again")


def _summary(result: dict[str, Any], directory: Path, metric: str) -> dict[str, Any]:
    history = read_jsonl(directory / HISTORY)
    rates = [h["train_items_per_s"] for h in history if h.get("train_items_per_s")]
    return {metric: result["test"][metric], "best_val": next(v for k, v in result["best_val"].items() if k != "epoch"),
            "train_seconds": result["train_seconds"], "steps": result["steps"], "epochs": len(history),
            "tokens_per_s": statistics.fmean(rates) if rates else None, "parameters": result["parameters"],
            "directory": str(directory)}


def train_or_reuse(opts: Any, cfg: TrainConfig, directory: Path, *, log=print) -> dict[str, Any]:
    """The metrics of the finished model in ``directory`` trained with these settings, or of one trained now.

    Truncation to a classifier's ``opts.max_len`` is expected in the experiments and counted by them, so its
    warning is muted."""
    result = finished_metrics(Path(directory), opts, cfg)
    if result is not None:
        log(f"reusing the finished model in {directory}")
        return result
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"truncated \d+ of \d+ sequences", category=UserWarning)
        return run.train(opts, cfg, Path(directory), log=log)


def train_sentiment_arm(opts: SentimentOptions, cfg: TrainConfig, directory: Path, *, log=print) -> dict[str, Any]:
    """Train (or reuse) one sentiment model; returns test accuracy, macro-F1, time, tokens/s, size."""
    result = train_or_reuse(opts, cfg, directory, log=log)
    summary = _summary(result, Path(directory), "accuracy")
    summary.update(macro_f1=result["test"]["macro_f1"], test_examples=result["test"]["n"])
    return summary


def train_lm_arm(opts: LMOptions, cfg: TrainConfig, directory: Path, *, log=print) -> dict[str, Any]:
    """Train (or reuse) one language model; returns test perplexity and bits/token, time, tokens/s, size."""
    result = train_or_reuse(opts, cfg, directory, log=log)
    summary = _summary(result, Path(directory), "perplexity")
    summary.update(bits_per_token=result["test"]["bits_per_token"], level=result["level"])
    return summary
