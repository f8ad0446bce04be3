"""Character and word error rates from the Levenshtein edit distance, counted by jiwer (the ``speech`` extra).

    error rate = (substitutions + deletions + insertions) / reference length

summed over a corpus before dividing (jiwer's convention), so long references weigh more. CER counts
characters (spaces included, also leading and trailing ones), WER whitespace-separated words
(``str.split()``). Either may exceed 1 (many insertions). The transforms below make jiwer count exactly
these units: its defaults would strip the ends of a line before counting characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnkit.extras import optional_import

PURPOSE = "CER/WER"


def _counts(refs: Sequence[str], hyps: Sequence[str], unit: str) -> dict[str, float | int]:
    """``{"rate", "errors", "units"}`` over a corpus, in characters or words (``unit``)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    jiwer = optional_import("jiwer", PURPOSE)
    if unit == "chars":
        total = sum(len(r) for r in refs)
    else:
        total = sum(len(r.split()) for r in refs)
    if total == 0:
        raise ValueError("the references are empty: an error rate needs at least one reference unit")
    transform: Any
    if unit == "chars":
        transform = jiwer.ReduceToListOfListOfChars()
        out = jiwer.process_characters(list(refs), list(hyps), reference_transform=transform,
                                       hypothesis_transform=transform)
    else:
        transform = jiwer.Compose([jiwer.SubstituteRegexes({r"\s+": " "}), jiwer.Strip(),
                                   jiwer.ReduceToListOfListOfWords()])  # = str.split()
        out = jiwer.process_words(list(refs), list(hyps), reference_transform=transform,
                                  hypothesis_transform=transform)
    errors = out.substitutions + out.deletions + out.insertions
    return {"rate": errors / total, "errors": errors, "units": total}


def error_rates(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float | int]:
    """Corpus CER and WER of hypotheses against references, with the raw counts.

    Returns ``{"cer", "wer", "char_errors", "chars", "word_errors", "words", "n"}``."""
    chars = _counts(refs, hyps, "chars")
    words = _counts(refs, hyps, "words")
    return {"cer": chars["rate"], "wer": words["rate"], "char_errors": chars["errors"], "chars": chars["units"],
            "word_errors": words["errors"], "words": words["units"], "n": len(refs)}


def cer(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Character error rate of one string pair or of a corpus."""
    refs, hyps = ([refs], [hyps]) if isinstance(refs, str) else (refs, hyps)
    return float(_counts(refs, hyps, "chars")["rate"])


def wer(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Word error rate of one string pair or of a corpus."""
    refs, hyps = ([refs], [hyps]) if isinstance(refs, str) else (refs, hyps)
    return float(_counts(refs, hyps, "words")["rate"])


__all__ = ["cer", "error_rates", "wer"]
