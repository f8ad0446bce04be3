"""The verdict rules: every claim is judged by a named :class:`Rule` whose thresholds live in code.

A rule is fixed before the runs it judges. Each experiment module declares its rules (``RULES``, next to the
function that applies them); a :class:`Claim` names the rule that judged it, and the lecture-claims results
file stores every rule's statement and thresholds as they were when it judged, with the commit of the rule
and of the run. A rule that changes must re-judge (or re-run) every result it decides, in a later commit:
the test of the results file fails while a stored rule differs from the one in the code.

The decided verdicts ("holds", "does not hold") rest on at least :data:`MIN_SEEDS` seeds per arm, each arm
with its own learning rate chosen on validation data; :func:`enough_seeds` turns a verdict that rests on
fewer into "undecided" and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

MIN_SEEDS = 3  # a verdict of "holds" or "does not hold" rests on at least this many seeds per arm
MARK = {True: "holds", False: "does not hold", None: "undecided"}
VERDICT_WORDS = ("holds", "does not hold", "undecided", "not shown")


class Claim(TypedDict):
    """One lecture statement as tested: ``holds`` is None when the run cannot decide it; ``rule`` names the
    :class:`Rule` that judged it."""

    claim: str
    holds: bool | None
    verdict: str
    rule: str


@dataclass(frozen=True)
class Rule:
    """How one claim is decided: what must be seen for "holds", for "does not hold", and otherwise."""

    name: str  # "<experiment>/<what>", unique across the experiments
    statement: str  # the rule in words
    thresholds: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The rule as the results file stores it."""
        return {"statement": self.statement, "thresholds": dict(self.thresholds)}

    def judge(self, claim: str, holds: bool | None, verdict: str) -> Claim:
        """A :class:`Claim` judged by this rule."""
        return Claim(claim=claim, holds=holds, verdict=verdict, rule=self.name)


def rules_of(rules: Sequence[Rule]) -> dict[str, Rule]:
    """``{name: rule}``; two rules of one name are refused."""
    found: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in found:
            raise ValueError(f"two rules are named {rule.name!r}")
        found[rule.name] = rule
    return found


def enough_seeds(holds: bool | None, seeds: int, verdict: str) -> tuple[bool | None, str]:
    """``(holds, verdict)``, or undecided when a decided verdict rests on fewer than :data:`MIN_SEEDS` seeds."""
    if holds is None or seeds >= MIN_SEEDS:
        return holds, verdict
    said = "one seed" if seeds == 1 else f"{seeds} seeds"
    return None, (f"undecided — {MARK[holds]} in this run, but it rests on {said} (a verdict needs ≥ {MIN_SEEDS} "
                  f"seeds per arm): {verdict}")


def at_chance(accuracy: float, n: int, z: float = 1.96) -> bool:
    """Whether ``accuracy`` on ``n`` balanced test examples is within ``z`` standard errors of 50 % (the
    standard error of a coin: sqrt(0.25 / n)): a model there has not shown that it learned anything."""
    return accuracy - 0.5 <= z * math.sqrt(0.25 / n)


def verdict_text(claim: Claim, mark: dict[bool | None, str]) -> str:
    """``mark[holds]: verdict`` — or the verdict alone when it already starts with its own verdict word
    ("undecided at this budget — …"), so the word is not said twice."""
    if claim["verdict"].lower().startswith(VERDICT_WORDS):
        return claim["verdict"]
    return f"{mark[claim['holds']]}: {claim['verdict']}"


def claims_section(claims: Sequence[Claim]) -> list[str]:
    """The verdict lines of a report."""
    return [f"- **{c['claim']}** — {verdict_text(c, MARK)}" for c in claims]


def rules_section(rules: Sequence[Rule]) -> list[str]:
    """The rules of a report, one line each with their thresholds."""
    lines = []
    for rule in rules:
        limits = ", ".join(f"{k} = {v}" for k, v in rule.thresholds.items())
        lines.append(f"- `{rule.name}`: {rule.statement}" + (f" ({limits})" if limits else ""))
    return lines


def verdict_section(claims: Sequence[Claim], rules: Sequence[Rule]) -> list[str]:
    """A report's closing sections: the verdicts, then the rules that decided them."""
    return ["## Verdict", "", *claims_section(claims), "", "## Rules", "", *rules_section(rules), ""]
