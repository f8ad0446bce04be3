"""The shape of ``config.json`` and of ``checkpoint.pt``, checked once on load.

A model directory is read by many verbs (evaluate, predict, translate, serve, export, --resume); each of
them used to index into the JSON and fail wherever a key was missing or of the wrong type, with a
traceback. :func:`check_config` and :func:`check_training_state` run before any of that and turn every
shape error into one line that names the file and the key (``model.kwargs.vocab_size``), so a hand-edited,
truncated or foreign file says what is wrong with it.

What is checked in ``config.json``:
    format, format_version, task    the header (``format_version`` an integer this rnnkit can read)
    the task's own keys             present and of their type (``task_keys(task)``, given by the caller: the
                                    application's ``App.config_keys``; sentiment needs labels)
    model                           {"class": a registered model, "kwargs": exactly its constructor's
                                    arguments, each of the annotated type (int, float, bool, str)}
    labels                          a list of distinct strings, as many as the model's ``num_classes``
    every "…file" value             a relative path inside the model directory (no ``..``, no absolute path)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.models import MODELS
from rnnkit.models.size import SIZE_BOUNDS


class ModelDirError(ValueError):
    """A model directory that is missing, incomplete, or from another model/task/version."""


class NothingTrainedError(ModelDirError):
    """``--resume`` of a run that was stopped before its first checkpoint: there is nothing to continue."""


def nothing_trained(directory: Path) -> NothingTrainedError:
    """The error (with what to do) for ``--resume`` of a directory that holds no checkpoint and no weights."""
    return NothingTrainedError(f"{directory} was stopped before its first checkpoint, so nothing was trained "
                               f"yet; start it again with `rnnkit train TASK --out {directory}` and the same "
                               "options")

# The type of each top-level key wherever it appears.
TYPES: dict[str, type | tuple[type, ...]] = {
    "task": str, "rnnkit": str, "model": dict, "options": dict, "train": dict, "text": dict, "features": dict,
    "labels": list, "level": str, "lm": dict, "languages": list, "alphabet": (str, list),
}
_ANNOTATION_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,),
                                                  "str": (str,)}
# Counters of a training state: name -> allowed types (bool is excluded from int below).
COUNTERS: dict[str, tuple[type, ...]] = {
    "epoch": (int,), "batch": (int,), "step": (int,), "best": (int, float, type(None)), "best_epoch": (int,),
    "bad_evals": (int,), "elapsed_s": (int, float), "items": (int,), "loss_sum": (int, float),
    "loss_count": (int,), "done": (bool,), "evaluated_at": (int,),
    "planned_epochs": (int, type(None)), "diverged": (dict,), "world_size": (int,),
}
STATE_KEYS = ("model", "optimizer", "scheduler", "task", "counters")


TaskKeys = Callable[[str], Sequence[str]]  # task name -> the keys its config.json must hold besides the model


def no_task_keys(task: str) -> tuple[str, ...]:
    """The :data:`TaskKeys` of a reader that needs only the header and the model."""
    return ()


def _kind(value: Any) -> str:
    return type(value).__name__


def _is(value: Any, types: tuple[type, ...] | type) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true is not the integer 1 here
    return isinstance(value, types)


def check_config(config: Any, path: Path, directory: Path, format_version: int,
                 task_keys: TaskKeys = no_task_keys) -> None:
    """Raise :class:`ModelDirError` naming ``path`` and the key for the first shape error of ``config``;
    ``task_keys(task)``: the keys the directory's application needs (its ``App.config_keys``)."""
    def fail(key: str, problem: str) -> None:
        raise ModelDirError(f"{path}: key {key!r} {problem}; the file was edited or is from another program "
                            "(retrain, or restore it)")

    version = config.get("format_version", 0)
    if not _is(version, int):
        fail("format_version", f"must be an integer, got {_kind(version)} {version!r:.40}")
    if version > format_version:
        raise ModelDirError(f"{directory} was written by a newer rnnkit (format {version}); upgrade rnnkit to load it")
    task = config.get("task")
    if not isinstance(task, str):
        fail("task", "is missing" if task is None else f"must be a string, got {_kind(task)}")
    for key in ("model", *task_keys(task)):  # options and train: needed by --resume only (resumed_run)
        if key not in config:
            fail(key, f"is missing (a {task!r} model directory needs it)")
    for key, types in TYPES.items():
        if key in config and not _is(config[key], types):
            fail(key, f"must be {'/'.join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))}"
                      f", got {_kind(config[key])}")
    _check_model(config["model"], fail)
    if "labels" in config:
        labels = config["labels"]
        if not labels or not all(isinstance(label, str) for label in labels) or len(set(labels)) != len(labels):
            fail("labels", "must be a non-empty list of distinct strings")
        classes = config["model"].get("kwargs", {}).get("num_classes")
        if classes is not None and classes != len(labels):
            fail("labels", f"has {len(labels)} labels but the model has num_classes {classes}")
    _check_nested(config, "", directory, fail)


def _check_model(model: dict, fail) -> None:
    name = model.get("class")
    if not isinstance(name, str) or name not in MODELS:  # a list or an object is not a name (and not hashable)
        fail("model.class", f"must name a model rnnkit knows ({', '.join(MODELS)}), got {name!r:.40}")
    kwargs = model.get("kwargs", {})
    if not isinstance(kwargs, dict):
        fail("model.kwargs", f"must be an object, got {_kind(kwargs)}")
    params = {p.name: p for p in inspect.signature(MODELS[name]).parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    for key, value in kwargs.items():
        if key not in params:
            fail(f"model.kwargs.{key}", f"is not an argument of {name} (it takes {', '.join(params)})")
        problem = _wrong_type(params[key].annotation, value)
        if problem:
            fail(f"model.kwargs.{key}", problem)
        bounds = SIZE_BOUNDS.get(key)
        if bounds is not None and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
            fail(f"model.kwargs.{key}", f"is {value}, outside [{bounds[0]:,}, {bounds[1]:,}]")
    for key, param in params.items():
        if param.default is inspect.Parameter.empty and key not in kwargs:
            fail(f"model.kwargs.{key}", f"is missing ({name} needs it)")


def _wrong_type(annotation: Any, value: Any) -> str | None:
    """Why ``value`` does not fit a simple annotation (``int``, ``float | None``, …); None if it fits or
    the annotation is not a simple one."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    options = [part.strip() for part in text.split("|")]
    if not all(option in _ANNOTATION_TYPES or option == "None" for option in options):
        return None
    if value is None and "None" in options:
        return None
    allowed = tuple(t for option in options for t in _ANNOTATION_TYPES.get(option, ()))
    if _is(value, allowed):
        return None
    return f"must be {text}, got {_kind(value)} {value!r:.40}"


def check_settings(cls: type, values: dict[str, Any], key: str, path: Path | str) -> None:
    """The saved ``options``/``train`` of a config against their dataclass: every known field of the
    annotated type (unknown names are left to the dataclass: an error for options, ignored for train)."""
    for field in dataclasses.fields(cls):
        if field.name in values:
            problem = _wrong_type(field.type, values[field.name])
            if problem:
                raise ModelDirError(f"{path}: key '{key}.{field.name}' {problem}; the file was edited or is from "
                                    "another program (retrain, or restore it)")


def _check_nested(value: Any, key: str, directory: Path, fail) -> None:
    """Every string under a key ending in ``file`` is a relative path that stays inside ``directory``;
    every ``normalizer`` has a Unicode form Python knows and boolean switches."""
    if isinstance(value, dict):
        for k, v in value.items():
            name = f"{key}.{k}" if key else str(k)
            if k == "normalizer":
                _check_normalizer(v, name, fail)
            elif str(k).endswith("file") and v is not None:
                if not isinstance(v, str) or not v:
                    fail(name, f"must be a file name, got {_kind(v)}")
                base = Path(directory).resolve()
                target = (base / v).resolve()
                if Path(v).is_absolute() or not target.is_relative_to(base):
                    fail(name, f"names {v!r:.60}, outside the model directory (only files inside it are read)")
            else:
                _check_nested(v, name, directory, fail)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_nested(v, f"{key}[{i}]", directory, fail)


def _check_normalizer(value: Any, key: str, fail) -> None:
    if not isinstance(value, dict):
        fail(key, f"must be an object, got {_kind(value)}")
    unknown = sorted(set(value) - {"form", "lowercase", "collapse_whitespace"})
    if unknown:
        fail(f"{key}.{unknown[0]}", "is not a normalizer setting (form, lowercase, collapse_whitespace)")
    if value.get("form") not in (None, "NFC", "NFKC", "NFD", "NFKD"):
        fail(f"{key}.form", f"must be NFC, NFKC, NFD, NFKD or null, got {value.get('form')!r:.40}")
    for switch in ("lowercase", "collapse_whitespace"):
        if switch in value and not isinstance(value[switch], bool):
            fail(f"{key}.{switch}", f"must be true or false, got {_kind(value[switch])}")


def check_training_state(state: Any, path: Path) -> None:
    """Raise :class:`ModelDirError` naming ``path`` and the key for the first shape error of a loaded
    ``checkpoint.pt`` (model tensors, optimizer/scheduler/task dicts, integer counters)."""
    def fail(key: str, problem: str) -> None:
        raise ModelDirError(f"{path}: key {key!r} {problem}; it is corrupt or not an rnnkit training state "
                            "(delete it and start a new run, or restore it)")

    if not isinstance(state, dict):
        raise ModelDirError(f"{path} holds a {_kind(state)}, not an rnnkit training state")
    for key in STATE_KEYS:
        if not isinstance(state.get(key), dict):
            fail(key, "is missing" if key not in state else f"must be a dict, got {_kind(state[key])}")
    for name, tensor in state["model"].items():
        if not isinstance(tensor, torch.Tensor):
            fail(f"model.{name}", f"must be a tensor, got {_kind(tensor)}")
    counters = state["counters"]
    for name, types in COUNTERS.items():
        if name in counters and not _is(counters[name], types):
            fail(f"counters.{name}", f"must be {'/'.join(t.__name__ for t in types)}, got "
                                     f"{_kind(counters[name])} {counters[name]!r:.40}")
    for name in ("epoch", "batch", "step", "bad_evals", "items", "loss_count"):
        if counters.get(name, 0) < 0:
            fail(f"counters.{name}", f"must be >= 0, got {counters[name]}")
    if "train_config" in state and not isinstance(state["train_config"], dict):
        fail("train_config", f"must be a dict, got {_kind(state['train_config'])}")
