"""Positions and statistics of gate traces, for :mod:`rnnkit.experiments.gates`: where sentences end in a token
stream, where the adding problem's markers are, a per-unit permutation test, and the text the LM reads.

Significance: a permutation test on the trace (labels shuffled among the positions compared). For single
units the null is the *largest* drop of any unit in each shuffle, so a unit counted as significant beats
what the most extreme of H units shows by chance (family-wise 5 %). Neighbouring steps are correlated, so
p-values are optimistic; the untrained network is the real control.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.tasks.lm import load_corpus

SENTENCE_ENDS = frozenset({".", "!", "?"})
ABBREVIATIONS = frozenset({"mr", "mrs", "dr", "st"})  # "mr ." does not end a sentence
PUNCTUATION = frozenset({",", ";", ":", '"', "'", "-", "--", "(", ")"})  # marks that end no sentence
DROP = 0.1  # a unit "drops" when its mean gate at the positions is this much lower than elsewhere
SEED = 13


# ------------------------------------------------------------------------------------------ positions
def is_word(token: str) -> bool:
    """A word or number (not punctuation, quotes or a special token such as ``<eos>``)."""
    return token[:1].isalnum()


def boundary_positions(tokens: list[str]) -> dict[str, list[int]]:
    """Indices of ``tokens`` by what they are: ``end`` (a sentence end ``.``/``!``/``?``, not after an
    abbreviation), ``first`` (the first word within 3 steps after an end), ``inside`` (every other word) and
    ``punctuation`` (marks that end no sentence: commas, semicolons, colons, quotes, dashes, brackets and the
    dot after an abbreviation)."""
    end = [t for t, tok in enumerate(tokens) if tok in SENTENCE_ENDS and (t == 0 or tokens[t - 1] not in ABBREVIATIONS)]
    ends = set(end)
    punctuation = [t for t, tok in enumerate(tokens) if tok in PUNCTUATION or (tok == "." and t not in ends)]
    first = []
    for t in end:
        after = [u for u in range(t + 1, min(t + 4, len(tokens))) if is_word(tokens[u])]
        if after and (not first or first[-1] != after[0]):
            first.append(after[0])
    taken = set(first)
    inside = [t for t, tok in enumerate(tokens) if is_word(tok) and t not in taken]
    return {"end": end, "first": first, "inside": inside, "punctuation": punctuation}


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


# ------------------------------------------------------------------------------------------ views
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


# ------------------------------------------------------------------------------------------ the text
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
