"""rnnkit.files: the one atomic writer (mode from the umask, no half-written file, no temp left behind)."""

import os
import stat

import pytest

from rnnkit.files import atomic_write, remove_stale_temps, write_json


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        os.umask(0o077)
        write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.json") == 0o644
    assert _mode(tmp_path / "b.json") == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "config.json"
    write_json(path, {"version": 1})

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == '{\n  "version": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_stale_temps_are_removed(tmp_path):
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"partial")
    (tmp_path / "checkpoint.pt").write_bytes(b"whole")
    removed = remove_stale_temps(tmp_path)
    assert [p.name for p in removed] == [".checkpoint.pt.abc123.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


# ------------------------------------------------------------------------------------- a full disk (issue 26)
_FULL_DISK_CHILD = r"""
import json, resource, sys
from pathlib import Path
import torch
from rnnkit.files import DiskFullError, write_json
from rnnkit.train.checkpoint import append_jsonl, save_training_state, save_weights

folder = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))  # ulimit -f 64: any write past 64 KiB fails
writes = {
    "checkpoint.pt": lambda: save_training_state(folder, {"model": {"w": torch.zeros(100_000)}}),
    "model.safetensors": lambda: save_weights(torch.nn.Linear(300, 300), folder),
    "metrics.json": lambda: write_json(folder / "metrics.json", {"x": "y" * 100_000}),
    "history.jsonl": lambda: append_jsonl(folder / "history.jsonl", {"x": "y" * 100_000}),
}
for name, write in writes.items():
    try:
        write()
        print(json.dumps([name, "no error", ""]))
    except DiskFullError as exc:
        print(json.dumps([name, "DiskFullError", str(exc)]))
    except BaseException as exc:
        print(json.dumps([name, type(exc).__name__, str(exc)]))
"""


def test_a_full_disk_is_one_line_naming_the_folder_and_the_old_files_stay(tmp_path):
    """ENOSPC/EFBIG from every writer of a model directory (torch.save, safetensors, JSON, an append) is one
    DiskFullError "the disk is full …: N bytes free in DIR"; the files written before are unchanged."""
    import json
    import subprocess
    import sys

    old = {"checkpoint.pt": b"old checkpoint", "model.safetensors": b"old weights", "metrics.json": b"{}\n",
           "history.jsonl": b'{"epoch": 1}\n'}
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)
    child = subprocess.run([sys.executable, "-c", _FULL_DISK_CHILD, str(tmp_path)], capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr
    results = [json.loads(line) for line in child.stdout.splitlines()]
    assert [r[0] for r in results] == list(old)
    for name, kind, message in results:
        assert kind == "DiskFullError", (name, kind, message)
        assert message.startswith("the disk is full"), message
        assert f"bytes free in {tmp_path}" in message and "\n" not in message
    for name, content in old.items():
        if name != "history.jsonl":  # an append may leave a torn last line, which read_jsonl skips
            assert (tmp_path / name).read_bytes() == content, name
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"


def test_another_error_of_a_writer_is_not_called_a_full_disk(tmp_path):
    from rnnkit.files import DiskFullError

    def broken(tmp):
        raise OSError(13, "Permission denied")

    with pytest.raises(OSError) as caught:
        atomic_write(tmp_path / "x.json", broken)
    assert not isinstance(caught.value, DiskFullError)


# ---------------------------------------------------------------------------------------- bounded reads
def test_a_fifo_a_device_a_folder_and_an_oversized_file_are_refused_at_once(tmp_path):
    import time

    from rnnkit.files import UnreadableFileError, open_regular, read_bytes, read_text

    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    zero = tmp_path / "history.jsonl"
    zero.symlink_to("/dev/zero")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    start = time.monotonic()
    for path, says in ((fifo, "a FIFO"), (zero, "a character device"), (tmp_path, "a directory"),
                       (big, "2,000 bytes, more than the 1,000")):
        with pytest.raises(UnreadableFileError, match=says):
            read_bytes(path, 1000, "config")
    for path, says in ((fifo, "a FIFO"), (zero, "a character device")):  # the block reader (data files' sha256)
        with pytest.raises(UnreadableFileError, match=says):
            open_regular(path, "data file")
    assert time.monotonic() - start < 2
    assert read_bytes(big, 2000) == b" " * 2000
    with open_regular(big) as f:
        assert f.read() == b" " * 2000
    (tmp_path / "latin1.json").write_bytes(b"caf\xe9")
    with pytest.raises(UnreadableFileError, match="not UTF-8 text"):
        read_text(tmp_path / "latin1.json", 100)


# ------------------------------------------------------------------------------ JSON and YAML with limits
def test_deep_json_and_yaml_and_an_alias_bomb_are_one_error(tmp_path):
    from rnnkit.files import ParseLimitError, loads_json, loads_yaml

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ParseLimitError, match="nests deeper than 64"):
        loads_json(deep, "deep.json")
    with pytest.raises(ParseLimitError, match="nests deeper than 64"):
        loads_yaml(deep, "deep.yaml")
    laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    with pytest.raises(ParseLimitError, match="more than 64 YAML aliases"):
        loads_yaml("\n".join(laughs), "bomb.yaml")
    brackets = "[" * 72  # inside a string: not nesting
    assert loads_json(f'{{"a": "{brackets}"}}', "s") == {"a": brackets}
    assert loads_yaml("base: &b 3\nx: *b\ny: [*b, *b]\n", "ok.yaml") == {"base": 3, "x": 3, "y": [3, 3]}


@pytest.fixture()
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs at ``tmp_path/disk`` (needs the right to mount: root outside a locked-down container)."""
    import shutil
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs ({done.stderr.decode(errors='replace')[:80]})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_checkpoint_on_a_full_filesystem_is_one_line_and_keeps_the_old_one(tiny_disk):
    import torch

    from rnnkit.files import DiskFullError
    from rnnkit.train.checkpoint import save_training_state

    save_training_state(tiny_disk, {"model": {"w": torch.zeros(1_000)}})
    old = (tiny_disk / "checkpoint.pt").read_bytes()
    with pytest.raises(DiskFullError) as caught:
        save_training_state(tiny_disk, {"model": {"w": torch.zeros(1_000_000)}})  # 4 MB on a 1 MiB disk
    message = str(caught.value)
    assert message.startswith("the disk is full: ") and f"bytes free in {tiny_disk};" in message, message
    assert (tiny_disk / "checkpoint.pt").read_bytes() == old
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["checkpoint.pt"]


def test_a_ctrl_c_during_a_write_lands_after_the_file_is_whole(tmp_path):
    """SIGINT arriving while a file is written (a checkpoint's torch.save, whose zip writer then fails with
    "unexpected pos" and hides the interrupt) is held back until the file is in place, then raised."""
    import signal

    path = tmp_path / "checkpoint.bin"

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"first half ")
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C mid-write
            f.write(b"second half")

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert path.read_bytes() == b"first half second half"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
