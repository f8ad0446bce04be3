"""Training: the one loop (``loop``) and its parts — the plan (``plan``: epochs, budget, resume, extension), one
step (``step``: with the divergence guard), the settings (``config``, ``optim``: schedule, parameter groups), the
contract a task fulfils (``task``), the distributed context (``distributed``: DDP) — the model directory on disk
(``checkpoint``, ``schema``, ``rundir``: one run per directory) and the training log (``runlog``, ``curves``)."""

from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import train_loop
from rnnkit.train.task import Task

__all__ = ["Task", "TrainConfig", "train_loop"]
