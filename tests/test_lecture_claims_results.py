"""The committed lecture-claims page, the README's claims table and the results file: every verdict and number
comes from the stored results, judged by the rules in the code, and nothing names a folder of the machine that
produced it.

If a rule in ``rnnkit.experiments`` changes, or a report's wording, these fail until the stored results are
judged again (``python benchmarks/lecture_claims.py``) and the regenerated files are committed.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABSOLUTE = re.compile(r"(?<![\w.~])/(?:work|root|tmp|home|Users|private|var/folders|mnt|scratch)/[\w.+-]")
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("lecture_claims", ROOT / "benchmarks" / "lecture_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stored(script) -> dict:
    path = ROOT / "benchmarks" / "results" / "lecture-claims-cpu2.json"
    return script.load(path)


def test_the_page_readme_and_records_are_what_the_stored_results_give(script, stored, capsys):
    assert script.check(stored, ROOT / "benchmarks" / "results" / "lecture-claims-cpu2.json") == 0, \
        capsys.readouterr().err


def test_every_record_names_its_rule_and_the_commits_of_rule_and_run(stored):
    raw = json.loads((ROOT / "benchmarks" / "results" / "lecture-claims-cpu2.json").read_text(encoding="utf-8"))
    assert raw["records"]
    for record in raw["records"]:
        assert record["rule"] in raw["rules"] and record["rule_text"] == raw["rules"][record["rule"]]
        assert re.fullmatch(r"[0-9a-f]{40}", record["rule_commit"])
        assert record["run"]["commit"] or record["run"]["legacy"]["committed_in"]


def _lecture_paragraphs(text: str) -> list[str]:
    """What the README says citing the claims page, outside its generated table: in each paragraph that links
    to it, the sentence with the link and the ones after it."""
    start, end = text.index("<!-- lecture-claims:start"), text.index("<!-- lecture-claims:end -->")
    outside = text[:start] + text[end:]
    found = []
    for paragraph in outside.split("\n\n"):
        sentences = re.split(r"(?<=[.!?)])\s+(?=[A-Z(])", paragraph)
        cited = [i for i, sentence in enumerate(sentences) if "lecture-claims.md" in sentence]
        if cited:
            found.append(" ".join(sentences[cited[0]:]))
    return found


def test_the_readme_quotes_no_number_the_claims_page_does_not_give():
    page = (ROOT / "docs" / "lecture-claims.md").read_text(encoding="utf-8")
    known = {n.replace("−", "-") for n in NUMBER.findall(page)}
    for paragraph in _lecture_paragraphs((ROOT / "README.md").read_text(encoding="utf-8")):
        prose = re.sub(r"\([^)]*\.md[^)]*\)", "", paragraph)  # link targets are not numbers
        for number in NUMBER.findall(prose):
            assert number.replace("−", "-") in known, f"README quotes {number} ({paragraph[:80]}…)"


@pytest.mark.parametrize("where", ["docs", "benchmarks/results", "README.md"])
def test_committed_docs_and_results_name_no_folder_of_the_producing_machine(where):
    paths = [ROOT / where] if where.endswith(".md") else sorted(p for p in (ROOT / where).rglob("*")
                                                                if p.suffix in (".md", ".json", ".csv", ".txt"))
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in paths
             for m in ABSOLUTE.finditer(p.read_text(encoding="utf-8", errors="replace"))]
    assert not found, found[:5]


def test_the_absolute_path_check_finds_what_it_should():
    assert ABSOLUTE.search("Data `/work/runs/gradient-flow/data/x.csv`: one batch")
    assert ABSOLUTE.search('"model_dir": "/tmp/sctc/bench"') and ABSOLUTE.search("at /root/.cache/rnnkit/x")
    assert not ABSOLUTE.search("models/lstm and ~/.cache/rnnkit and 1/10 and https://example.org/tmp/x")
