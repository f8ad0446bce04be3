"""rnnkit: recurrent neural networks exactly as the equations define them.

``rnnkit.load(DIR)`` returns the predictor of whatever application a trained model directory holds
(``.predict``, ``.trace``, ``.generate``/``.next_tokens``, ``.translate`` or ``.transcribe``);
``rnnkit.fit(texts, labels, out=DIR)`` trains a classifier on your own lists or DataFrame into one. Both
import torch only when called, so ``import rnnkit`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.version import __version__


def load(path: str | Path, device: str = "cpu") -> Any:
    """The predictor for the model directory ``path`` (dispatch on its ``config.json`` task).

    Raises:
        rnnkit.train.checkpoint.ModelDirError: ``path`` is not a model directory of this rnnkit.
    """
    from rnnkit.tasks.run import load as load_directory

    return load_directory(path, device)


def fit(texts: Any, labels: Any = None, *, out: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Train a text classifier on your own data into the model directory ``out``
    (:func:`rnnkit.tasks.fit.fit_classifier`): lists of texts and labels, or a DataFrame; any ``rnnkit train
    sentiment`` option or training setting by its Python name (``cell="gru"``, ``epochs=5``);
    ``overwrite=True`` replaces a model an earlier ``fit`` wrote into ``out``. Returns the test metrics;
    ``rnnkit.load(out)`` gives the model."""
    from rnnkit.tasks.fit import fit_classifier

    return fit_classifier(texts, labels, out=out, **kwargs)


__all__ = ["__version__", "fit", "load"]
