"""The first-use C++ build's lock (issue 26): a build killed mid-way leaves torch's ``lock`` file, which made
every later build wait forever; rnnkit's own flock tells a dead owner from a live one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rnnkit.nn.kernels.cpp import BUILD_LOCK, TORCH_BATON, build_lock

SRC = Path(__file__).resolve().parents[1] / "src"

# A build that holds both locks (rnnkit's flock and torch's lock file), then waits to be killed.
_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rnnkit.nn.kernels.cpp import TORCH_BATON, build_lock
    folder = Path(sys.argv[1])
    with build_lock(folder):
        (folder / TORCH_BATON).write_text("")  # what torch's FileBaton does while it compiles
        print("holding", flush=True)
        time.sleep(600)
""")


def _holder(folder: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(SRC)})
    assert child.stdout.readline().strip() == "holding"
    return child


def test_a_killed_builds_lock_is_removed_with_a_notice(tmp_path, capsys):
    child = _holder(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert (tmp_path / TORCH_BATON).exists()  # the dead build's lock file is still there
    start = time.monotonic()
    with build_lock(tmp_path):
        assert not (tmp_path / TORCH_BATON).exists()
    assert time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "removed a stale build lock left by a killed build" in err, err


def test_a_live_build_is_waited_for_and_its_lock_kept(tmp_path):
    from filelock import FileLock, Timeout

    child = _holder(tmp_path)
    try:
        with pytest.raises(Timeout):
            with FileLock(str(tmp_path / BUILD_LOCK), timeout=1):
                pass
        assert (tmp_path / TORCH_BATON).exists()  # the live build's lock is not touched
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()


def test_no_notice_without_a_stale_lock(tmp_path, capsys):
    with build_lock(tmp_path):
        pass
    assert capsys.readouterr().err == ""
