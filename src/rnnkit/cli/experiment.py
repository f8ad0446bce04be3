"""``rnnkit experiment NAME --out DIR``: run one of the lecture's claims as a measured experiment.

:data:`EXPERIMENTS` maps a name to an :class:`Experiment`. Its ``run(out, quick=…, **budget)`` trains and
measures, writes ``results.json``, its plots and ``report.md`` into ``out`` and returns the results;
``quick=True`` is a seconds-long version on tiny data for CI. An experiment with a time budget takes
``minutes`` (per trained model); the others never receive it. Flags that only some experiments take
(``--data``, ``--lengths``, ``--models``, …) are listed in :data:`OPTIONS`; an experiment names the ones it
accepts, and the command refuses the others. ``all`` runs every other experiment through this registry.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnnkit.cli.args import in_range


@dataclass(frozen=True)
class Experiment:
    run: Callable[..., dict]  # run(out: Path, *, quick: bool, [minutes: float], [option=…]) -> results
    help: str
    takes_minutes: bool = False
    options: tuple[str, ...] = ()  # the flags of OPTIONS it takes, by keyword

    @property
    def accepts(self) -> tuple[str, ...]:
        return (*self.options, "minutes") if self.takes_minutes else self.options


# Flags that only some experiments take (keyword name → argparse settings); None/False means "not given".
OPTIONS: dict[str, dict] = {
    "data": {"help": "sentiment data: a registry name or a CSV/TSV/JSONL file (default: each experiment's corpus)"},
    "signal_data": {"help": "lstm-vs-gru: activity data: hapt (default), basicmotions or a UEA .ts file"},
    "lengths": {"type": in_range(int, 2), "nargs": "+",
                "help": "long-memory: sequence lengths T (default 5 10 20 50 100 200)"},
    "seeds": {"type": in_range(int, 1),
              "help": "seeds per model (default 3: a verdict rests on at least 3; experiments that train)"},
    "models": {"type": Path, "nargs": "+", "help": "word-order: score these sentiment model directories in the "
                                                   "transfer arm instead of training on reviews; examples: use "
                                                   "these sentiment/bow/translate/speech-ctc model directories "
                                                   "instead of training them"},
    "docs": {"type": Path, "help": "all: also write lecture-claims.md and its plots (img/) into this folder"},
    "readme": {"type": Path, "help": "all: also rewrite the claims table of this README (between its "
                                      "lecture-claims:start/end markers)"},
    "reuse": {"action": "store_true", "help": "all: reuse experiments already finished in OUT/<name>"},
}


def _lazy(module: str) -> Callable[..., dict]:
    """``run`` of ``rnnkit.experiments.<module>``, imported when called (the CLI starts fast)."""
    def run(out: Path, **kwargs) -> dict:
        return importlib.import_module(f"rnnkit.experiments.{module}").run(out, **kwargs)
    return run


def _all(out: Path, **kwargs) -> dict:
    from rnnkit.experiments.claims import run

    def runner(experiment: Experiment) -> Callable[..., dict]:
        return lambda out, **kw: experiment.run(out, **{k: v for k, v in kw.items()
                                                        if k == "quick" or k in experiment.accepts})

    return run(out, experiments={n: runner(e) for n, e in EXPERIMENTS.items() if n != "all"}, **kwargs)


EXPERIMENTS: dict[str, Experiment] = {
    "bottleneck": Experiment(_lazy("bottleneck"), "seq2seq without vs with attention: BLEU by source length (the "
                                                  "encoder's final state as the only link forgets long sentences)",
                             takes_minutes=True),
    "long-memory": Experiment(_lazy("long_memory"), "adding problem and copy task at growing T for every cell, "
                                                    "learning rate chosen per cell, several seeds: where each one "
                                                    "breaks (minutes: optional cap per run)", takes_minutes=True,
                              options=("lengths", "seeds")),
    "word-order": Experiment(_lazy("word_order"), "contrast pairs (same words, opposite labels): bag of words vs "
                                                  "recurrent classifiers trained on pairs (capacity) and on "
                                                  "reviews (transfer)", takes_minutes=True,
                             options=("data", "models", "seeds")),
    "lstm-vs-gru": Experiment(_lazy("lstm_vs_gru"), "quality and speed of LSTM, both GRUs and Elman at equal size and "
                                                    "equal parameters on sentiment and activity, equal updates, seeds",
                              options=("data", "signal_data", "seeds")),
    "gradient-flow": Experiment(_lazy("gradient_flow"), "the norm of dL/dh_t vs distance from the loss, per cell, "
                                                        "at initialisation and after learning the adding problem",
                                takes_minutes=True, options=("seeds",)),
    "long-reviews": Experiment(_lazy("long_reviews"), "a review sentence then other reviews' words up to 50-400 "
                                                      "tokens, decided from the final state: Elman vs LSTM vs GRU "
                                                      "vs bag of words, by length", takes_minutes=True,
                               options=("data", "seeds")),
    "gates": Experiment(_lazy("gates"), "what the gates do on real inputs: an LSTM LM's forget gate at sentence ends "
                                        "(Austen) against other punctuation and a GRU's update gate across the adding "
                                        "problem's gap, trained vs untrained", takes_minutes=True,
                        options=("seeds",)),
    "cloze": Experiment(_lazy("cloze"), "the France cloze at controlled distances: generated \"X is where I grew up, "
                                        "but I now live in Y. I speak fluent ___\" lines, held-out combinations, "
                                        "every cell (own learning rate, seeds) vs the previous-word model",
                        takes_minutes=True, options=("seeds",)),
    "examples": Experiment(_lazy("examples"), "the lecture's examples run on trained models: \"nothing to like\" and "
                                              "the food pair, \"Voulez-vous chanter avec moi ?\", \"The quick brown "
                                              "fox jumped over the lazy dog.\" transcribed",
                           options=("data", "models")),
    "all": Experiment(_all, "every experiment, then lecture-claims.md (claims, plots, numbers, verdicts)",
                      takes_minutes=True, options=("data", "signal_data", "docs", "readme", "reuse")),
}


def _flags(keys) -> str:
    return ", ".join("--" + k.replace("_", "-") for k in keys)


def _experiment(args: argparse.Namespace) -> int:
    experiment = EXPERIMENTS[args.name]
    budget = {"minutes": args.minutes} if experiment.takes_minutes and args.minutes is not None else {}
    if args.minutes is not None and not experiment.takes_minutes:
        raise ValueError(f"the {args.name} experiment has no time budget; drop --minutes")
    given = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) not in (None, False)}
    foreign = [k for k in given if k not in experiment.options]
    if foreign:
        raise ValueError(f"the {args.name} experiment does not take {_flags(foreign)} "
                         f"(its options: {_flags(experiment.options) or 'none'})")
    _check_out(Path(args.out))
    results = experiment.run(args.out, quick=args.quick, **budget, **given)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print((Path(args.out) / "report.md").read_text(encoding="utf-8"))
    return 0


def _check_out(out: Path) -> None:
    """Refuse an --out that is a file, or a folder holding files that are not an experiment's (they would be
    overwritten or mixed with its results)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for results.json, plots and report.md")
    if out.is_dir() and any(out.iterdir()):  # an experiment's own folder, maybe of a killed run: its arms' dirs
        ours = ("results.json", "report.md", "lecture-claims.md", "config.json")
        if not any((out / name).exists() or any(out.glob(f"*/{name}")) for name in ours):
            raise ValueError(f"--out {out} holds other files (no results.json, no model directories of an "
                             "experiment's arms): choose a new or empty folder")


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("experiment", help="run a lecture claim as an experiment (results.json, plots, report.md)")
    p.add_argument("name", choices=list(EXPERIMENTS), help="; ".join(f"{n}: {e.help}" for n, e in EXPERIMENTS.items()))
    p.add_argument("--out", type=Path, required=True, help="folder for results.json, plots and report.md")
    p.add_argument("--quick", action="store_true", help="a seconds-long version on tiny data (for CI)")
    p.add_argument("--minutes", type=in_range(float, 0.01), default=None,
                   help="training budget per model (experiments that have one)")
    p.add_argument("--json", action="store_true", help="print results.json instead of the report")
    for name, settings in OPTIONS.items():
        p.add_argument("--" + name.replace("_", "-"), default=None, **settings)
    return {"experiment": _experiment}
