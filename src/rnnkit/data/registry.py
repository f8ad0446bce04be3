"""The dataset registry: names → :class:`DatasetSpec` rows, and the one generic loader.

The built-in rows are the table :data:`rnnkit.data.catalog.DATA`, registered on first use; a row's
reader module is imported only when that dataset is loaded, so ``rnnkit data list`` imports no parser.
Loading a row = fetch each of its ``files`` (verified, cached) and call its ``reader`` with their paths
in the row's order, the row's fixed ``options`` and the caller's (``seed=``, ``fractions=``, …)::

    >>> list_datasets(task="sentiment")
    ['pang-lee', 'rt-polarity', 'vader-movies', 'vader-tweets']
    >>> load("rt-polarity", seed=5).sizes()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data.catalog import DATA
from rnnkit.data.fetching import Downloader, fetch_member
from rnnkit.data.spec import DatasetSpec

_REGISTRY: dict[str, DatasetSpec] = {}
_builtins_loaded = False


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec``; a name that is already registered raises ``ValueError``."""
    _ensure_builtins()
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for spec in DATA:
            if spec.name in _REGISTRY:
                raise ValueError(f"dataset {spec.name!r} appears twice in the catalogue")
            _REGISTRY[spec.name] = spec


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(_REGISTRY))}") from None


def list_tasks() -> list[str]:
    """The tasks that have at least one dataset, sorted."""
    _ensure_builtins()
    return sorted({spec.task for spec in _REGISTRY.values()})


# ``rnnkit train translate`` trains on the datasets whose task is "translation": either name lists them.
TRAINING_TASK_DATA = {"translate": "translation"}


def list_datasets(task: str | None = None) -> list[str]:
    """Registered names (sorted), optionally only those of one ``task`` — a dataset task or the ``rnnkit
    train`` task that reads it (``translate``) — an unknown task is an error."""
    _ensure_builtins()
    task = TRAINING_TASK_DATA.get(task, task) if task is not None else None
    if task is not None and task not in list_tasks():
        raise ValueError(f"no dataset has task {task!r}; valid tasks: {', '.join(list_tasks())}")
    return sorted(name for name, spec in _REGISTRY.items() if task is None or spec.task == task)


def overlapping(name: str) -> list[str]:
    """Datasets that share text with ``name`` (either side declared it): keep them apart."""
    spec = get_spec(name)
    found = set(spec.overlaps) | {other.name for other in _REGISTRY.values() if name in other.overlaps}
    return sorted(found)


def dataset_info(name: str) -> dict[str, Any]:
    """A JSON-serialisable description of ``name`` (everything but the reader)."""
    spec = get_spec(name)
    pkg = spec.package
    return {
        "name": spec.name,
        "task": spec.task,
        "description": spec.description,
        "source": {
            "registry": pkg.registry,
            "package": pkg.name,
            "version": pkg.version,
            "filename": pkg.filename,
            "sha256": pkg.sha256,
            "size": pkg.size,
            "url": pkg.url,
        },
        "files": {role: {"path": list(m.path), "sha256": m.sha256} for role, m in spec.files.items()},
        "license": spec.license,
        "sizes": dict(spec.sizes),
        "overlaps": overlapping(name),
        "homepage": spec.homepage,
        **({"extra": dict(spec.extra)} if spec.extra else {}),
    }


def fetch(name: str, *, root: Path | None = None, downloader: Downloader | None = None) -> Path:
    """Download (if needed) and extract the files of ``name``; returns the folder that holds them."""
    spec = get_spec(name)
    paths = [fetch_member(member, root=root, downloader=downloader) for member in spec.files.values()]
    first = spec.files[next(iter(spec.files))]
    return paths[0].parents[len(first.cache_relpath.parts) - 2]


def load(name: str, **kwargs: Any) -> Any:
    """Load ``name``: ``root=``, ``downloader=`` for the cache, the rest (``seed=``, …) for its reader."""
    return get_spec(name).loader(**kwargs)
