"""Which files a model was trained on: absolute paths and sha256 of a user's data, for ``config.json``.

A model directory must say exactly what it learnt from, and ``rnnkit evaluate DIR`` must find that data
from any working folder, so a path the user typed (``--data reviews.csv``, ``--train ../x.jsonl``) is
stored absolute, with a checksum that shows later whether the file changed::

    >>> describe_sources({"train": "reviews.csv"})
    {'train': {'path': '/home/me/reviews.csv', 'sha256': '3f1c…', 'bytes': 48213}}

A folder (aclImdb, WikiText) gets one checksum over its files: sha256 of the sorted lines
``"<sha256 of the file>  <path relative to the folder>"`` (what ``sha256sum`` prints), so it can be
re-computed with ``find DIR -type f | LC_ALL=C sort | xargs sha256sum`` after making the paths relative.
A registry name (``rt-polarity``) is not a path: its pinned checksums are in the catalogue.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnnkit.files import open_regular

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex sha256 of a regular file's bytes, read in 1 MiB chunks (a FIFO or a device is refused at once)."""
    digest = hashlib.sha256()
    with open_regular(path, "data file") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> tuple[str, int]:
    """sha256 over the ``sha256sum`` lines of every file below ``folder`` (sorted by relative path), and
    the total size in bytes."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())
    lines = [f"{file_sha256(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    return hashlib.sha256("".join(lines).encode()).hexdigest(), sum(p.stat().st_size for p in files)


def describe_source(path: str | Path) -> dict[str, Any]:
    """``{"path": absolute path, "sha256": …, "bytes": …}`` of a file or folder (``"kind": "folder"`` added)."""
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        digest, size = folder_sha256(path)
        return {"path": str(path), "sha256": digest, "bytes": size, "kind": "folder"}
    if not path.is_file():
        raise ValueError(f"{path}: no such file or folder")
    return {"path": str(path), "sha256": file_sha256(path), "bytes": path.stat().st_size}


def describe_sources(paths: Mapping[str, str | Path | None]) -> dict[str, dict[str, Any]]:
    """:func:`describe_source` of every role that names an existing path (``train``, ``val``, ``test``,
    ``data``, ``src``, ``tgt``); ``None`` and registry names are left out."""
    out: dict[str, dict[str, Any]] = {}
    for role, path in paths.items():
        if isinstance(path, (str, Path)) and str(path) and Path(path).expanduser().exists():
            out[role] = describe_source(path)
    return out


def absolute_source(source: str | Path | None) -> str | None:
    """``source`` as an absolute path when it names an existing file or folder, else unchanged (a registry
    name, ``None``): what to store in ``config.json`` so the run can be evaluated from any folder."""
    if source is None:
        return None
    path = Path(source).expanduser()
    return str(path.resolve()) if str(source) and path.exists() else str(source)


def check_sources(recorded: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per recorded source whose file is missing or whose sha256 differs now (empty: all match)."""
    problems: list[str] = []
    for role, entry in recorded.items():
        path = Path(entry["path"])
        if not path.exists():
            problems.append(f"{role}: {path} no longer exists")
            continue
        now = describe_source(path)["sha256"]
        if now != entry.get("sha256"):
            was = str(entry.get("sha256"))[:12]
            problems.append(f"{role}: {path} changed since training (sha256 {now[:12]}… was {was}…)")
    return problems


SOURCE_FIELDS = ("data", "train", "val", "test", "src", "tgt")
"""The options fields (of any application) that may name a user's data file or folder."""


def absolute_options(opts: Any) -> Any:
    """A copy of an options dataclass whose :data:`SOURCE_FIELDS` that name existing paths are absolute."""
    changes = {name: absolute_source(getattr(opts, name)) for name in SOURCE_FIELDS
               if isinstance(getattr(opts, name, None), (str, Path))}
    changes = {name: value for name, value in changes.items() if value != getattr(opts, name)}
    return dataclasses.replace(opts, **changes) if changes else opts


def option_sources(opts: Any) -> dict[str, dict[str, Any]]:
    """:func:`describe_sources` of an options dataclass's :data:`SOURCE_FIELDS` (for ``config["sources"]``)."""
    return describe_sources({name: getattr(opts, name, None) for name in SOURCE_FIELDS})
