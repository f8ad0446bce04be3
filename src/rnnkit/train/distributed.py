"""Multi-process training on ``torch.distributed`` (DDP), as launched by ``torchrun``.

``torchrun --nproc_per_node=2 -m rnnkit train …`` sets RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR; on CPU the
processes talk over gloo, on CUDA over NCCL, one GPU per process. Rank 0 alone writes files. Across
machines, one ``torchrun --nnodes N --rdzv-backend c10d --rdzv-endpoint HOST:PORT --rdzv-id JOB`` per
machine (``docs/distributed.md``).

When a worker dies, ``torchrun --max-restarts K`` stops the others and starts the whole group again; the
context records that (``restart``, ``run_id``) so the lifecycle resumes the run from its last checkpoint
(:func:`rnnkit.train.rundir.elastic_restart`) instead of starting a new one.

A run makes one :class:`DistContext` (:func:`distributed`) and passes it down: the lifecycle
(:mod:`rnnkit.tasks.run`) to the run directory's lock, the application's data preparation and the loop. The
context that joined the process group leaves it when the run ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
import torch.distributed as dist

from rnnkit.train.config import resolve_device


@dataclass(frozen=True)
class DistContext:
    """This process's place in a run: its rank among ``world_size`` processes and the device it trains on.

    ``owns_group``: this context joined the process group, so :meth:`close` leaves it. ``restart``: how
    often torchrun restarted the worker group after a failure (``TORCHELASTIC_RESTART_COUNT``; 0 on the
    first attempt and outside torchrun), the same on every rank; ``run_id``: torchrun's ``--rdzv-id``
    (``TORCHELASTIC_RUN_ID``; None outside torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False
    restart: int = 0
    run_id: str | None = None

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

    def maximum(self, value: int) -> int:
        """The largest ``value`` over all ranks, on every rank."""
        return int(self._all_reduce(value, torch.int64, dist.ReduceOp.MAX))

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


def launch_rank() -> int:
    """This process's rank as torchrun set it (0 for a plain single process), readable before the group is
    joined."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain single process (readable before the group is joined)."""
    return launch_rank() == 0


def init_distributed(device: str = "auto") -> DistContext:
    """Join the process group if launched by torchrun (WORLD_SIZE > 1), else a single process; ``device``
    (``--device``) is resolved, and under torchrun on CUDA each process takes the GPU of its local rank.

    torchrun counts restarts per machine (an agent whose worker failed counts one; an agent restarted
    because another machine's did may not), so the ranks agree on the largest count."""
    where = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if world <= 1:
        return DistContext(device=where, restart=restart, run_id=run_id)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if where.type == "cuda":
        where = torch.device("cuda", local_rank)
    owns_group = not dist.is_initialized()  # else joined by an enclosing run (a resume that starts anew)
    if owns_group:
        _join(where, local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", world)))
    ctx = DistContext(rank, world, local_rank, where, owns_group=owns_group, run_id=run_id)
    return replace(ctx, restart=ctx.maximum(restart))


def _join(where: torch.device, local_rank: int, local_world: int) -> None:
    """Join the process group: NCCL on CUDA (this process's GPU), gloo on CPU, where each of the
    ``local_world`` processes on this machine takes its share of the machine's cores."""
    backend = "nccl" if where.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    # Two CPU-bound processes each with all cores' threads oversubscribe the machine (10× slower, measured);
    # the cores are this machine's, shared by its processes (LOCAL_WORLD_SIZE), not by every machine's.
    if where.type != "cuda":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))


def restart_note() -> str | None:
    """What to change when torchrun's restarts may fail: with ``--max-restarts`` and the rendezvous store
    torchrun shares with its workers (torch's default), a restarted group can read the addresses of the
    attempt before it from that store and fail to connect (pytorch/pytorch#135712, #167288)."""
    shared = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    if not shared or int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")) == 0:
        return None
    return ("note: torchrun --max-restarts shares its rendezvous store with the workers, so a restarted group may "
            "read the previous attempt's addresses and fail to connect; export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 "
            "before torchrun on every machine (docs/distributed.md)")


@contextlib.contextmanager
def distributed(device: str = "auto", log: Callable[[str], None] | None = None) -> Iterator[DistContext]:
    """The run's one :class:`DistContext` (:func:`init_distributed`), left when the block ends; ``log``
    (rank 0's) gets :func:`restart_note` when it applies."""
    ctx = init_distributed(device)
    note = restart_note()
    if log is not None and ctx.is_main and note is not None:
        log(note)
    try:
        yield ctx
    finally:
        ctx.close()


__all__ = ["DistContext", "distributed", "init_distributed", "is_main_process", "launch_rank", "restart_note"]
