"""Training: the one loop (``loop``), the model directory on disk (``checkpoint``) and DDP (``distributed``)."""

from rnnkit.train.loop import TrainConfig, fit

__all__ = ["TrainConfig", "fit"]
