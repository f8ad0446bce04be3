"""Translation quality with sacreBLEU: corpus BLEU and chrF, overall, per domain, per source length.

Scores are sacreBLEU's own (Post 2018): detokenised hypotheses against raw references, its default 13a
tokenisation, case-sensitive, and its signature is reported with every number so they can be compared
with other papers' and tools'. A source sentence with several translations in the data is scored once,
against all of them (sacreBLEU's variable number of references, ``nrefs:var``).

Source-length buckets count whitespace words of the *source*: 1–5, 6–10, 11–15, 16–20, 21–25 (and 26+
for data that was not length-filtered).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from sacrebleu.metrics import BLEU, CHRF

BUCKETS: tuple[tuple[int, int], ...] = ((1, 5), (6, 10), (11, 15), (16, 20), (21, 25))


def length_bucket(words: int) -> str:
    """The bucket name of a source of ``words`` words: ``"1-5"`` … ``"21-25"``, ``"26+"`` beyond."""
    for low, high in BUCKETS:
        if low <= words <= high:
            return f"{low}-{high}"
    if words < 1:
        raise ValueError(f"a source sentence has at least one word, got {words}")
    return f"{BUCKETS[-1][1] + 1}+"


def corpus_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """BLEU and chrF of ``hypotheses`` (N,) against ``references`` (N lists of ≥ 1 reference each)."""
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(f"need one or more hypotheses and one reference list each, got {len(hypotheses)} "
                         f"and {len(references)}")
    streams = [list(s) for s in zip_longest(*references, fillvalue=None)]  # (R, N), None where a sentence has fewer
    bleu, chrf = BLEU(), CHRF()
    b, c = bleu.corpus_score(list(hypotheses), streams), chrf.corpus_score(list(hypotheses), streams)
    return {"bleu": b.score, "chrf": c.score, "n": len(hypotheses), "bp": b.bp, "precisions": b.precisions,
            "signature": {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())}}


def bleu_report(hypotheses: Sequence[str], references: Sequence[Sequence[str]], domains: Sequence[str],
                source_words: Sequence[int]) -> dict[str, Any]:
    """:func:`corpus_scores` overall, and breakdowns ``per_domain``, ``per_bucket`` (source length) and
    ``per_domain_bucket`` (``{domain: {bucket: …}}``: length effects within one domain, since short and
    long sentences may come from different domains)."""
    report = corpus_scores(hypotheses, references)
    buckets = [length_bucket(n) for n in source_words]

    def scores(index: list[int]) -> dict[str, Any]:
        s = corpus_scores([hypotheses[i] for i in index], [references[i] for i in index])
        return {k: s[k] for k in ("bleu", "chrf", "n")}

    report["per_domain"] = {d: scores(ix) for d, ix in _groups(domains).items()}
    report["per_bucket"] = {b: scores(ix) for b, ix in _groups(buckets).items()}
    report["per_domain_bucket"] = {}
    for domain, index in _groups(domains).items():
        within = _groups([buckets[i] for i in index])
        report["per_domain_bucket"][domain] = {b: scores([index[j] for j in jx]) for b, jx in within.items()}
    return report


def _groups(labels: Sequence[str]) -> dict[str, list[int]]:
    """Indices per label, labels sorted (length buckets by their first number)."""
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    bucket = all(g.split("-")[0].rstrip("+").isdigit() for g in groups)
    return dict(sorted(groups.items(), key=lambda kv: int(kv[0].split("-")[0].rstrip("+")) if bucket else kv[0]))


def bucket_drop(per_bucket: dict[str, dict[str, Any]]) -> float | None:
    """Share of BLEU lost from the shortest to the longest bucket: 1 − BLEU_longest / BLEU_shortest."""
    names = list(per_bucket)
    if len(names) < 2 or per_bucket[names[0]]["bleu"] <= 0:
        return None
    return 1.0 - per_bucket[names[-1]]["bleu"] / per_bucket[names[0]]["bleu"]
