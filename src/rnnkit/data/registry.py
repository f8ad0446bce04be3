"""Dataset registry: names → :class:`DatasetSpec` (where the data comes from, how to load it).

Built-in datasets register themselves when their module is imported; the registry imports those
modules on first use, so ``rnnkit.data.registry`` has no import-time dependency on them. Later tasks
add a module to ``BUILTIN_MODULES`` (translation, language modelling, …).

    >>> list_datasets(task="sentiment")
    ['pang-lee', 'rt-polarity', 'vader-movies', 'vader-tweets']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data.cache import Downloader, Member, PinnedPackage, fetch_member

BUILTIN_MODULES: tuple[str, ...] = (
    "rnnkit.data.sentiment",
    "rnnkit.data.signals",
    "rnnkit.data.har",
    "rnnkit.data.translation_corpora",
    "rnnkit.data.corpora",
    "rnnkit.data.review_corpus",
    "rnnkit.data.speech",
)

_REGISTRY: dict[str, DatasetSpec] = {}
_builtins_loaded = False


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about a dataset before loading it.

    Attributes:
        name: registry name (``rt-polarity``).
        task: ``"sentiment"``, ``"translation"``, ``"lm"``, …
        description: one or two sentences.
        package: the pinned source package.
        files: role → member of ``package`` the loader reads (e.g. ``{"corpus": Member(...)}``).
        license: licence / terms-of-use note.
        sizes: real counts (examples per split or per label), measured on the pinned files.
        loader: ``loader(**kwargs)`` returns the dataset (accepts ``root=`` and ``downloader=``).
        overlaps: names of datasets sharing text with this one (exclude from pretraining / testing).
        homepage: where the data originally comes from.
    """

    name: str
    task: str
    description: str
    package: PinnedPackage
    files: Mapping[str, Member]
    license: str
    sizes: Mapping[str, int]
    loader: Callable[..., Any]
    overlaps: tuple[str, ...] = ()
    homepage: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec``; a name that is already registered raises ``ValueError``."""
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(_REGISTRY))}") from None


def list_datasets(task: str | None = None) -> list[str]:
    """Registered names (sorted), optionally only those of one ``task``."""
    _ensure_builtins()
    return sorted(name for name, spec in _REGISTRY.items() if task is None or spec.task == task)


def overlapping(name: str) -> list[str]:
    """Datasets that share text with ``name`` (either side declared it): keep them apart."""
    spec = get_spec(name)
    found = set(spec.overlaps) | {other.name for other in _REGISTRY.values() if name in other.overlaps}
    return sorted(found)


def dataset_info(name: str) -> dict[str, Any]:
    """A JSON-serialisable description of ``name`` (everything but the loader)."""
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
    """Load ``name`` with its loader (``seed=``, ``root=``, ``downloader=`` and loader-specific options)."""
    return get_spec(name).loader(**kwargs)
