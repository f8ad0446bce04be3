"""Applications: which data, model, loss and metrics each application of the lecture uses.

:data:`TASKS` (task name → :class:`~rnnkit.tasks.base.App`) is the only list of applications: the CLI,
:func:`rnnkit.load` and the lifecycle (:mod:`rnnkit.tasks.run`) dispatch on a model directory's
``config["task"]`` through it. Adding an application is one module exposing ``APPS`` and one line below.
The table is built on first use, because the application modules import the training loop, which
imports :mod:`rnnkit.tasks.base`.
"""

from __future__ import annotations

import importlib
from typing import Any

# One module per application (signals holds two: spoken digits and activity recognition).
APP_MODULES = (
    "sentiment",
    "lm",
    "translate",
    "signals",
    "video",
    "speech_ctc",
)


def _build() -> dict[str, Any]:
    table: dict[str, Any] = {}
    for module in APP_MODULES:
        for app in importlib.import_module(f"rnnkit.tasks.{module}").APPS:
            if app.name in table:
                raise ValueError(f"two applications are named {app.name!r}")
            table[app.name] = app
    return table


def __getattr__(name: str) -> Any:
    if name == "TASKS":
        globals()["TASKS"] = _build()
        return globals()["TASKS"]
    raise AttributeError(f"module 'rnnkit.tasks' has no attribute {name!r}")
