"""rnnkit: recurrent neural networks exactly as the equations define them.

``rnnkit.load(DIR)`` returns the predictor of whatever application a trained model directory holds
(``.predict``, ``.generate``/``.next_tokens``, ``.translate`` or ``.transcribe``); it imports torch only
when called, so ``import rnnkit`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def load(path: str | Path, device: str = "cpu") -> Any:
    """The predictor for the model directory ``path`` (dispatch on its ``config.json`` task).

    Raises:
        rnnkit.train.checkpoint.ModelDirError: ``path`` is not a model directory of this rnnkit.
    """
    from rnnkit.tasks.run import load as load_directory

    return load_directory(path, device)


__all__ = ["__version__", "load"]
