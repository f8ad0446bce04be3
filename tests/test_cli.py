"""The rnnkit command: entry points and the demo."""

from __future__ import annotations

import subprocess
import sys

from rnnkit.cli import main


def test_python_dash_m_shows_help():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "--help"], capture_output=True, text=True, check=True)
    assert "usage: rnnkit" in result.stdout


def test_demo_runs_and_reports(capsys):
    assert main(["demo", "--steps", "20", "--length", "10", "--hidden", "8", "--cell", "gru-reset-before"]) == 0
    out = capsys.readouterr().out
    assert "always answering 1 gives MSE 0.167" in out
    assert "held-out MSE" in out
