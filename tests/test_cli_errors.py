"""A bad command line ends in one line that says what to do (issue 24): the nearest valid subcommand, task,
choice or flag ("did you mean"), and `see rnnkit CMD --help` instead of argparse's 26 lines of usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.mark.parametrize(("argv", "command", "says"), [
    (["trian", "sentiment"], "rnnkit", "invalid choice: 'trian' (did you mean 'train'?)"),
    (["train", "sentimnet"], "rnnkit train", "invalid choice: 'sentimnet' (did you mean 'sentiment'?)"),
    (["train", "sentiment", "--cell", "lstn"], "rnnkit train sentiment",
     "invalid choice: 'lstn' (did you mean 'lstm'?)"),
    (["experiment", "clozee", "--out", "x"], "rnnkit experiment", "(did you mean 'cloze'?)"),
    (["train", "sentiment", "--hiden-size", "8"], "rnnkit train sentiment",
     "unrecognized arguments: --hiden-size 8 (did you mean --hidden-size?)"),
    (["train", "lm", "--epohcs=2"], "rnnkit train lm", "unrecognized arguments: --epohcs=2 (did you mean --epochs?)"),
    (["evaluate", "x", "--splitt", "val", "--jsn"], "rnnkit evaluate",
     "(did you mean --split for --splitt?) (did you mean --json for --jsn?)"),
])
def test_a_misspelling_gets_the_nearest_valid_spelling_in_one_line(argv, command, says, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert says in lines[0]
    assert lines[0].startswith(f"{command}: error: ")
    assert lines[0].endswith(f"; see {command} --help")
    assert "usage:" not in captured.err and captured.out == ""


def test_nothing_close_suggests_nothing(capsys):
    with pytest.raises(SystemExit):
        main(["train", "sentiment", "--zzzz"])
    err = capsys.readouterr().err
    assert "did you mean" not in err
    assert err == "rnnkit train sentiment: error: unrecognized arguments: --zzzz; see rnnkit train sentiment --help\n"


def test_a_missing_argument_is_one_line_too(capsys):
    with pytest.raises(SystemExit):
        main(["train"])
    assert capsys.readouterr().err == ("rnnkit train: error: the following arguments are required: TASK; "
                                       "see rnnkit train --help\n")


def test_the_installed_command_says_it_the_same_way():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "trian"], capture_output=True, text=True,
                            env={"PYTHONPATH": SRC, "PATH": ""})
    assert result.returncode == 2
    assert result.stderr.startswith("rnnkit: error: argument COMMAND: invalid choice: 'trian' (did you mean 'train'?)")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
