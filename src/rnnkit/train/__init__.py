"""Training: the one loop (``loop``) and its settings (``config``, ``optim``: schedule, parameter groups), the model
directory on disk (``checkpoint``, ``schema``, ``rundir``: one run per directory), the training log (``runlog``,
``curves``) and DDP (``distributed``)."""

from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import fit

__all__ = ["TrainConfig", "fit"]
