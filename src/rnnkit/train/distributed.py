"""Multi-process training on ``torch.distributed`` (DDP), as launched by ``torchrun``.

``torchrun --nproc_per_node=2 -m rnnkit train …`` sets RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR; on CPU the
processes talk over gloo, on CUDA over NCCL, one GPU per process. Rank 0 alone writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any rank (so all ranks stop together)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def minimum(self, value: int) -> int:
        """The smallest ``value`` over all ranks, on every rank (so all ranks agree on a plan)."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return int(t.item())

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain single process (readable before the group is joined)."""
    return int(os.environ.get("RANK", "0")) == 0


def init_distributed(device: str) -> DistContext:
    """Join the process group if launched by torchrun (WORLD_SIZE > 1); otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return DistContext(rank, world, local_rank)
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    # Two CPU-bound processes each with all cores' threads oversubscribe the machine (10× slower, measured).
    if not device.startswith("cuda"):
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    return DistContext(rank, world, local_rank)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
