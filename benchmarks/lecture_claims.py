"""The lecture's claims: docs/lecture-claims.md, the README's claims table and the results file, from one place.

    python benchmarks/lecture_claims.py                        # re-judge the stored results by the rules in the code
    python benchmarks/lecture_claims.py --run cloze gates      # run (or resume) these at full size, store, re-judge
    python benchmarks/lecture_claims.py --store cloze --out D  # store experiments finished in D/<name>, re-judge
    python benchmarks/lecture_claims.py --retime lstm-vs-gru   # time the speed claims again (on a quiet machine)
    python benchmarks/lecture_claims.py --check                # exit 1 when the page, README or results are stale
    python benchmarks/lecture_claims.py --quick                # every experiment at quick size (CI); writes no docs

The results file, benchmarks/results/lecture-claims-<machine>.json, stores every experiment's results (the
traces only the plots read left out) with the commit and time of its run, and every claim as judged: its
verdict, the rule that decided it (statement and thresholds) and the commit of that rule. Without options the
stored results are judged again by the rules in the code — a rule change re-judges every result it decides
without training — and docs/lecture-claims.md and the README's table (between its lecture-claims markers) are
written from them. ``--run NAME…`` trains an experiment into runs/lecture-claims/NAME (a killed run resumes
from the models and runs already there) and stores its results and plots; ``--store NAME…`` stores experiments
finished in ``--out`` (e.g. run elsewhere with ``rnnkit experiment NAME --out D/NAME``). Experiments run in
separate sessions are assembled in the one results file, each with its own stamp. Judging refuses uncommitted
changes to the code (the results record the commit that judged). Set OMP_NUM_THREADS=1 and ``--threads 1``
when the machine is shared; run ``--retime`` only when it is not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from rnnkit.bench.timing import machine_tag
from rnnkit.cli import main as rnnkit
from rnnkit.experiments import claims, lstm_vs_gru
from rnnkit.experiments.record import compact, now, read_results, source
from rnnkit.files import write_text

ROOT = Path(__file__).resolve().parent.parent
DOCS, README = ROOT / "docs", ROOT / "README.md"
# Results stored before runs recorded their commit: where they were committed, and what is known of them.
LEGACY = {
    "long-memory": {"committed_in": "184bfdf (T ≤ 100) and d11917e (T = 200)",
                    "note": "The T = 200 runs ran after the others and were merged into these results in d11917e "
                            "(committed 2026-11-30T00:00:54+0000); 'written' gives the time of the first run only, "
                            "and the per-run records were not kept."},
    "bottleneck": {"committed_in": "184bfdf", "note": ""},
    "lstm-vs-gru": {"committed_in": "184bfdf",
                    "note": "Its speed timings were replaced by a re-timing that no committed code wrote (the "
                            "'speed_timed' key); they are left out, and the speed claims await a timing by the "
                            "committed code."},
}
DROPPED = {"lstm-vs-gru": ("implementations", "speed_timed")}  # legacy keys no committed code wrote


def results_path() -> Path:
    return ROOT / "benchmarks" / "results" / f"lecture-claims-{machine_tag()}.json"


def _relative(value: Any, name: str) -> Any:
    """Absolute paths of a legacy run (``/…/<name>/models/x``) made relative to its folder (``models/x``)."""
    if isinstance(value, dict):
        return {k: _relative(v, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, name) for v in value]
    if isinstance(value, str) and value.startswith("/") and f"/{name}/" in value:
        return value.split(f"/{name}/", 1)[1]
    return value


def load(path: Path) -> dict[str, Any]:
    """The results file; stored experiments from before run commits were recorded get their legacy stamp, their
    paths made relative, and what no committed code wrote is dropped."""
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"experiments": {}}
    for name, results in stored["experiments"].items():
        if "source" not in results:
            results = stored["experiments"][name] = _relative(results, name)
            results["source"] = {"commit": None, "dirty": None}
            results["legacy"] = LEGACY.get(name, {"committed_in": "unknown", "note": ""})
            for key in DROPPED.get(name, ()):
                results.pop(key, None)
    return stored


def current(name: str, results: dict[str, Any]) -> bool:
    """Whether stored results can be judged by the code now: recorded by it, or legacy results it can read."""
    return bool(results["source"].get("commit")) or name in LEGACY


def summary(stored: dict[str, Any]) -> dict[str, Any]:
    """Every experiment of the page, judged by the rules in the code (or why it has no results)."""
    experiments = {}
    for name in claims.LECTURE:
        results = stored["experiments"].get(name)
        if results is None:
            experiments[name] = claims.entry(name, None, failed=f"not run yet: `python benchmarks/lecture_claims.py "
                                                                f"--run {name}`")
        elif not current(name, results):
            experiments[name] = claims.entry(name, None, failed=f"its stored results predate the current design; "
                                                                f"`python benchmarks/lecture_claims.py --run {name}`")
        else:
            experiments[name] = claims.entry(name, results)
    return {"experiments": experiments}


def records(judged: dict[str, Any], commit: str) -> list[dict[str, Any]]:
    """One record per claim: its verdict and numbers, the rule, the commit of the rule and of the run."""
    rules = claims.all_rules()
    found = []
    for name, e in judged["experiments"].items():
        if e["results"] is None:
            continue
        r = e["results"]
        run = {"commit": r["source"].get("commit"), "written": r.get("written"), **({"legacy": r["legacy"]}
                                                                                  if "legacy" in r else {})}
        found += [{"experiment": name, **c, "rule_text": rules[c["rule"]].describe(), "rule_commit": commit,
                   "run": run} for c in e["claims"]]
    return found


def write_all(stored: dict[str, Any], path: Path, *, commit: str) -> dict[str, Any]:
    """Judge, then write the results file, the page and the README's table."""
    judged = summary(stored)
    judged["judged"] = {"commit": commit, "written": now()}
    document = claims.render(judged)
    (DOCS / "lecture-claims.md").write_text(document, encoding="utf-8")
    claims.write_readme_table(README, judged)
    payload = {"command": "python benchmarks/lecture_claims.py", "judged": judged["judged"],
               "rules": {n: r.describe() for n, r in claims.all_rules().items()},
               "records": records(judged, commit), "experiments": stored["experiments"]}
    write_text(path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return judged


def store(stored: dict[str, Any], name: str, folder: Path) -> None:
    """Put an experiment's results (traces left out) into the stored results and its plots into docs/img."""
    results = read_results(folder)
    if results is None:
        raise SystemExit(f"{folder} holds no results.json; run the experiment first")
    stored["experiments"][name] = compact(results, claims.module_of(name).TRACES)
    (DOCS / "img").mkdir(exist_ok=True)
    for old in (DOCS / "img").glob(f"{name}-*.png"):
        if old.name.removeprefix(f"{name}-") not in results.get("plots", []):
            old.unlink()
    claims.copy_plots({name: results.get("plots", [])}, {name: folder}, DOCS)


def check(stored: dict[str, Any], path: Path) -> int:
    """1 when the page, the README's table or the stored verdicts differ from what the stored results give now."""
    judged = summary(stored)
    judged["judged"] = stored.get("judged")
    stale = []
    if claims.render(judged) != (DOCS / "lecture-claims.md").read_text(encoding="utf-8"):
        stale.append("docs/lecture-claims.md")
    if claims.readme_table(judged) not in README.read_text(encoding="utf-8"):
        stale.append("README.md's claims table")
    commit = (stored.get("judged") or {}).get("commit", "")
    if records(judged, commit) != stored.get("records"):
        stale.append(f"the records of {path.name}")
    if stale:
        print(f"stale: {', '.join(stale)}; run `python benchmarks/lecture_claims.py` (and commit)", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", nargs="+", metavar="NAME", choices=list(claims.LECTURE), help="experiments to run")
    parser.add_argument("--store", nargs="+", metavar="NAME", choices=list(claims.LECTURE),
                        help="store experiments already finished in --out")
    parser.add_argument("--retime", nargs="+", metavar="NAME", choices=["lstm-vs-gru"], help="time again")
    parser.add_argument("--check", action="store_true", help="exit 1 when the page or results are stale")
    parser.add_argument("--quick", action="store_true", help="tiny data and models into a temporary folder")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "lecture-claims", help="experiments' folder")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if args.quick:
        raise SystemExit(rnnkit(["experiment", "all", "--quick", "--out", tempfile.mkdtemp(prefix="lecture-claims-")]))
    path = results_path()
    stored = load(path)
    if args.check:
        raise SystemExit(check(stored, path))
    code = source()
    if not code["commit"] or code["dirty"]:
        raise SystemExit("commit your changes first: the results record the commit of the rules that judge them")
    for name in args.run or []:
        if rnnkit(["experiment", name, "--out", str(args.out / name)]) != 0:
            raise SystemExit(f"the {name} experiment failed; its models so far stay in {args.out / name}")
        store(stored, name, args.out / name)
    for name in args.store or []:
        store(stored, name, args.out / name)
    if args.retime:
        stored["experiments"]["lstm-vs-gru"] = lstm_vs_gru.retime(stored["experiments"]["lstm-vs-gru"])
    judged = write_all(stored, path, commit=code["commit"])
    for name, e in judged["experiments"].items():
        for c in e["claims"]:
            print(f"{name:14s} {str(c['holds']):5s} {c['claim']}")
    print("wrote", path.relative_to(ROOT), "docs/lecture-claims.md", "README.md")


if __name__ == "__main__":
    main()
