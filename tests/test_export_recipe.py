"""The README's "classify without rnnkit" recipe, run as written — onnxruntime, tokenizers and the export's
JSON file — on a word-, a character- and a BPE-level model: the probabilities of ``rnnkit predict`` on a list of
hostile sentences, and the same refusals (issue 24); and docs/export.md's translator recipe. The blocks are
read from the documents, so a document and its test cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli import main

ROOT = Path(__file__).parent.parent
HOSTILE: list[str] = json.loads((ROOT / "tests" / "fixtures" / "hostile_texts.json").read_text(encoding="utf-8"))


def recipe(name: str, document: str = "README.md") -> str:
    """The Python block after ``<!-- recipe: NAME … -->`` in ``document``."""
    text = (ROOT / document).read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {name}\b[^>]*-->\n```python\n(.*?)\n```", text, re.S)
    assert match is not None, f"{document} has no recipe {name!r}"
    return match.group(1)


def test_the_recipe_needs_only_onnxruntime_tokenizers_and_the_json_file():
    code = recipe("classify")
    assert set(re.findall(r"^(?:import|from) (\w+)", code, re.M)) == {"json", "numpy", "onnxruntime", "tokenizers"}
    assert "re." not in code and "≈" not in code


@pytest.fixture(scope="module", params=["word", "char", "bpe"])
def exported(request, reviews_csv, tmp_path_factory) -> tuple[Path, Path]:
    """A tiny sentiment model of each tokenizer level, exported alone into a folder of its own."""
    folder = tmp_path_factory.mktemp(f"recipe-{request.param}")
    model = folder / "model"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--tokenizer", request.param, "--min-freq", "1", "--epochs", "1", "--no-progress",
                 "--embed-dim", "8", "--hidden-size", "8", "--out", str(model)]) == 0
    assert main(["export", str(model), "--out", str(folder / "deploy" / "model.onnx")]) == 0
    return model, folder / "deploy"


def test_the_readme_recipe_gives_rnnkit_predicts_probabilities(exported, monkeypatch, capsys):
    model, deploy = exported
    assert sorted(p.name for p in deploy.iterdir()) == ["model.onnx", "model.onnx.json", "model.tokenizer.json"]
    monkeypatch.chdir(deploy)
    capsys.readouterr()
    namespace: dict = {"__name__": "readme_recipe"}
    exec(compile(recipe("classify"), "README.md (recipe: classify)", "exec"), namespace)  # noqa: S102 - the test
    assert "positive" in capsys.readouterr().out
    classify = namespace["classify"]
    predictor = rnnkit.load(model)
    refused = 0
    for text in HOSTILE:
        try:
            want = predictor.predict([text])[0]["probs"]
        except ValueError:
            with pytest.raises(ValueError, match="empty"):
                classify(text)
            refused += 1
            continue
        assert classify(text) == pytest.approx(want, abs=1e-5), text
    assert refused == 3  # "", "   " and "\n\t"
    text = namespace["meta"]["text"]
    if text["tokenizer"]["kind"] == "bpe":  # BPE pieces the model never saw: ids past its vocabulary, read as <unk>
        assert any(max(namespace["tokenizer"].encode(t).ids) >= text["vocab_size"] for t in HOSTILE if t.strip())


def test_the_translator_recipe_translates_like_rnnkit(tmp_path, monkeypatch, capsys):
    model = ROOT / "tests" / "fixtures" / "format1" / "translate"  # a translator written by rnnkit at 240bd31
    assert main(["export", str(model), "--out", str(tmp_path / "model.onnx")]) == 0
    code = recipe("translate", "docs/export.md")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    namespace: dict = {"__name__": "docs_recipe"}
    exec(compile(code, "docs/export.md (recipe: translate)", "exec"), namespace)  # noqa: S102 - the test
    predictor = rnnkit.load(model)
    beam = namespace["meta"]["decoding"]["beam"]
    assert capsys.readouterr().out.strip() == predictor.translate(["Où est la gare ?"], beam=beam)[0]["translation"]
