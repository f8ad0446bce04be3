"""docs/api.md is what docs/gen_api.py writes from the code today, and it documents the public API."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api.md"

# Headings the page must have: the Python API that the README and issue 14 promise.
PUBLIC = (
    "rnnkit.load",
    "rnnkit.tasks.base.Predictor",
    "rnnkit.tasks.sentiment.SentimentPredictor",
    "SentimentPredictor.predict",
    "SentimentPredictor.trace",
    "rnnkit.tasks.signals.SignalPredictor",
    "SignalPredictor.predict",
    "SignalPredictor.trace",
    "rnnkit.tasks.video.VideoPredictor",
    "VideoPredictor.predict",
    "VideoPredictor.trace",
    "rnnkit.tasks.lm.LMPredictor",
    "LMPredictor.generate",
    "LMPredictor.next_tokens",
    "LMPredictor.trace",
    "rnnkit.tasks.translate.Translator",
    "Translator.translate",
    "rnnkit.tasks.speech_ctc.SpeechRecognizer",
    "SpeechRecognizer.transcribe",
    "rnnkit.tasks.sentiment.SentimentEnsemble",
    "rnnkit.nn.Recurrent",
    "Recurrent.forward",
    "Recurrent.step",
    "Recurrent.zero_state",
    "rnnkit.nn.cells.RecurrentCell",
    "RecurrentCell.step",
    "rnnkit.nn.export_onnx",
    "rnnkit.tracing.trace.GateTrace",
    "GateTrace.get",
    "GateTrace.to_dict",
    "rnnkit.tracing.trace.LayerTrace",
    "rnnkit.tracing.trace.trace_texts",
    "rnnkit.tracing.plot.plot_trace",
    "rnnkit.files.write.atomic_write",
    "rnnkit.fit",
    "rnnkit.tasks.fit.fit_classifier",
    "rnnkit.tasks.run.train",
    "rnnkit.tasks.run.resume",
    "rnnkit.tasks.run.load",
    "rnnkit.tasks.run.evaluate_directory",
    "rnnkit.train.TrainConfig",
    "rnnkit.train.loop.train_loop",
    "rnnkit.train.task.Task",
)


def generator():  # noqa: ANN201 - the docs/gen_api.py module
    if "gen_api" not in sys.modules:  # dataclasses look their module up in sys.modules
        spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["gen_api"] = module
        spec.loader.exec_module(module)
    return sys.modules["gen_api"]


def headings(page: str) -> list[str]:
    return re.findall(r"^#{2,4} `?([^`\n]+)`?$", page, flags=re.MULTILINE)


def test_committed_page_is_what_the_generator_writes(tmp_path: Path) -> None:
    pytest.importorskip("onnx")  # rnnkit.nn.export_onnx is documented only where it can be imported
    out = tmp_path / "api.md"
    assert generator().main(["--out", str(out)]) == 0
    assert PAGE.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        "docs/api.md is stale: run `python docs/gen_api.py` and commit docs/api.md")


def test_page_documents_every_public_name() -> None:
    from rnnkit.nn import CELLS
    from rnnkit.tasks import TASKS
    from rnnkit.train import TrainConfig

    page = PAGE.read_text(encoding="utf-8")
    have = set(headings(page))
    missing = [name for name in PUBLIC if name not in have]
    missing += [f"{cls.__module__}.{cls.__qualname__}" for cls in CELLS.values()  # a cell may have its own module
                if f"{cls.__module__}.{cls.__qualname__}" not in have]
    missing += [f"{app.predictor.__module__}.{app.predictor.__qualname__}" for app in TASKS.values()
                if f"{app.predictor.__module__}.{app.predictor.__qualname__}" not in have]
    assert not missing, f"docs/api.md lacks {missing}: run `python docs/gen_api.py`"
    for f in dataclasses.fields(TrainConfig):
        assert f"| `{f.name}` |" in page, f"TrainConfig.{f.name} is not in docs/api.md"


def test_every_link_of_the_page_reaches_a_heading() -> None:
    gen = generator()
    page = PAGE.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    anchors = {gen.slug(heading, seen) for heading in re.findall(r"^#{2,4} (.+)$", page, flags=re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", page)
    assert len(links) > len(PUBLIC) // 2
    assert not [link for link in links if link not in anchors]


def test_signatures_never_show_memory_addresses() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert " at 0x" not in page
    assert "<function" not in page
