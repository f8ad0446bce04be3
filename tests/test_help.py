"""Every option of every `rnnkit` command says what it does, its default and its choices; and the small
messages of issue 16 (bench --quick, an all-unknown input to predict, data list of an unknown task, the
progress of a download)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from rnnkit.cli import build_parser, main
from rnnkit.data.fetching import http_download

SILENT_DEFAULTS = (None, False, "", [], argparse.SUPPRESS)  # nothing to state: off, empty or not given


def _options(parser: argparse.ArgumentParser, path: str):
    """``(command path, parser, action)`` of every option of ``parser`` and of all its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _options(child, f"{path} {name}")
        elif action.option_strings and not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield path, parser, action


OPTIONS = list(_options(build_parser()[0], "rnnkit"))


def test_the_walk_reaches_every_command():
    commands = {path for path, _, _ in OPTIONS}
    assert {"rnnkit train sentiment", "rnnkit train speech-ctc", "rnnkit evaluate", "rnnkit generate",
            "rnnkit bench", "rnnkit data"} <= commands
    assert len(OPTIONS) > 150


@pytest.mark.parametrize("path, parser, action", OPTIONS, ids=[f"{p} {a.option_strings[-1]}" for p, _, a in OPTIONS])
def test_every_option_has_help_with_its_default_and_choices(path, parser, action):
    text = action.help or ""
    assert re.sub(r"\(default: [^)]*\)", "", text).strip(), f"{path} {action.option_strings[-1]} has no help text"
    if action.default not in SILENT_DEFAULTS and not isinstance(action, argparse.BooleanOptionalAction):
        assert "default" in text, f"{path} {action.option_strings[-1]}: the help does not give the default"
    if isinstance(action, argparse.BooleanOptionalAction) and "(default:" not in text:
        pytest.fail(f"{path} {action.option_strings[0]}: the help does not say whether it is on by default")
    if action.choices:
        formatter = parser._get_formatter()
        formatter.add_argument(action)
        shown = formatter.format_help()
        listed = re.findall(r"\{([^}]*)\}", shown)
        assert listed, f"{path} {action.option_strings[-1]}: the choices are not shown"
        assert set(listed[0].split(",")) <= set(action.choices)  # deprecated values are accepted, not listed


def test_the_options_the_issue_named_explain_themselves():
    helps = {f"{p} {a.option_strings[-1]}": a.help for p, _, a in OPTIONS}
    assert "cosine" in helps["rnnkit train lm --schedule"] and "constant" in helps["rnnkit train lm --schedule"]
    assert "fraction" in helps["rnnkit train sentiment --warmup"]
    assert "CUDA only" in helps["rnnkit train sentiment --no-amp"]
    assert "auto" in helps["rnnkit train video --device"] and "cpu" in helps["rnnkit train video --device"]
    assert "default: 5" in helps["rnnkit bench --repeats"]
    assert "default: test" in helps["rnnkit evaluate --split"]


def test_data_list_of_an_unknown_task_names_the_tasks(capsys):
    assert main(["data", "list", "--task", "speech"]) == 1
    err = capsys.readouterr().err
    assert "speech-digits" in err and "speech-ctc" in err and len(err.strip().splitlines()) == 1


def _fake_bench(monkeypatch):
    monkeypatch.setattr("rnnkit.bench.speed.run_suite", lambda **kwargs: {"layers": []})
    monkeypatch.setattr("rnnkit.bench.report.markdown", lambda results, machine, command: "| gru | 3.56× |\n")
    monkeypatch.setattr("rnnkit.bench.timing.machine_info", lambda: {})


def test_bench_quick_warns_that_its_ratios_mean_nothing(monkeypatch, capsys):
    _fake_bench(monkeypatch)
    assert main(["bench", "--quick"]) == 0
    captured = capsys.readouterr()
    assert "warning: --quick times tiny shapes once" in captured.err
    assert captured.out.startswith("**--quick times tiny shapes once") and "3.56×" in captured.out
    assert main(["bench"]) == 0
    captured = capsys.readouterr()
    assert "--quick" not in captured.err + captured.out


@pytest.fixture(scope="module")
def bow(reviews_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "bow"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--model", "bow", "--epochs", "1",
                 "--min-freq", "1", "--no-progress", "--out", str(out)]) == 0
    return out


def test_predict_warns_when_every_word_is_unknown(bow, capsys):
    assert main(["predict", str(bow), "qwertyuiop zxcvb", "a moving film"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 2
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: input 1: every one of its 2 tokens is unknown to the model")
    assert main(["predict", str(bow), "--json", "qwertyuiop zxcvb"]) == 0
    captured = capsys.readouterr()
    assert '"unknown_tokens": 2' in captured.out and "warning: input 1" in captured.err


class _Response:
    """What ``requests.get(url, stream=True)`` returns, serving ``payload``."""

    def __init__(self, payload: bytes) -> None:
        self.headers = {"content-length": str(len(payload))}
        self.payload = payload

    def raise_for_status(self) -> None:
        return None

    def iter_content(self, chunk_size: int) -> Iterator[bytes]:
        for start in range(0, len(self.payload), chunk_size):
            yield self.payload[start : start + chunk_size]


@pytest.mark.parametrize("size, shown", [(3 << 20, True), (2048, False)])
def test_a_download_shows_its_progress_in_bytes(monkeypatch, capsys, tmp_path, size, shown):
    payload = bytes(range(256)) * (size // 256)
    monkeypatch.setattr("requests.get", lambda url, timeout, **kwargs: _Response(payload))
    http_download("https://example.org/packages/corpus-1.0.whl", tmp_path / "corpus.whl")
    assert (tmp_path / "corpus.whl").read_bytes() == payload
    err = capsys.readouterr().err
    assert ("downloading corpus-1.0.whl" in err and "100%" in err and "3.00M/3.00M" in err) == shown, err
