"""The Python API refuses what it cannot use in one line that says what to give (issue 25, one validation
source): the same ranges as the CLI and the HTTP schema, read from the option fields."""

from __future__ import annotations

from pathlib import Path

import pytest

import rnnkit
from rnnkit.ranges import bounds, check_value
from rnnkit.tasks.translate import MAX_BEAM, TranslateOptions

FORMAT1 = Path(__file__).parent / "fixtures" / "format1"


@pytest.fixture(scope="module")
def translator():
    return rnnkit.load(FORMAT1 / "translate")


@pytest.fixture(scope="module")
def lm():
    return rnnkit.load(FORMAT1 / "lm-word")


@pytest.mark.parametrize("beam, kind, says", [(2.5, TypeError, "beam must be a whole number, got 2.5"),
                                              (0, ValueError, f"beam must be in \\[1, {MAX_BEAM}\\], got 0"),
                                              (MAX_BEAM + 1, ValueError, "beam must be in"),
                                              ("5", TypeError, "beam must be a whole number")])
def test_translate_refuses_a_bad_beam_in_one_line(translator, beam, kind, says):
    with pytest.raises(kind, match=says):
        translator.translate("bonjour", beam=beam)


def test_translate_takes_one_sentence_or_a_list(translator):
    one = translator.translate("Merci !", beam=1)
    assert isinstance(one, dict) and one["text"] == "Merci !" and one["attention"] is None
    assert translator.translate(["Merci !"], beam=1) == [one]
    with pytest.raises(TypeError, match="give a sentence"):
        translator.translate(None)


def test_language_model_inputs_are_checked(lm):
    with pytest.raises(TypeError, match=r"give a prompt \(str\) or a list of them, got NoneType"):
        lm.next_tokens(None)
    with pytest.raises(TypeError, match="k must be a whole number"):
        lm.next_tokens("the", k=2.0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        lm.next_tokens("the", k=0)
    with pytest.raises(TypeError, match="length must be a whole number"):
        lm.generate("the", length="10")
    assert isinstance(lm.generate("the", 3, seed=1), str)
    assert len(lm.generate(["the", "a"], 3, seed=1)) == 2


def test_one_bound_for_the_beam_on_every_surface():
    from rnnkit.cli import main  # noqa: F401 - the CLI's flags are built from the same field
    from rnnkit.serve.schemas import MAX_BEAM as HTTP_MAX_BEAM
    from rnnkit.serve.schemas import TranslateRequest

    assert bounds(TranslateOptions, "beam") == {"ge": 1, "le": MAX_BEAM} and HTTP_MAX_BEAM == MAX_BEAM
    beam = TranslateRequest.model_json_schema()["properties"]["beam"]
    assert (beam["minimum"], beam["maximum"]) == (1, MAX_BEAM)
    assert check_value(TranslateOptions, "beam", MAX_BEAM) == MAX_BEAM
    with pytest.raises(ValueError, match="beam must be in"):
        TranslateOptions(beam=MAX_BEAM + 1)  # rnnkit.fit-style and config-file construction checks it too


def test_the_cli_flag_reads_the_same_bound(capsys):
    from rnnkit.cli import main

    with pytest.raises(SystemExit):
        main(["translate", str(FORMAT1 / "translate"), "--beam", str(MAX_BEAM + 1), "bonjour"])
    assert f"must be in [1, {MAX_BEAM}]" in capsys.readouterr().err


def test_next_tokens_of_several_prompts_are_each_prompts_own(lm):
    """A list of prompts is one padded batch; each prompt's answer is the one it gets alone."""
    prompts = ["the", "it is a", "", "the end of the story"]
    together = lm.next_tokens(prompts, k=4)
    assert len(together) == len(prompts)
    for prompt, ranked in zip(prompts, together, strict=True):
        alone = lm.next_tokens(prompt, k=4)
        assert [r["token"] for r in ranked] == [r["token"] for r in alone]
        assert [r["prob"] for r in ranked] == pytest.approx([r["prob"] for r in alone], abs=1e-6)
