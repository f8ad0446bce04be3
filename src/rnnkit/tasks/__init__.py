"""Applications: which data, model, loss and metrics each application of the lecture uses.

:data:`TASKS` (task name → :class:`~rnnkit.tasks.base.App`) is the only list of applications: the CLI,
:func:`rnnkit.load` and the lifecycle (:mod:`rnnkit.tasks.run`) dispatch on a model directory's
``config["task"]`` through it. Adding an application is one module exposing ``APPS`` and one line below.
"""

from __future__ import annotations

from rnnkit.tasks import lm, sentiment, signals, speech_ctc, translate, video
from rnnkit.tasks.base import App

# One module per application (signals holds two: spoken digits and activity recognition).
APP_MODULES = (sentiment, lm, translate, signals, video, speech_ctc)


def _table() -> dict[str, App]:
    table: dict[str, App] = {}
    for module in APP_MODULES:
        for app in module.APPS:
            if app.name in table:
                raise ValueError(f"two applications are named {app.name!r}")
            table[app.name] = app
    return table


TASKS: dict[str, App] = _table()

__all__ = ["APP_MODULES", "TASKS"]
