"""The bounds of every size that reaches an allocation, and the check of a model's memory before it is built.

A size that is only checked when PyTorch allocates it fails late and loudly: ``--hidden-size 1000000000``
asks the allocator for terabytes and dies with a C++ traceback; ``num_layers: 100000`` in a config.json
builds for half a minute before anything is compared. Here each size has a stated range, read by the
command-line flags (:data:`rnnkit.ranges.SHARED_RANGES`), the options dataclasses and the ``config.json``
checks (``rnnkit.train.schema``), and :func:`check_memory` compares a model's parameter bytes — counted on PyTorch's
``meta`` device, where no memory is allocated — with the memory the machine has free, before a tensor is
made.

The ranges themselves are declared in :mod:`rnnkit.ranges` (:data:`rnnkit.ranges.SIZE_BOUNDS`), beside
every other option's range.
"""

from __future__ import annotations

import os
import resource
from typing import Any

import torch

from rnnkit.ranges import SIZE_BOUNDS as SIZE_BOUNDS  # declared with every other range


class TooLargeError(ValueError):
    """A size outside its stated range, or a model larger than the memory the machine has free."""


def parameter_bytes(model: torch.nn.Module) -> int:
    """Bytes of ``model``'s parameters and buffers (works on a model built on the ``meta`` device)."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def free_memory() -> int | None:
    """Bytes this process may still allocate: the smaller of the machine's available memory
    (``MemAvailable``) and what is left under an address-space limit (``ulimit -v``); None if unknown."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm", encoding="ascii") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            used = 0
        limits.append(max(0, soft - used))
    return min(limits) if limits else None


def check_memory(model: torch.nn.Module, copies: int, what: str, advice: str) -> None:
    """Refuse (:class:`TooLargeError`) a model whose parameters, ``copies`` times over (2 to load: the file's
    tensors and the model's; 4 to train: weights, gradients and Adam's two moments), exceed the free memory.
    ``model`` is best built on the ``meta`` device, so that nothing was allocated to find its size."""
    needed = parameter_bytes(model) * copies
    free = free_memory()
    if free is not None and needed > free:
        count = sum(p.numel() for p in model.parameters())
        raise TooLargeError(f"the model has {count:,} parameters: {what} needs about {needed / 2**30:,.1f} GiB, "
                            f"more than the {free / 2**30:,.1f} GiB free on this machine; {advice}")


def meta_model(build: Any, *args: Any) -> torch.nn.Module:
    """``build(*args)`` on the ``meta`` device: every shape, no memory."""
    with torch.device("meta"):
        return build(*args)
