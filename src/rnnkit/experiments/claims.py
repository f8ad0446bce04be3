"""``rnnkit experiment all``: every experiment, then the lecture-claims document.

Each experiment runs into ``OUT/<name>`` — or, with ``reuse``, one already finished there (its
results.json present, of the same size: quick or full) is taken as it is, so experiments run one at a
time can be assembled afterwards. The document, ``lecture-claims.md``, gives for each claim of the
lecture the experiment, its plots, its numbers (the experiment's report) and a one-line verdict per
statement; where a run disagrees with the lecture it says so and gives the likely reason. It is written
to ``OUT/report.md`` with the plots under ``OUT/img/``, and with ``docs`` also to
``DOCS/lecture-claims.md`` with the plots under ``DOCS/img/``.

An experiment that fails is reported as such in the document; the run then ends with an error naming it.
"""

from __future__ import annotations

import json
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnkit.experiments.record import Claim, claims_section, finish, stamp, table

# In the lecture's order: the claim, in the lecture's words, and what to read into a disagreement.
LECTURE: dict[str, dict[str, str]] = {
    "long-memory": {
        "title": "Issue 1: long-term dependencies — “a plain RNN is not a good choice”",
        "experiment": "the adding problem and the copy task at growing distances T from T = 5, every cell with "
                      "the same hidden size and update budget and its own learning rate (chosen on a short-T "
                      "validation run), several seeds",
        "why": "Every run has a fixed budget of updates: a cell still on the loss plateau when the budget ends "
               "counts as failed although it might solve the task later (LSTMs are known to sit on the adding "
               "problem's plateau for thousands of updates)."},
    "gradient-flow": {
        "title": "The vanishing gradient behind Issue 1",
        "experiment": "‖∂L/∂h_t‖ against the distance from the loss, on one batch of long real reviews",
        "why": "The gradient with respect to h_t is one path among several: the LSTM's memory cell carries "
               "gradient that ∂L/∂h_t does not show (see the input-gradient column), and brief training "
               "changes the recurrent weights only a little."},
    "long-reviews": {
        "title": "“Plain RNNs struggle with long sequences”",
        "experiment": "sentiment of the Pang & Lee reviews read as their first 50, 100, 200, 400 and 800 words (the "
                      "reviews that have that many), Elman RNN, LSTM and GRU deciding from the final state, and a "
                      "bag of words as reference; the same epochs, patience and learning rate for every arm; judged "
                      "across lengths (does the Elman RNN fall behind the gated cells as the reviews grow?)",
        "why": "Each length has its own, smaller set of reviews (569 have 800 words: ~57 test reviews, ± 6.5 points "
               "of standard error), so close accuracies are ties; one seed; a review's first words are mostly plot "
               "summary, so short prefixes carry little of the verdict for any reader; and with ~1,000 training "
               "reviews a final-state reader trained from scratch may stay near chance at any length (flagged per "
               "arm), which says more about the data than about the cell."},
    "word-order": {
        "title": "Issue 2: a bag of words ignores word order",
        "experiment": "contrast pairs (same bag of words, opposite labels) in two arms: *capacity* — every model "
                      "trained on contrast pairs, tested on pairs of (noun, adjective, adjective) triples it never "
                      "saw and on a template it never saw; *transfer* — models trained on review snippets, scored "
                      "on pairs of real review vocabulary; and the lecture's own pair, “The food was good, not bad "
                      "at all.” / “The food was bad, not good at all.”",
        "why": "The capacity arm is the lecture's claim (a reader in order *can* use order). The transfer arm asks "
               "more: the pair sentences are short templates that are rare in review snippets, and a classifier "
               "trained on reviews has seldom seen negation patterns such as “not X , it is Y”, so it may read in "
               "order and still not have learned what these patterns mean — a failure to transfer, not a "
               "refutation of the lecture."},
    "lstm-vs-gru": {
        "title": "“LSTM is slightly better, GRU is a little faster”",
        "experiment": "quality and speed of LSTM, both GRUs and Elman at equal hidden size and equal parameter "
                      "count, several seeds",
        "why": "Speed is judged where both cells run the same code (rnnkit's reference loop and its streaming "
               "step); torch's own kernels differ per cell on CPU (oneDNN's LSTM, ATen's GRU), so their ratio "
               "compares two libraries, and the training runs' tokens/s mix in everything else. Quality "
               "differences between gated cells are usually within the spread of seeds."},
    "bottleneck": {
        "title": "The encoder–decoder bottleneck — “the network will have time to forget everything”",
        "experiment": "seq2seq with attention, without (bidirectional encoder, bridged), and the lecture's plain "
                      "encoder–decoder (final state only), equal updates, BLEU by source length within each domain",
        "why": "BLEU of short sources is noisy (few sentences per bucket within a domain), and a model without "
               "attention may not have converged on any length within the epochs given."},
}


def _bottleneck_claims(results: dict[str, Any]) -> list[Claim]:
    """The bottleneck experiment states its claim as ``claim_holds`` and a BLEU drop per arm."""
    drops = []
    for name, arm in results["arms"].items():
        drops.append(f"{name} {'–' if arm['drop'] is None else format(arm['drop'], '.0%')}")
    within = results.get("within_domain", {})
    per_domain = "; ".join(f"{domain}: " + ", ".join(f"{n} {'–' if d is None else format(d, '.0%')}"
                                                     for n, d in v["drops"].items()) for domain, v in within.items())
    return [Claim(claim="Without attention, a seq2seq model loses more of its BLEU on long sources",
                  holds=results["claim_holds"],
                  verdict="BLEU drop from the shortest to the longest source bucket, within each domain — "
                          + (per_domain or "no domain") + "; pooled over domains: " + ", ".join(drops))]


def _claims_of(name: str, results: dict[str, Any]) -> list[Claim]:
    if "claims" in results:
        return results["claims"]
    return _bottleneck_claims(results) if name == "bottleneck" else []


def _plots_of(folder: Path, results: dict[str, Any]) -> list[str]:
    return results.get("plots") or sorted(p.name for p in folder.glob("*.png"))


def run(out: Path, *, experiments: dict[str, Callable[..., dict]], quick: bool = False, minutes: float | None = None,
        data: str | None = None, lm_data: str | None = None, docs: Path | None = None, reuse: bool = False,
        log=print) -> dict[str, Any]:
    """Run (or reuse) every experiment in ``experiments`` (name → ``run(out, quick=…, **options)``, each
    taking only the options it knows), then write the lecture-claims document."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    options = {k: v for k, v in {"minutes": minutes, "data": data, "lm_data": lm_data}.items() if v is not None}
    order = [n for n in LECTURE if n in experiments] + [n for n in experiments if n not in LECTURE]
    done: dict[str, Any] = {}
    for name in order:
        folder = out / name
        previous = folder / "results.json"
        try:
            if reuse and previous.exists() and json.loads(previous.read_text(encoding="utf-8")).get("quick") == quick:
                log(f"== {name}: reusing {previous}")
                results = json.loads(previous.read_text(encoding="utf-8"))
            else:
                log(f"== {name}")
                results = experiments[name](folder, quick=quick, **options)
            done[name] = {"folder": str(folder), "claims": _claims_of(name, results),
                          "plots": _plots_of(folder, results), "quick": results.get("quick", quick), "failed": None}
        except Exception as exc:  # one failed experiment must not lose the others' hours of results
            log(traceback.format_exc())
            done[name] = {"folder": str(folder), "claims": [], "plots": [], "quick": quick,
                          "failed": f"{type(exc).__name__}: {exc}"}
    results = {**stamp("all", quick), "experiments": done}
    document = render(results)
    for target in [out] + ([Path(docs)] if docs is not None else []):
        _publish(document, results, out, target)
    finish(out, results, document)
    failed = [n for n, e in done.items() if e["failed"]]
    if failed:
        raise RuntimeError(f"experiment(s) {', '.join(failed)} failed (see {out / 'report.md'}); the others' "
                           "results are written")
    return results


def _image(name: str, plot: str) -> str:
    return f"img/{name}-{plot}"


def _publish(document: str, results: dict[str, Any], out: Path, target: Path) -> None:
    """Write ``lecture-claims.md`` into ``target`` and copy the plots it shows to ``target/img``."""
    (target / "img").mkdir(parents=True, exist_ok=True)
    for name, e in results["experiments"].items():
        for plot in e["plots"]:
            shutil.copyfile(out / name / plot, target / _image(name, plot))
    (target / "lecture-claims.md").write_text(document, encoding="utf-8")


def _body(folder: Path) -> list[str]:
    """The experiment's report.md without its title, images and verdict section, headings one level down."""
    path = folder / "report.md"
    if not path.exists():
        return []
    lines, kept, skipping = path.read_text(encoding="utf-8").splitlines()[1:], [], False
    for line in lines:
        if line.startswith("## "):
            skipping = line.strip() == "## Verdict"
        if skipping or line.startswith("!["):
            continue
        kept.append("#" + line if line.startswith("#") else line)
    return kept


def render(results: dict[str, Any]) -> str:
    """The lecture-claims document (markdown, images under ``img/``)."""
    mark = {True: "holds", False: "**does not hold**", None: "undecided"}
    experiments = results["experiments"]
    rows = []
    for name, e in experiments.items():
        if e["failed"]:
            rows.append([LECTURE.get(name, {}).get("title", name), f"`{name}`", "did not run"])
        rows += [[c["claim"], f"`{name}`", mark[c["holds"]]] for c in e["claims"]]
    lines = ["# The lecture's claims, measured", "",
             "Generated by `rnnkit experiment all` from the experiments' results (each experiment's folder holds "
             "its results.json, plots and report.md). Every number below was measured by these runs.", ""]
    if any(e["quick"] for e in experiments.values()):
        lines += ["> **Quick run**: tiny data and models for CI — the numbers and verdicts below mean nothing.", ""]
    lines += [*table(["claim", "experiment", "verdict"], rows), ""]
    for i, (name, e) in enumerate(experiments.items(), 1):
        info = LECTURE.get(name, {"title": name, "experiment": "", "why": ""})
        lines += [f"## {i}. {info['title']}", "",
                  f"**Experiment** `rnnkit experiment {name}`: {info['experiment']}.", ""]
        if e["failed"]:
            lines += [f"This experiment failed: `{e['failed']}`.", ""]
            continue
        lines += ["**Verdict**", "", *claims_section(e["claims"]), ""]
        if any(c["holds"] is False for c in e["claims"]):
            lines += [f"**Where this run disagrees with the lecture, and why it may**: {info['why']}", ""]
        lines += [f"![{name}: {plot}]({_image(name, plot)})" for plot in e["plots"]] + [""]
        lines += _body(Path(e["folder"])) + [""]
    return "\n".join(lines)
