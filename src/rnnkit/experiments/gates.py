"""What the gates do, on real inputs: traces (``Recurrent(..., record=True)``) of trained cells, read in words.

1. **Forget gate at sentence ends.** A word-level LSTM language model trained on Jane Austen (paragraphs
   unwrapped, so ``<eos>`` is a paragraph end, not a line break) reads held-out text. At each step the
   forget gate f_t of ``c_t = f ⊙ c_{t-1} + i ⊙ g`` says how much of the memory cell survives: f ≈ 1 keeps,
   f ≈ 0 resets. Steps are grouped by what they read — a sentence end (``.`` ``!`` ``?``, not after
   Mr/Mrs/Dr/St), the first word after one, any other word — and f is compared between the groups, for the
   mean over units and unit by unit, for the trained network and for the same network before training.
2. **Update gate across a gap.** A GRU learns the adding problem (:mod:`rnnkit.tasks.synthetic`, T = 50: sum
   the two marked numbers). Both rnnkit GRUs write ``h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}`` (the lecture's
   convention: z = 1 *holds* the state, z = 0 overwrites it with the candidate), so a unit that stores a
   marked number should show z dropping at the marker (write) and z near 1 between the markers (hold).
   *Writers* are the units whose z is lower at the markers than between them; *holders* the units whose
   state just before the second marker still correlates with the first marked number (|r| ≥ ``HOLD_R``).

Significance: a permutation test on the trace (labels shuffled among the positions compared). For single
units the null is the *largest* drop of any unit in each shuffle, so a unit counted as significant beats
what the most extreme of H units shows by chance (family-wise 5 %). Neighbouring steps are correlated, so
p-values are optimistic; the untrained network is the real control.

Writes ``results.json``, ``forget_passage.png``, ``forget_units.png``, ``update_gate.png`` and ``report.md``.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.experiments.arms import train_lm_arm
from rnnkit.experiments.gates_report import also_closing, plot_passage, plot_units, plot_update, report
from rnnkit.experiments.record import (
    Claim,
    experiment_setup,
    finish,
    stamp,
)
from rnnkit.models import build_model
from rnnkit.tasks import run as tasks_run
from rnnkit.tasks.lm import LMOptions, encode_stream, load_corpus
from rnnkit.tasks.synthetic import LastStepRegressor, adding_problem, train_adding
from rnnkit.tracing import trace_encoder, trace_ids
from rnnkit.train.config import TrainConfig

SENTENCE_ENDS = frozenset({".", "!", "?"})
ABBREVIATIONS = frozenset({"mr", "mrs", "dr", "st"})  # "mr ." does not end a sentence
SOLVED = 0.1  # adding problem: held-out MSE below 10 % of the 1/6 baseline
# A unit "holds" the first number when |corr(its state before the 2nd marker, that number)| >= this: its state then
# explains >= 64 % of the number's variance (in the probe 37 of 64 units of the solved GRU passed, none untrained).
HOLD_R = 0.8
DROP = 0.1  # a unit "drops" when its mean gate at the positions is this much lower than elsewhere
# Sized by probes at 1 thread on the shared 2-core machine (load ~5: two other experiments running): the LSTM LM
# (hidden 128, embedding 64, vocabulary 7.4k) trains at 3.5-4.5k tokens/s there, so the whole of Austen (778k
# training tokens) for 2 epochs took 400 s wall (held-out perplexity 113; the bigram+unigram baseline's is 131) and
# already had 6 of 128 units that close at sentence ends (none before training). Dropout is light (0.1, none on the
# embedding): a small model for 2 epochs does not overfit. The GRUs solve the adding problem at T = 50 within the
# 3000 updates (probe: 675 and 1009 updates, 35 s and 70 s wall; a run stops once solved). Tracing and the
# permutation tests take ~15 s. Total: ~9 min wall on the loaded machine.
FULL = {"chars": None, "embed_dim": 64, "hidden_size": 128, "bptt": 35, "batch_size": 32, "epochs": 2, "lr": 3e-3,
        "dropout": 0.1, "embed_dropout": 0.0, "trace_tokens": 20_000, "adding_T": 50, "adding_hidden": 64,
        "adding_steps": 3000, "adding_lr": 3e-3, "adding_batch": 64, "permutations": 1000,
        "gru_cells": ("gru", "gru-reset-before"), "minutes": None}
QUICK = {"chars": 40_000, "embed_dim": 8, "hidden_size": 8, "bptt": 8, "batch_size": 4, "epochs": 1, "lr": 3e-3,
         "dropout": 0.1, "embed_dropout": 0.0, "trace_tokens": 1000, "adding_T": 10, "adding_hidden": 8,
         "adding_steps": 20, "adding_lr": 1e-2, "adding_batch": 16, "permutations": 50, "gru_cells": ("gru",),
         "minutes": None}
SEED = 13


# ------------------------------------------------------------------------------------------ positions
def is_word(token: str) -> bool:
    """A word or number (not punctuation, quotes or a special token such as ``<eos>``)."""
    return token[:1].isalnum()


def boundary_positions(tokens: list[str]) -> dict[str, list[int]]:
    """Indices of ``tokens`` by what they are: ``end`` (a sentence end ``.``/``!``/``?``, not after an
    abbreviation), ``first`` (the first word within 3 steps after an end) and ``inside`` (every other word)."""
    end = [t for t, tok in enumerate(tokens) if tok in SENTENCE_ENDS and (t == 0 or tokens[t - 1] not in ABBREVIATIONS)]
    first = []
    for t in end:
        after = [u for u in range(t + 1, min(t + 4, len(tokens))) if is_word(tokens[u])]
        if after and (not first or first[-1] != after[0]):
            first.append(after[0])
    taken = set(first)
    inside = [t for t, tok in enumerate(tokens) if is_word(tok) and t not in taken]
    return {"end": end, "first": first, "inside": inside}


def marker_positions(markers: np.ndarray) -> dict[str, np.ndarray]:
    """Adding-problem markers (T, B) → flat indices t * B + b of the (T·B, H) trace rows: ``marker`` (the two
    marked steps), ``between`` (strictly between them) and ``after`` (after the second); and per sequence the
    steps ``first`` and ``second`` (B,) of its two markers."""
    T, B = markers.shape
    marked = markers > 0.5
    first = marked.argmax(axis=0)  # (B,)
    second = T - 1 - marked[::-1].argmax(axis=0)
    steps = np.arange(T)[:, None]
    groups = {"marker": marked, "between": (steps > first) & (steps < second), "after": steps > second}
    return {**{name: np.flatnonzero(mask.reshape(-1)) for name, mask in groups.items()},
            "first": first, "second": second}


def memory_correlation(h: np.ndarray, values: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per unit, the correlation over sequences between the first marked number and the unit's state just
    before the second marker is read: h (T, B, H), values (T, B), first/second (B,) → r (H,). A unit with
    |r| near 1 still holds the first number after the gap."""
    cols = np.arange(h.shape[1])
    kept = h[second - 1, cols].astype(np.float64)  # (B, H)
    stored = values[first, cols].astype(np.float64)  # (B,)
    kept = kept - kept.mean(0)
    stored = stored - stored.mean()
    scale = np.sqrt((kept ** 2).sum(0) * (stored ** 2).sum())
    return np.divide(kept.T @ stored, scale, out=np.zeros(h.shape[2]), where=scale > 0)


# ------------------------------------------------------------------------------------------ statistics
def contrast(values: np.ndarray, at: np.ndarray | list[int], rest: np.ndarray | list[int], *, permutations: int,
             seed: int = 0) -> dict[str, Any]:
    """Gate values (N, H) at positions ``at`` against positions ``rest``.

    Returns the mean over units at both (and their spread over positions), the per-unit difference
    d_j = mean_at f_j − mean_rest f_j (H,), a permutation p-value for the mean over units (two-sided), and
    ``dropping``: the units whose d_j is below the 5th percentile of the shuffles' *smallest* d_j
    (family-wise 5 %) and below −:data:`DROP`."""
    at, rest = np.asarray(at), np.asarray(rest)
    if len(at) == 0 or len(rest) == 0:
        raise ValueError(f"nothing to compare: {len(at)} positions against {len(rest)}; trace a longer input")
    pooled = values[np.concatenate([at, rest])].astype(np.float64)  # (n, H)
    k, n = len(at), len(pooled)
    diff = pooled[:k].mean(0) - pooled[k:].mean(0)
    total = pooled.sum(0)
    rng = np.random.default_rng(seed)
    null_min, null_mean = [], []
    for start in range(0, permutations, 100):
        chunk = min(100, permutations - start)
        mask = np.zeros((chunk, n))
        for row in mask:
            row[rng.choice(n, k, replace=False)] = 1.0
        s = mask @ pooled  # (chunk, H)
        d = s / k - (total - s) / (n - k)
        null_min.append(d.min(1))
        null_mean.append(d.mean(1))
    null_min, null_mean = np.concatenate(null_min), np.concatenate(null_mean)
    threshold = float(np.quantile(null_min, 0.05))
    dropping = np.flatnonzero((diff < threshold) & (diff < -DROP))
    means_at, means_rest = pooled[:k].mean(1), pooled[k:].mean(1)
    observed = float(diff.mean())
    return {"n_at": k, "n_rest": n - k, "mean_at": float(means_at.mean()), "std_at": float(means_at.std()),
            "mean_rest": float(means_rest.mean()), "std_rest": float(means_rest.std()), "difference": observed,
            "p_value": float((1 + np.sum(np.abs(null_mean) >= abs(observed))) / (1 + permutations)),
            "unit_difference": diff.tolist(), "null_threshold": threshold, "dropping": dropping.tolist(),
            "largest_drop": float(diff.min())}


# ------------------------------------------------------------------------------------------ part 1: LSTM LM
QUICK_WORDS = {"who": ("she", "he", "the captain", "my sister", "our neighbour", "the old man"),
               "did": ("saw", "liked", "wrote to", "spoke of", "waited for", "thought of"),
               "what": ("the house", "a letter", "her cousin", "the garden", "his horse", "the ball"),
               "end": (".", ".", ".", "!", "?")}


def quick_text(chars: int, seed: int = SEED) -> str:
    """Offline text for quick runs: paragraphs of seeded sentences ("she saw the house , and he waited for a
    letter ."), ending in ". ! ?" — sentence boundaries without a corpus download."""
    rng = random.Random(seed)
    paragraphs, size = [], 0
    while size < chars:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            clauses = [" ".join(rng.choice(QUICK_WORDS[k]) for k in ("who", "did", "what"))
                       for _ in range(rng.randint(1, 2))]
            sentences.append(" , and ".join(clauses) + " " + rng.choice(QUICK_WORDS["end"]))
        paragraphs.append(" ".join(sentences))
        size += len(paragraphs[-1])
    return "\n\n".join(paragraphs)


def austen_excerpt(out: Path, chars: int | None) -> str:
    """Austen as one text file with each paragraph on one line (train, then val, then test, so the file's own
    95/5 split keeps them apart); ``chars`` (quick runs) replaces Austen by :func:`quick_text` of that size, so
    the tests need no download; None keeps all of Austen."""
    if chars:
        text = quick_text(chars + 2 * (chars // 18))
        parts = [text[:chars], text[chars: chars + chars // 18], text[chars + chars // 18:]]
    else:
        corpus = load_corpus("austen")
        parts = [corpus.train, corpus.val, corpus.test]
    lines = []
    for part in parts:
        for paragraph in part.split("\n\n"):
            joined = " ".join(line.strip() for line in paragraph.split("\n") if line.strip())
            if joined:
                lines.append(joined)
    path = Path(out) / "data" / ("austen-paragraphs.txt" if not chars else f"austen-{chars}-paragraphs.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def forget_gate(out: Path, setup: dict[str, Any], log=print) -> dict[str, Any]:
    """Train the LM, trace it (and its untrained twin) over held-out text, compare f by position."""
    data = austen_excerpt(out, setup["chars"])
    opts = LMOptions(data=data, tokenizer="word", cell="lstm", embed_dim=setup["embed_dim"],
                     hidden_size=setup["hidden_size"], bptt=setup["bptt"], batch_size=setup["batch_size"],
                     dropout=setup["dropout"], embed_dropout=setup["embed_dropout"],
                     min_freq=1 if setup["chars"] else 3)
    cfg = TrainConfig(epochs=setup["epochs"], lr=setup["lr"], max_minutes=setup["minutes"], seed=SEED, progress=False,
                      patience=0, log="none")
    arm = train_lm_arm(opts, cfg, out / "models" / "lstm-lm", log=log)
    predictor = tasks_run.load(arm["directory"])
    torch.manual_seed(SEED)  # the weights training started from (run.train seeds, then builds)
    untrained = build_model(predictor.config["model"]).eval()
    ids = encode_stream(predictor.encoder, load_corpus(data).test)[: setup["trace_tokens"]]
    result: dict[str, Any] = {"perplexity": arm["perplexity"], "train_seconds": arm["train_seconds"],
                              "epochs": arm["epochs"], "trace_tokens": int(ids.numel()), "models": {}}
    traces = {}
    for name, model in (("trained", predictor.model), ("untrained", untrained)):
        trace = trace_ids(model, predictor.encoder.vocab, ids)
        f = trace.get().gates["f"]
        where = boundary_positions(trace.tokens)
        result["models"][name] = {
            "end": contrast(f, where["end"], where["inside"], permutations=setup["permutations"]),
            "first": contrast(f, where["first"], where["inside"], permutations=setup["permutations"], seed=1)}
        traces[name] = (trace.tokens, f)
        log(f"forget gate, {name}: sentence end {result['models'][name]['end']['mean_at']:.3f}, inside "
            f"{result['models'][name]['end']['mean_rest']:.3f}; units that drop at the end: "
            f"{len(result['models'][name]['end']['dropping'])}, at the first word after: "
            f"{len(result['models'][name]['first']['dropping'])}")
    result["counts"] = {k: len(v) for k, v in boundary_positions(traces["trained"][0]).items()}
    result["by_token"] = by_token(*traces["trained"], result["models"]["trained"]["end"]["dropping"])
    result["passage"] = passage(traces, result)
    return result


def by_token(tokens: list[str], f: np.ndarray, units: list[int]) -> list[dict[str, Any]]:
    """What else the reset units react to: mean f (T, H) of ``units`` and of all units at each kind of token."""
    where = boundary_positions(tokens)
    kinds = {"sentence end . ! ?": where["end"], "first word after": where["first"], "other words": where["inside"],
             "the dot after Mr/Mrs/Dr/St": [t for t, tok in enumerate(tokens) if tok == "." and t not in where["end"]],
             "commas, semicolons, colons": [t for t, tok in enumerate(tokens) if tok in {",", ";", ":"}],
             "quotation marks": [t for t, tok in enumerate(tokens) if tok in {'"', "'"}],
             "paragraph ends (<eos>)": [t for t, tok in enumerate(tokens) if tok == "<eos>"]}
    return [{"kind": kind, "n": len(at), "reset_units": float(f[at][:, units].mean()) if len(at) and units else None,
             "all_units": float(f[at].mean()) if len(at) else None} for kind, at in kinds.items()]


def passage(traces: dict[str, tuple[list[str], np.ndarray]], result: dict[str, Any], width: int = 36) -> dict[str, Any]:
    """One held-out window of ``width`` tokens holding the most sentence ends, with f of both models."""
    tokens = traces["trained"][0]
    ends = np.zeros(len(tokens))
    ends[boundary_positions(tokens)["end"]] = 1
    counts = np.convolve(ends, np.ones(width), mode="valid")
    start = int(counts[width // 4:].argmax()) + width // 4 if len(counts) > width // 4 else 0
    window = slice(start, start + width)
    order = np.argsort(result["models"]["trained"]["end"]["unit_difference"])  # strongest droppers first
    ends = [t - start for t in boundary_positions(tokens)["end"] if start <= t < start + width]
    return {"start": start, "tokens": tokens[window], "ends": ends, "order": order.tolist(),
            **{name: traces[name][1][window][:, order].round(4).tolist() for name in traces}}


# ------------------------------------------------------------------------------------------ part 2: GRU adding
def update_gate(cell: str, setup: dict[str, Any], log=print) -> dict[str, Any]:
    """Train ``cell`` on the adding problem, trace it and its untrained twin on held-out sequences."""
    torch.manual_seed(SEED)
    model = LastStepRegressor(cell, 2, setup["adding_hidden"])
    untrained = copy.deepcopy(model)
    cap = None if setup["minutes"] is None else 60 * setup["minutes"]
    r = train_adding(cell, setup["adding_T"], steps=setup["adding_steps"], hidden_size=setup["adding_hidden"],
                     batch=setup["adding_batch"], lr=setup["adding_lr"], seed=SEED, max_seconds=cap, model=model)
    x, _ = adding_problem(256, setup["adding_T"], torch.Generator().manual_seed(SEED + 1))  # (T, B, 2)
    where = marker_positions(x[:, :, 1].numpy())
    out = {"cell": cell, "test_mse": r["test_mse"], "solved": r["test_mse"] < SOLVED / 6, "steps": r["steps"],
           "seconds": r["seconds"], "models": {}, "example": {"markers": x[:, 0, 1].tolist()}}
    for name, m in (("trained", model), ("untrained", untrained)):
        traces = trace_encoder(m.rnn.eval(), x)
        z = np.stack([t.get().gates["z"] for t in traces], axis=1)  # (T, B, H)
        h = np.stack([t.get().h for t in traces], axis=1)
        flat = z.reshape(-1, z.shape[2])
        c = contrast(flat, where["marker"], where["between"], permutations=setup["permutations"])
        c["mean_after"] = float(flat[where["after"]].mean()) if len(where["after"]) else None
        writers = c["dropping"] or list(range(z.shape[2]))
        c["writers_hold"] = float(flat[where["between"]][:, writers].mean())
        c["writers_at_marker"] = float(flat[where["marker"]][:, writers].mean())
        r_unit = memory_correlation(h, x[:, :, 0].numpy(), where["first"], where["second"])
        holders = np.flatnonzero(np.abs(r_unit) >= HOLD_R)
        c["memory_r"] = r_unit.round(4).tolist()
        c["holders"] = holders[np.argsort(-np.abs(r_unit[holders]))].tolist()  # strongest first
        c["holders_z_marker"] = float(flat[where["marker"]][:, holders].mean()) if len(holders) else None
        c["holders_z_between"] = float(flat[where["between"]][:, holders].mean()) if len(holders) else None
        c["unit_z_between"] = flat[where["between"]].mean(0).round(4).tolist()
        step = np.abs(np.diff(h, axis=0, prepend=0.0)).reshape(-1, h.shape[2])  # |h_t − h_{t-1}|, (T·B, H)
        c["unit_step_marker"] = step[where["marker"]].mean(0).round(4).tolist()
        c["unit_step_between"] = step[where["between"]].mean(0).round(4).tolist()
        out["models"][name] = c
        out["example"][name] = {"z": z[:, 0].round(4).tolist(), "h": h[:, 0].round(4).tolist()}
        log(f"{cell} {name}: z at markers {c['mean_at']:.3f}, between {c['mean_rest']:.3f}; writer units "
            f"{len(c['dropping'])} (z {c['writers_at_marker']:.3f} at markers, {c['writers_hold']:.3f} between); "
            f"units holding the first number (|r| >= {HOLD_R}): {len(c['holders'])}, strongest |r| "
            f"{np.abs(r_unit).max():.2f}")
    log(f"{cell}: adding T={setup['adding_T']} test MSE {r['test_mse']:.4f} after {r['steps']} updates")
    return out


# ------------------------------------------------------------------------------------------ run, verdicts
def run(out: Path, *, quick: bool = False, minutes: float | None = None, log=print) -> dict[str, Any]:
    """Both parts; ``minutes`` caps each training run (the LM and each GRU)."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    forget = forget_gate(out, setup, log=log)
    updates = {cell: update_gate(cell, setup, log=log) for cell in setup["gru_cells"]}
    results = {**stamp("gates", quick), "setup": {**setup, "gru_cells": list(setup["gru_cells"])}, "drop": DROP,
               "hold_r": HOLD_R, "solved_below": SOLVED,
               "forget": forget, "update": updates}
    results["claims"] = claims(results)
    results["plots"] = [plot_passage(results, out / "forget_passage.png").name,
                        plot_units(results, out / "forget_units.png").name,
                        plot_update(results, out / "update_gate.png").name]
    return finish(out, results, report(results))


def claims(results: dict[str, Any]) -> list[Claim]:
    """Forget gate: more units that significantly close at sentence ends (or on the next word) after training
    than before. Update gate: a solved GRU whose writer units hold (z higher between markers than at them)."""
    forget = results["forget"]["models"]
    units = {m: {w: len(forget[m][w]["dropping"]) for w in ("end", "first")} for m in forget}
    trained, untrained = max(units["trained"].values()), max(units["untrained"].values())
    t, u = forget["trained"]["end"], forget["untrained"]["end"]
    H = len(t["unit_difference"])
    said = (f"of {H} units, those whose f drops significantly (family-wise 5 %, by > {DROP}) at the sentence end / the "
            f"first word after: trained {units['trained']['end']} / {units['trained']['first']}, untrained "
            f"{units['untrained']['end']} / {units['untrained']['first']}; largest single-unit drop at the end "
            f"{t['largest_drop']:+.2f} (untrained {u['largest_drop']:+.2f}); mean over units at the end "
            f"{t['mean_at']:.3f} vs {t['mean_rest']:.3f} inside (untrained {u['mean_at']:.3f} vs {u['mean_rest']:.3f})")
    others = also_closing(results["forget"]["by_token"])
    if trained > untrained and others:
        said += f"; the units that close at sentence ends close about as much at {', '.join(others)}"
    claims_found = [Claim(claim="An LSTM language model learns to close its forget gate at sentence boundaries",
                          holds=trained > untrained, verdict=said)]
    for cell, r in results["update"].items():
        t, u = r["models"]["trained"], r["models"]["untrained"]
        held = (f"{len(t['holders'])} units still hold the first number when the second arrives (|r| ≥ {HOLD_R}, "
                f"strongest {max(abs(v) for v in t['memory_r']):.2f}; untrained {len(u['holders'])})")
        if t["holders"]:
            held += f", with z {t['holders_z_marker']:.2f} at markers and {t['holders_z_between']:.2f} between"
        said = (f"adding problem T={results['setup']['adding_T']}: test MSE {r['test_mse']:.4f} "
                f"({'solved' if r['solved'] else 'not solved'}); {len(t['dropping'])} of {len(t['unit_difference'])} "
                f"units open their write at the markers (z {t['writers_at_marker']:.2f} there, {t['writers_hold']:.2f} "
                f"between); {held}; untrained: {len(u['dropping'])} writers, z {u['mean_at']:.2f} at markers vs "
                f"{u['mean_rest']:.2f} between")
        holds = None
        if r["solved"]:
            holds = bool(t["holders"]) and t["holders_z_between"] > t["holders_z_marker"] and not u["holders"]
        claims_found.append(Claim(claim=f"The update gate z of a GRU ({cell}) writes at the marked inputs and holds "
                                        "the state across the gap", holds=holds, verdict=said))
    return claims_found
