"""The lecture's four design criteria for a sequence model, mapped to what shows each in rnnkit.

The lecture asks of a model for sequences: (1) **long-term memory** — what it read long ago can still decide
its answer; (2) **order information** — it tells "good, not bad" from "bad, not good"; (3) **natural
preprocessing** — inputs enter as they come (word ids, raw sensor channels, audio frames), not as
hand-made fixed-size features; (4) **variable-length sequences** — one model reads inputs of any length.
:func:`section` writes, for each criterion, the feature of the code, the verdicts of the experiments that judge
it and the numbers of those that show it, taken from the experiments' results (an experiment not run says so).
"""

from __future__ import annotations

from typing import Any

from rnnkit.experiments.rules import MARK, Claim

CRITERIA = (
    {"name": "Long-term memory",
     "feature": "the gated cells of `rnnkit.nn` (LSTM: c_t = f ⊙ c_{t-1} + i ⊙ g; both GRUs: h_t = (1 − z) ⊙ n + "
                "z ⊙ h_{t-1}) against the Elman cell, all run by the same `Recurrent` layer",
     "judged_by": ("cloze", "long-memory", "gates", "gradient-flow", "long-reviews"), "shown_by": ()},
    {"name": "Order information",
     "feature": "a recurrent classifier reads the tokens in order; the bag of words (`--model bow`, with and "
                "without bigram features) is the order-blind control",
     "judged_by": ("word-order",), "shown_by": ()},
    {"name": "Natural preprocessing",
     "feature": "text enters as word ids (the embedding learns the features), activity as 6 raw sensor channels "
                "per step, speech as log-mel frames — no fixed-size features made by hand",
     "judged_by": (), "shown_by": ("lstm-vs-gru", "examples")},
    {"name": "Variable-length sequences",
     "feature": "`Recurrent(x, lengths=…)` runs a padded batch of mixed lengths, each sequence ending at its own "
                "length (tested against a loop over single sequences); batches are built by length",
     "judged_by": (), "shown_by": ("bottleneck", "lstm-vs-gru")},
)


def _verdicts(name: str, claims: list[Claim]) -> list[str]:
    return [f"`{name}`: {c['claim']} — {MARK[c['holds']]}" for c in claims]


def _preprocessing(results: dict[str, Any] | None) -> list[str]:
    """lstm-vs-gru's LSTM on word ids and on raw sensor channels; examples' speech from log-mel frames."""
    if results is None or "summary" not in results:
        return []
    lstm = next((r for r in results["summary"] if r["cell"] == "lstm"), None)
    if lstm is None:
        return []
    return [f"`lstm-vs-gru`: the LSTM reaches test accuracy {lstm['sentiment_accuracy'][0]:.3f} on sentiment from word "
            f"ids and {lstm['signal_accuracy'][0]:.3f} on activity from raw sensor channels (mean of "
            f"{lstm['seeds']} seeds)"]


def _speech(results: dict[str, Any] | None) -> list[str]:
    if results is None or "speech" not in results:
        return []
    sp = results["speech"]
    return [f"`examples`: the CTC model transcribes the lecture's fox sentence from log-mel frames of a held-out voice "
            f"with character error rate {sp['greedy']['cer']:.3f} (greedy)"]


def _lengths(results: dict[str, Any] | None) -> list[str]:
    """One attention model's BLEU for sources of every length bucket."""
    if results is None or "arms" not in results or "attention" not in results["arms"]:
        return []
    buckets = results["arms"]["attention"]["per_bucket"]
    said = ", ".join(f"{b} words {v['bleu']:.1f}" for b, v in buckets.items())
    return [f"`bottleneck`: one attention model translates sources of every length — test BLEU by source length: "
            f"{said}"]


def _padded(results: dict[str, Any] | None) -> list[str]:
    """The recurrent layer's time on a batch of varied lengths against equal lengths."""
    if results is None or "summary" not in results:
        return []
    lstm = next((r for r in results["summary"] if r["cell"] == "lstm"), None)
    if lstm is None or "layer_fwd_bwd_ms_lengths" not in lstm:
        return []
    return [f"`lstm-vs-gru`: the LSTM layer runs a batch of lengths 48–64 in {lstm['layer_fwd_bwd_ms_lengths']:.1f} ms "
            f"(equal lengths {lstm['layer_fwd_bwd_ms']:.1f} ms), forward and backward"]


def section(results: dict[str, dict[str, Any] | None], claims: dict[str, list[Claim]]) -> list[str]:
    """The criteria section of the claims page: each criterion, the feature that answers it, and the results."""
    lines = ["## The lecture's four design criteria", "",
             "What the lecture asks of a model for sequences, where rnnkit answers it, and what the experiments "
             "measured:", ""]
    extra = {"Natural preprocessing": _preprocessing(results.get("lstm-vs-gru")) + _speech(results.get("examples")),
             "Variable-length sequences": _lengths(results.get("bottleneck")) + _padded(results.get("lstm-vs-gru"))}
    for criterion in CRITERIA:
        found = list(extra.get(criterion["name"], []))
        for name in criterion["judged_by"]:
            found += _verdicts(name, claims.get(name, []))
        missing = [n for n in (*criterion["judged_by"], *criterion["shown_by"]) if results.get(n) is None]
        if missing:
            found.append(f"not run: {', '.join(f'`{n}`' for n in missing)}")
        lines += [f"**{criterion['name']}** — {criterion['feature']}.", "", *(f"- {f}" for f in found), ""]
    return lines
