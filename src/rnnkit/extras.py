"""The optional parts of rnnkit, the packages each needs, and the one-line error that names the extra to
install when one is missing.

``pip install rnnkit`` (what ``make train`` installs) trains and predicts text: sentiment, language models,
translation, activity and video. The rest is an extra (``pip install 'rnnkit[speech,plot]'``):

=============  ============================================  ==================================================
extra          packages (import names in :data:`EXTRAS`)     needed by
=============  ============================================  ==================================================
``speech``     librosa, soundfile, jiwer                     speech-ctc (audio features, WAV, CER/WER),
                                                             ``rnnkit transcribe``, the ``examples`` experiment
``plot``       matplotlib                                    ``rnnkit plot``, ``--plot``, experiments, bench
``log``        tensorboard                                   ``--log tensorboard`` (``auto`` uses it if there)
``export``     onnx, onnxruntime                             ``rnnkit export``, :func:`rnnkit.nn.export_onnx`
``serve``      fastapi, uvicorn, python-multipart,           ``rnnkit serve``
               fastapi-offline (/docs without a CDN)
``dataframe``  pandas                                        DataFrames in :func:`rnnkit.fit` / ``open_data``
                                                             (rnnkit itself never imports pandas)
=============  ============================================  ==================================================

Code that needs one of these packages imports it through :func:`optional_import` (or checks a whole extra
up front with :func:`require`, before a long run), never with a bare ``import``, so that ``import rnnkit``
and every text command work without them. The names of the extras are pyproject.toml's.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

EXTRAS: dict[str, tuple[str, ...]] = {
    "speech": ("librosa", "soundfile", "jiwer"),
    "plot": ("matplotlib",),
    "log": ("tensorboard",),
    "export": ("onnx", "onnxruntime"),
    "serve": ("fastapi", "uvicorn", "multipart", "fastapi_offline"),
    "dataframe": ("pandas",),
}
"""Each extra of pyproject.toml → the top-level modules its packages provide."""

EXTRA_OF = {module: extra for extra, modules in EXTRAS.items() for module in modules}
"""Top-level module → the extra that installs it."""


class MissingExtraError(ImportError):
    """An optional package is not installed; the message (one line) names the extra that installs it."""


def _message(module: str, purpose: str, alternative: str | None, cause: str | None = None) -> str:
    extra = EXTRA_OF[module]
    problem = "is not installed" if cause is None else f"cannot be imported ({cause})"
    tail = f" (or {alternative})" if alternative else ""
    return f"{purpose} needs {module}, which {problem}: pip install 'rnnkit[{extra}]'{tail}"


def installed(module: str) -> bool:
    """True when the top-level ``module`` can be found (without importing it)."""
    return importlib.util.find_spec(module) is not None


def require(extra: str, purpose: str, *, alternative: str | None = None) -> None:
    """Check, without importing them, that every package of ``extra`` is there (before a long run needs them).

    Raises:
        MissingExtraError: one is missing; e.g. ``speech recognition needs jiwer, which is not installed:
            pip install 'rnnkit[speech]'`` (``alternative`` is added in parentheses when given).
    """
    for module in EXTRAS[extra]:
        if not installed(module):
            raise MissingExtraError(_message(module, purpose, alternative), name=module)


def optional_import(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (``"librosa"``, ``"matplotlib.figure"``) of an extra, for ``purpose``.

    Raises:
        MissingExtraError: it is not installed (or is broken); the message names the extra to install.
    """
    top = module.split(".")[0]
    if top not in EXTRA_OF:
        raise ValueError(f"{top} is not the package of an extra; extras: {', '.join(sorted(EXTRA_OF))}")
    try:
        return importlib.import_module(module)
    except ImportError as err:
        cause = None if err.name in (top, module) else str(err)  # a dependency of it missing: say which
        raise MissingExtraError(_message(top, purpose, None, cause), name=top) from None


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed), from the ``plot`` extra."""
    matplotlib = optional_import("matplotlib", "drawing plots")
    matplotlib.use("Agg")
    return optional_import("matplotlib.pyplot", "drawing plots")
