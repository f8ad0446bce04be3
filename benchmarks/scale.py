"""How the cost of a language model's corpus grows with its size: word-level text of 10 MB, 100 MB, 1 GB.

    python benchmarks/scale.py                        # 10 MB, 100 MB and 1 GB (the 1 GB run takes long)
    python benchmarks/scale.py --sizes 10,100         # some sizes only
    python benchmarks/scale.py --quick                # seconds, a 1 MB text and 20 steps (CI); no results file
    python benchmarks/scale.py --from scale.log       # write the results from a log of an earlier run's records

The texts are the bundled word-level corpora (Jane Austen's novels, Shakespeare's plays, the movie-reviews
pretraining text: ``rnnkit data fetch``), concatenated and repeated until the size is reached, written to
a temporary folder outside the repository (``--work`` to choose it). Repeating them keeps the vocabulary
(and so the model) the same at every size, so what grows is the corpus alone.

Each size is trained twice, each time in a fresh process (``rnnkit train lm --data FILE`` as far as its
first few hundred steps: the LM application's ``prepare``, the model, AdamW steps on its training
batches): *cold* with an empty data cache (the token streams are prepared), then *warm* (they are opened).
Recorded per run: preparation seconds and MB/s (cold), seconds from the process's start to the end of
its first step, steps per second over the remaining steps, and the process's peak resident memory.
``--pairs MB`` adds a translation row: the real fr-en pairs (``rnnkit data fetch fr-en``: every split, no
length filter), written again and again into one ``source<TAB>target`` file of that size, each copy's
sources ending in `` (copy K)`` so every copy's sources are distinct (no copy is a duplicate the dedup
would drop); ``rnnkit train translate --data FILE`` with the defaults (max 25 words, BPE 4000 per side) as
far as its first few hundred steps, cold (the pairs are streamed into the map) and warm.
Writes benchmarks/results/scale-<machine>.json (merged: records of sizes not run again are kept) and
docs/img/scale-<machine>.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("austen", "shakespeare", "movie-reviews")
REVIEWS = ("rt-polarity",)
CLASSIFIER = {"embed_dim": 64, "hidden_size": 128, "batch_size": 64}
"""The classification run: a small LSTM classifier (word level, the sentiment defaults otherwise)."""
MODEL = {"tokenizer": "word", "min_freq": 3, "embed_dim": 128, "hidden_size": 256, "bptt": 32, "batch_size": 16}
"""One small LSTM for every size: what grows is the corpus, not the model."""


def base_text() -> str:
    """The bundled word-level corpora, each read whole (train, val, test in order), one after the other."""
    from rnnkit.data.open import open_data

    parts = []
    for name in CORPORA:
        corpus = open_data(name, "lm")
        parts.extend((corpus.train, corpus.val, corpus.test))
    return "\n\n".join(parts) + "\n"


def write_corpus(path: Path, megabytes: float, text: str) -> None:
    """``text`` repeated into ``path`` until it holds ``megabytes`` MB (cut at a line end)."""
    target = int(megabytes * 1e6)
    block = text.encode("utf-8")
    written = 0
    with open(path, "wb") as f:
        while written + len(block) <= target:
            f.write(block)
            written += len(block)
        rest = block[: target - written]
        f.write(rest[: rest.rfind(b"\n") + 1])


def train_steps(prepared, batches: list, steps: int, started: float, *, lr: float,
                clip: float | None = None) -> tuple[float, float, float]:
    """``steps`` AdamW steps of the prepared task's model from seed 13: (seconds from ``started``, the process's
    start, to the end of the first step; steps per second after it; the last loss)."""
    import torch

    from rnnkit.models import build_model

    torch.manual_seed(13)
    model = build_model(prepared.spec)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    first_step_s, t_second, loss = 0.0, 0.0, torch.tensor(float("nan"))
    for i in range(steps):
        loss, _ = prepared.task.loss(model, batches[i], torch.device("cpu"))
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if i == 0:
            first_step_s = time.time() - started
            t_second = time.monotonic()
    steps_per_s = (steps - 1) / (time.monotonic() - t_second) if steps > 1 else float("nan")
    return round(first_step_s, 2), round(steps_per_s, 2), float(loss.detach())


def child(path: str, steps: int, started: float) -> dict:
    """One run in this process: prepare (or open) the streams, build the model, train ``steps`` steps."""
    from rnnkit.tasks.base import Run
    from rnnkit.tasks.lm import LMOptions, prepare
    from rnnkit.train.config import TrainConfig

    logged: list[str] = []
    with tempfile.TemporaryDirectory() as out:
        opts = LMOptions(data=path, **MODEL)
        t = time.monotonic()
        prepared = prepare(Run(options=opts, train=TrainConfig(seed=13), directory=Path(out), log=logged.append))
        prepare_s = time.monotonic() - t
    batches = prepared.task.train_batches(0)
    steps_run = min(steps, len(batches))
    first_step_s, steps_per_s, _ = train_steps(prepared, batches, steps_run, started, lr=2e-3, clip=1.0)
    from rnnkit.data.fetching import cache_dir

    metas = [json.loads(m.read_text()) for m in (cache_dir() / "tokens").glob("*/meta.json")]
    prepared_line = next((line for line in logged if line.startswith("prepared the token streams")), "")
    return {"prepare_s": round(prepare_s, 2), "first_step_s": round(first_step_s, 2),
            "steps": steps_run, "steps_per_s": steps_per_s,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "vocabulary": prepared.spec["kwargs"]["vocab_size"], "train_tokens": len(prepared.task.ids["train"]),
            "streams_prepare_s": metas[0]["prepare_seconds"] if metas else None,
            "prepared": prepared_line.split(":")[0]}


def write_rows(path: Path, rows: int) -> int:
    """A CSV (text,label) of ``rows`` review rows: the rt-polarity critic snippets (every split, read whole),
    repeated; returns how many distinct reviews it repeats."""
    from rnnkit.data.open import open_data

    reviews = []
    for name in REVIEWS:
        data = open_data(name, "sentiment")
        reviews.extend((ex.text, data.labels[ex.label]) for s in ("train", "val", "test") for ex in data.part(s))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(rows):
            writer.writerow(reviews[i % len(reviews)])
    return len(reviews)


def child_rows(path: str, steps: int, started: float) -> dict:
    """One classification run in this process: the sentiment application's prepare on a large CSV (rows
    streamed from disk), the model, ``steps`` steps."""
    from rnnkit.data.fetching import cache_dir
    from rnnkit.tasks.base import Run
    from rnnkit.tasks.sentiment import SentimentOptions, prepare
    from rnnkit.train.config import TrainConfig

    with tempfile.TemporaryDirectory() as out:
        t = time.monotonic()
        prepared = prepare(Run(options=SentimentOptions(data=path, **CLASSIFIER), train=TrainConfig(seed=13),
                               directory=Path(out), log=lambda _: None))
        prepare_s = time.monotonic() - t
    t = time.monotonic()
    batches = prepared.task.train_batches(0)
    batches_s = time.monotonic() - t
    first_step_s, steps_per_s, _ = train_steps(prepared, batches, steps, started, lr=2e-3)
    metas = [json.loads(m.read_text()) for m in (cache_dir() / "rows").glob("*/meta.json")]
    return {"prepare_s": round(prepare_s, 2), "epoch_batches_s": round(batches_s, 2),
            "first_step_s": round(first_step_s, 2), "steps": steps,
            "steps_per_s": steps_per_s,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "vocabulary": prepared.spec["kwargs"]["vocab_size"], "train_rows": len(prepared.task.splits["train"]),
            "rows_prepare_s": metas[0]["prepare_seconds"] if metas else None}


def write_pairs(path: Path, megabytes: float) -> int:
    """A ``source<TAB>target`` file of about ``megabytes`` MB: the fr-en pairs, copy after copy, each copy's
    sources ending in `` (copy K)``; returns the number of pairs in one copy."""
    from rnnkit.data.open import open_data

    data = open_data("fr-en", "translation", max_words=None)
    pairs = [p for s in ("train", "val", "test") for p in data.part(s)]
    target = int(megabytes * 1e6)
    written = 0
    copy = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            copy += 1
            block = "".join(f"{p.src} (copy {copy})\t{p.tgt}\n" for p in pairs)
            f.write(block)
            written += len(block.encode())
    return len(pairs)


def child_pairs(path: str, steps: int, started: float) -> dict:
    """One translation run in this process: the translate application's prepare on a large TSV (pairs
    streamed into the map), the default model, ``steps`` AdamW steps."""
    from rnnkit.data.fetching import cache_dir
    from rnnkit.tasks.base import Run
    from rnnkit.tasks.translate import TranslateOptions, prepare
    from rnnkit.train.config import TrainConfig

    with tempfile.TemporaryDirectory() as out:
        t = time.monotonic()
        prepared = prepare(Run(options=TranslateOptions(data=path), train=TrainConfig(seed=13),
                               directory=Path(out), log=lambda _: None))
        prepare_s = time.monotonic() - t
    prepare_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batches = prepared.task.train_batches(0)
    first_step_s, steps_per_s, loss = train_steps(prepared, batches, steps, started, lr=1e-3)
    metas = [json.loads(m.read_text()) for m in (cache_dir() / "pairs").glob("*/meta.json")]
    return {"prepare_s": round(prepare_s, 2), "first_step_s": round(first_step_s, 2), "steps": steps,
            "steps_per_s": steps_per_s,
            "last_loss": round(loss, 3), "peak_rss_after_prepare_mb": round(prepare_rss, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "vocabulary": [prepared.spec["kwargs"]["src_vocab_size"], prepared.spec["kwargs"]["tgt_vocab_size"]],
            "train_pairs": len(prepared.task.train),
            "pairs_prepare_s": metas[0]["prepare_seconds"] if metas else None,
            "split": {k: v for k, v in metas[0]["split"].items() if k != "files"} if metas else None}


def measure(path: Path, cache: Path, steps: int, mode: str = "--child") -> dict:
    """A run in a fresh process with ``$RNNKIT_CACHE`` = ``cache``; its record, with the machine's load."""
    env = {**os.environ, "RNNKIT_CACHE": str(cache), "PYTHONPATH": str(ROOT / "src")}
    load_before = os.getloadavg()[0]
    started = time.time()
    done = subprocess.run([sys.executable, __file__, mode, str(path), "--steps", str(steps),
                           "--started", repr(started)], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the run on {path.name} failed:\n{done.stderr[-3000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return record


def plot(records: list[dict], out: Path) -> None:
    """Peak memory, time to the first step and preparation throughput against the corpus size (text runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in records if "megabytes" in r]
    if not records:
        return
    sizes = [r["megabytes"] for r in records]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].plot(sizes, [r["cold"]["peak_rss_mb"] for r in records], "o-", label="cold (prepares)")
    axes[0].plot(sizes, [r["warm"]["peak_rss_mb"] for r in records], "s--", label="warm (opens the map)")
    shown = None
    for r in records:  # the vocabulary sets the model's size: say it where it changes, under the warm curve
        if r["warm"]["vocabulary"] != shown:
            shown = r["warm"]["vocabulary"]
            axes[0].annotate(f"vocabulary {shown:,}", (r["megabytes"], r["warm"]["peak_rss_mb"]),
                             textcoords="offset points", xytext=(4, -14), ha="left", fontsize=8)
    axes[0].set(title="peak resident memory", ylabel="MB")
    axes[1].plot(sizes, [r["cold"]["first_step_s"] for r in records], "o-", label="cold")
    axes[1].plot(sizes, [r["warm"]["first_step_s"] for r in records], "s--", label="warm")
    axes[1].set(title="time to the first training step", ylabel="seconds", yscale="log")
    axes[2].plot(sizes, [r["prepare_mb_per_s"] for r in records], "o-")
    for r in records:  # the machine's load during the cold run sets the pace more than the size does
        axes[2].annotate(f"load {r['cold']['load_average_1min'][0]:g}", (r["megabytes"], r["prepare_mb_per_s"]),
                         textcoords="offset points", xytext=(-4, 6), ha="right", fontsize=8)
    axes[2].set(title="preparation throughput (once per corpus)", ylabel="MB/s", ylim=(0, None))
    for ax in axes:
        ax.set(xscale="log", xlabel="word-level corpus (MB)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[1].legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run")
    parser.add_argument("--work", type=Path, default=None, help="folder for the texts and caches (default: a "
                                                                 "temporary folder, removed at the end)")
    parser.add_argument("--quick", action="store_true", help="a 1 MB text, 20 steps; no results file")
    parser.add_argument("--from", dest="log", type=Path, default=None,
                        help="write the results file and plot from the record lines this script printed before")
    parser.add_argument("--rows", type=int, default=0, help="also a classification CSV of this many rows "
                                                             "(e.g. 2000000; 0: none)")
    parser.add_argument("--pairs", type=float, default=0, help="also a translation TSV of about this many MB "
                                                                 "(e.g. 300; 0: none)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-pairs", help=argparse.SUPPRESS)
    parser.add_argument("--child-rows", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.started)))
        return
    if args.child_rows:
        print(json.dumps(child_rows(args.child_rows, args.steps, args.started)))
        return
    if args.child_pairs:
        print(json.dumps(child_pairs(args.child_pairs, args.steps, args.started)))
        return
    if args.log is not None:
        lines = args.log.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines
                   if line.startswith(('{"megabytes"', '{"rows"', '{"pair_megabytes"'))]
        write(sorted(records, key=lambda r: (r.get("megabytes", 1e9), r.get("rows", 0))), args.steps)
        return
    sizes = [1.0] if args.quick else [float(s) for s in args.sizes.split(",") if s]
    steps = 20 if args.quick else args.steps
    work = args.work or Path(tempfile.mkdtemp(prefix="rnnkit-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    text = base_text()
    records = []
    try:
        for mb in sizes:
            path = work / f"corpus-{mb:g}MB.txt"
            write_corpus(path, mb, text)
            cache = work / f"cache-{mb:g}MB"
            shutil.rmtree(cache, ignore_errors=True)
            cold = measure(path, cache, steps)
            warm = measure(path, cache, steps)
            record = {"megabytes": mb, "bytes": path.stat().st_size, "cold": cold, "warm": warm,
                      "prepare_mb_per_s": round(path.stat().st_size / 1e6 / cold["streams_prepare_s"], 2)}
            print(json.dumps(record), flush=True)
            records.append(record)
            path.unlink()
            shutil.rmtree(cache, ignore_errors=True)
        if args.rows:
            path = work / f"reviews-{args.rows}.csv"
            distinct = write_rows(path, args.rows)
            cache = work / "cache-rows"
            shutil.rmtree(cache, ignore_errors=True)
            cold = measure(path, cache, steps, "--child-rows")
            warm = measure(path, cache, steps, "--child-rows")
            record = {"rows": args.rows, "distinct_reviews": distinct, "bytes": path.stat().st_size, "cold": cold,
                      "warm": warm,
                      "prepare_mb_per_s": round(path.stat().st_size / 1e6 / cold["rows_prepare_s"], 2)}
            print(json.dumps(record), flush=True)
            records.append(record)
            path.unlink()
        if args.pairs:
            records.append(pairs_record(work, args.pairs, steps))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if not args.quick:
        write(records, steps)


def pairs_record(work: Path, megabytes: float, steps: int) -> dict:
    """The translation row: a TSV of ``megabytes`` MB, trained cold then warm."""
    path = work / f"pairs-{megabytes:g}MB.tsv"
    per_copy = write_pairs(path, megabytes)
    cache = work / "cache-pairs"
    shutil.rmtree(cache, ignore_errors=True)
    cold = measure(path, cache, steps, "--child-pairs")
    warm = measure(path, cache, steps, "--child-pairs")
    size = path.stat().st_size
    record = {"pair_megabytes": megabytes, "bytes": size, "pairs_per_copy": per_copy, "cold": cold, "warm": warm,
              "prepare_mb_per_s": round(size / 1e6 / cold["pairs_prepare_s"], 2)}
    print(json.dumps(record), flush=True)
    path.unlink()
    shutil.rmtree(cache, ignore_errors=True)
    return record


def _identity(record: dict) -> tuple:
    return tuple(record.get(k) for k in ("megabytes", "rows", "pair_megabytes"))


def write(records: list[dict], steps: int) -> None:
    """benchmarks/results/scale-<machine>.json and its plot, docs/img/scale-<machine>.png."""
    from rnnkit.bench.timing import machine_tag, write_results

    tag = machine_tag()
    base_mb = len(base_text().encode()) / 1e6
    note = ("texts: the bundled corpora " + " + ".join(CORPORA) + f" (read whole, {base_mb:.1f} MB) repeated to "
            f"each size; model {MODEL}, AdamW, the steps each record names; classification (a record with rows): "
            f"rt-polarity snippets repeated to that many rows of a CSV, sentiment with {CLASSIFIER}; "
            "prepare_s: the LM's prepare (token streams, baselines) in the process; streams_prepare_s and "
            "prepare_mb_per_s: the token streams alone (hash, cut, vocabulary, encode); first_step_s: from starting "
            "the process to the end of the first step; the machine was shared with other work (load_average_1min: "
            "before and after each run), so the seconds are upper bounds; translation (a record with "
            "pair_megabytes): the fr-en pairs (every split, unfiltered) copied into one source<TAB>target file, "
            "each copy's sources ending in ' (copy K)', rnnkit train translate's defaults (GRU, Bahdanau attention, "
            "batch 64, max 25 words, BPE 4000 per side), AdamW lr 1e-3; pairs_prepare_s: the map alone (5 passes: "
            "filter/dedup/split, BPE per side, vocabularies, encode); peak_rss_mb covers preparation (cold) and "
            "the steps")
    path = ROOT / "benchmarks" / "results" / f"scale-{tag}.json"
    if path.is_file():  # keep the records of sizes not measured again
        new = {_identity(r) for r in records}
        kept = [r for r in json.loads(path.read_text())["records"] if _identity(r) not in new]
        records = kept + records
    write_results(path, records, note=note)
    plot(records, ROOT / "docs" / "img" / f"scale-{tag}.png")


if __name__ == "__main__":
    main()
