"""Multi-process training on ``torch.distributed`` (DDP), as launched by ``torchrun``.

``torchrun --nproc_per_node=2 -m rnnkit train …`` sets RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR; on CPU the
processes talk over gloo, on CUDA over NCCL, one GPU per process. Rank 0 alone writes files.

A run makes one :class:`DistContext` (:func:`distributed`) and passes it down: the lifecycle
(:mod:`rnnkit.tasks.run`) to the run directory's lock, the application's data preparation and the loop. The
context that joined the process group leaves it when the run ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from rnnkit.train.config import resolve_device


@dataclass(frozen=True)
class DistContext:
    """This process's place in a run: its rank among ``world_size`` processes and the device it trains on.

    ``owns_group``: this context joined the process group, so :meth:`close` leaves it."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any rank (so all ranks stop together)."""
        return self._all_reduce(int(flag), torch.int64, dist.ReduceOp.MAX) > 0

    def mean(self, value: float) -> float:
        """The mean of ``value`` over all ranks, on every rank (NaN or ±inf on any rank makes it so)."""
        return self._all_reduce(value, torch.float64, dist.ReduceOp.SUM) / self.world_size

    def minimum(self, value: int) -> int:
        """The smallest ``value`` over all ranks, on every rank (so all ranks agree on a plan)."""
        return int(self._all_reduce(value, torch.int64, dist.ReduceOp.MIN))

    def _all_reduce(self, value: float, dtype: torch.dtype, op: dist.ReduceOp) -> float:
        """``op`` over every rank's ``value``; the tensor lives on this rank's device, as NCCL (CUDA tensors
        only) and gloo (here, CPU) each need."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=dtype, device=self.device)
        dist.all_reduce(t, op=op)
        return t.item()

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group if this context joined it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain single process (readable before the group is joined)."""
    return int(os.environ.get("RANK", "0")) == 0


def init_distributed(device: str = "auto") -> DistContext:
    """Join the process group if launched by torchrun (WORLD_SIZE > 1), else a single process; ``device``
    (``--device``) is resolved, and under torchrun on CUDA each process takes the GPU of its local rank."""
    where = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=where)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if where.type == "cuda":
        where = torch.device("cuda", local_rank)
    if dist.is_initialized():  # joined by an enclosing run (a resume that starts its run anew)
        return DistContext(rank, world, local_rank, where)
    backend = "nccl" if where.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    # Two CPU-bound processes each with all cores' threads oversubscribe the machine (10× slower, measured);
    # the cores are this machine's, shared by its processes (LOCAL_WORLD_SIZE), not by every machine's.
    if where.type != "cuda":
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return DistContext(rank, world, local_rank, where, owns_group=True)


@contextlib.contextmanager
def distributed(device: str = "auto") -> Iterator[DistContext]:
    """The run's one :class:`DistContext` (:func:`init_distributed`), left when the block ends."""
    ctx = init_distributed(device)
    try:
        yield ctx
    finally:
        ctx.close()


__all__ = ["DistContext", "distributed", "init_distributed", "is_main_process"]
