"""Bahdanau attention's training update, two ways, timed side by side on real fr-en batches.

    python benchmarks/seq2seq_speed.py [--threads 2] [--batches 12] [--repeats 5]

The input-feeding decoder (Bahdanau: c_t = attn(s_{t-1}, h̄), s_t = Dec([E y_{t-1} ; c_t], s_{t-1})) must
run step by step. ``per-step`` is what ``Seq2Seq.forward`` did before: :meth:`Seq2Seq.step` T times, each
step looking up its embedding and computing o_t = tanh(W_c [c_t ; s_t]) and the logits W_o o_t (H × V_tgt)
for its B rows. ``hoisted`` is ``Seq2Seq.forward`` now: only the attention and the RNN step in the loop,
the embeddings before it and the output layers once over all B·T rows after it. Both compute the same
function (tests/test_translate.py holds them equal); the time of one AdamW update (forward, backward,
step) is the median over the same batches — the first ``--batches`` of epoch 1 of the default
`rnnkit train translate` (BPE 4k per side, batch 64, length-bucketed) — timed round-robin in one process.
Writes benchmarks/results/seq2seq-speed-<machine>.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.models import build_model
from rnnkit.models.seq2seq import Seq2Seq, sequence_loss
from rnnkit.tasks.base import Run
from rnnkit.tasks.translate import TranslateOptions, prepare
from rnnkit.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def per_step_logits(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
    """The teacher-forced logits (B, T, V) by T calls of ``model.step`` (the former training path)."""
    state = model.start(src, lengths)
    logits = []
    for t in range(tgt_in.shape[1]):
        step_logits, state, _ = model.step(tgt_in[:, t], state)
        logits.append(step_logits)
    return torch.stack(logits, dim=1)


def hoisted_logits(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
    return model(src, lengths, tgt_in)[0]


def update_seconds(model: Seq2Seq, batches: list, logits_of, optimizer: torch.optim.Optimizer) -> float:
    """Seconds for one AdamW update over each of ``batches`` (label smoothing 0.1, as in training)."""
    start = time.perf_counter()
    for src, lengths, tgt in batches:
        loss, _ = sequence_loss(logits_of(model, src, lengths, tgt[:, :-1]), tgt[:, 1:], label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the machine's cores)")
    parser.add_argument("--batches", type=int, default=12, help="training batches per timed round (default 12)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per candidate (default 5)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    opts = TranslateOptions()
    prepared = prepare(Run(opts, TrainConfig(), Path("unused"), log=print))
    epoch = prepared.task.train_batches(0)  # padded when asked for
    batches = [epoch[i] for i in range(min(args.batches, len(epoch)))]
    torch.manual_seed(13)
    model = build_model(prepared.spec).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    candidates = {"per-step": per_step_logits, "hoisted": hoisted_logits}
    for logits_of in candidates.values():  # warm-up
        update_seconds(model, batches[:2], logits_of, optimizer)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeats):
        for name, logits_of in candidates.items():
            times[name].append(update_seconds(model, batches, logits_of, optimizer))
    tokens = sum(int((tgt[:, 1:] != 0).sum()) for _, _, tgt in batches) / len(batches)
    records = [{"path": name, "median_ms": 1000 * statistics.median(ts), "min_ms": 1000 * min(ts),
                "max_ms": 1000 * max(ts), "target_tokens_per_s": tokens / statistics.median(ts)}
               for name, ts in times.items()]
    speedup = records[0]["median_ms"] / records[1]["median_ms"]
    for r in records:
        print(f"{r['path']:9s} {r['median_ms']:7.1f} ms/update (min {r['min_ms']:.1f}, max {r['max_ms']:.1f}), "
              f"{r['target_tokens_per_s']:,.0f} target tokens/s")
    print(f"hoisted is ×{speedup:.2f} as fast as per-step")
    path = ROOT / "benchmarks" / "results" / f"seq2seq-speed-{machine_tag()}.json"
    shapes = [list(tgt.shape) for _, _, tgt in batches]
    print("wrote", write_results(path, records, command="python benchmarks/seq2seq_speed.py", threads=args.threads,
                                 batches=args.batches, repeats=args.repeats, target_shapes=shapes,
                                 per_step_over_hoisted=speedup, model=prepared.spec["kwargs"]))


if __name__ == "__main__":
    main()
