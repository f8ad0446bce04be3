"""Work that is abandoned stops: a request past its timeout (or whose client went away) frees its model at the
next step instead of computing to the end.

A model's worker thread runs one job at a time (``batching.ModelWorker``). While it runs, the job's
``abandoned`` events are the *current* ones here; a forward pre-hook on every direct submodule of the served
networks looks at them before each call, so the check lands between steps without the tasks or decoders
knowing about it:

    beam search, step t:   model.step(y, state) ─> embedding(y)   <- hook: all current jobs abandoned? raise
                                                ─> decoder cell   <- hook
                                                ─> attention, out <- hook
    predict, chunk k:      model(tokens, lengths) ─> embedding    <- hook

``Abandoned`` derives from ``BaseException`` (as ``asyncio.CancelledError`` does), so no ``except Exception``
on the way up swallows it; the worker catches it, drops the job's tensors with the stack and takes the next
job. A batched group stops only when every request in it is abandoned.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import torch


class Abandoned(BaseException):  # noqa: N818 - named like asyncio.CancelledError's role, not an error
    """The request this work belongs to was given up; raised between steps by :class:`Cancellation`."""


class Cancellation:
    """The abandon flags of the job a worker is running, checked by hooks on the model's submodules."""

    def __init__(self) -> None:
        self._current: tuple[threading.Event, ...] = ()
        self._handles: list[Any] = []

    @contextlib.contextmanager
    def running(self, flags: Sequence[threading.Event]) -> Iterator[None]:
        """While the body runs, the hooks stop it once every one of ``flags`` is set."""
        self._current = tuple(flags)
        try:
            yield
        finally:
            self._current = ()

    def check(self) -> None:
        """Raise :class:`Abandoned` if the running job's requests have all been given up."""
        flags = self._current
        if flags and all(flag.is_set() for flag in flags):
            raise Abandoned

    def watch(self, networks: Sequence[torch.nn.Module]) -> None:
        """Check before every call of each network's direct submodules (embedding, recurrent layer, output, …)."""
        for network in networks:
            for child in network.children():
                self._handles.append(child.register_forward_pre_hook(self._hook))

    def unwatch(self) -> None:
        """Remove the hooks (the server is shutting down)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, module: torch.nn.Module, args: Any) -> None:
        self.check()


def networks_of(predictor: Any) -> list[torch.nn.Module]:
    """The networks a predictor runs: its ``model``, or each ensemble member's."""
    members = getattr(predictor, "members", None) or [predictor]
    found = []
    for member in members:
        model = getattr(member, "model", None)
        if isinstance(model, torch.nn.Module):
            found.append(model)
    return found
