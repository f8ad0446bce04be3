"""Character and word error rates from the Levenshtein edit distance (no dependencies; tested against jiwer).

    error rate = (substitutions + deletions + insertions) / reference length

summed over a corpus before dividing (jiwer's convention), so long references weigh more. CER counts
characters (spaces included), WER whitespace-separated words. Either may exceed 1 (many insertions).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def edit_distance(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> int:
    """Minimum substitutions + deletions + insertions turning ``ref`` into ``hyp`` (one DP row, O(|ref|·|hyp|))."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref  # the distance is symmetric; keep the row short
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def _rate(refs: Sequence[Sequence[Hashable]], hyps: Sequence[Sequence[Hashable]]) -> dict[str, float | int]:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True))
    total = sum(len(r) for r in refs)
    if total == 0:
        raise ValueError("the references are empty: an error rate needs at least one reference unit")
    return {"rate": errors / total, "errors": errors, "units": total}


def error_rates(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float | int]:
    """Corpus CER and WER of hypotheses against references, with the raw counts.

    Returns ``{"cer", "wer", "char_errors", "chars", "word_errors", "words", "n"}``."""
    chars = _rate(list(refs), list(hyps))
    words = _rate([r.split() for r in refs], [h.split() for h in hyps])
    return {"cer": chars["rate"], "wer": words["rate"], "char_errors": chars["errors"], "chars": chars["units"],
            "word_errors": words["errors"], "words": words["units"], "n": len(refs)}


def cer(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Character error rate of one string pair or of a corpus."""
    refs, hyps = ([refs], [hyps]) if isinstance(refs, str) else (refs, hyps)
    return float(_rate(list(refs), list(hyps))["rate"])


def wer(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Word error rate of one string pair or of a corpus."""
    refs, hyps = ([refs], [hyps]) if isinstance(refs, str) else (refs, hyps)
    return float(_rate([r.split() for r in refs], [h.split() for h in hyps])["rate"])


__all__ = ["cer", "edit_distance", "error_rates", "wer"]
