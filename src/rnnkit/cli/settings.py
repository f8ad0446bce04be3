"""Settings of ``rnnkit train`` from files: ``--config FILE`` (YAML or JSON), ``--from DIR`` (a run's
config.json) and ``--print-config``.

A settings file is a mapping. Its keys are ``task``, ``out``, and the fields of the task's options and of
:class:`rnnkit.train.TrainConfig` (``hidden_size`` or ``hidden-size``), either at the top level or under
``options:`` / ``train:`` mappings (the shape of config.json and of ``--print-config``; ``train: FILE`` at the
top level, a file name rather than a mapping, is the option of that name)::

    task: sentiment
    data: reviews.csv
    cell: gru
    epochs: 5
    lr: 0.001

Precedence, lowest first: the defaults, ``--from DIR``, ``--config FILE``, the flags on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from rnnkit.cli.args import base_type, in_range
from rnnkit.files import CONFIG_BYTES, UnreadableFileError, loads_json, loads_yaml, read_bytes
from rnnkit.files.parse import where
from rnnkit.ranges import field_range

SECTIONS = ("options", "train")
TOP_LEVEL = ("task", "out")


def read_file(path: Path | str) -> dict[str, Any]:
    """The mapping in a ``.yaml``/``.yml`` or ``.json`` settings file (a one-line ValueError otherwise)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(f"--config {path}: give a .yaml, .yml or .json file")
    try:
        raw = read_bytes(path, CONFIG_BYTES, "settings file")
    except FileNotFoundError:
        raise FileNotFoundError(f"--config {path}: no such file") from None
    except UnreadableFileError as exc:
        raise ValueError(f"--config {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        readable = raw.decode("utf-8", errors="replace")  # same offsets up to the first bad byte
        raise ValueError(f"--config {path}: {where(readable, exc.start)} is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                         "save the file as UTF-8") from None
    if suffix == ".json":
        try:
            data = loads_json(text, f"--config {path}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"--config {path}: not valid JSON ({exc})") from None
    else:
        import yaml  # imported here: only --config/--print-config need it

        try:
            data = loads_yaml(text, f"--config {path}")
        except yaml.YAMLError as exc:
            raise ValueError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: must hold a mapping of settings (key: value), got {type(data).__name__}")
    return data


def split(data: dict[str, Any], options: type, train: type, source: str) -> tuple[dict, dict, dict]:
    """``(top, options, train)``: the top-level keys (task, out), and the typed values of the fields of the
    ``options`` and ``train`` dataclasses; an unknown key is a ValueError listing the valid ones."""
    kinds = {"options": {f.name: f for f in dataclasses.fields(options)},
             "train": {f.name: f for f in dataclasses.fields(train)}}
    top: dict[str, Any] = {}
    found: dict[str, dict[str, Any]] = {"options": {}, "train": {}}
    unknown: list[str] = []
    flat = []
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name in SECTIONS and isinstance(value, dict):  # a section (``train: data.csv`` is the option train)
            flat += [(name, str(k).replace("-", "_"), v) for k, v in value.items()]
        elif name in TOP_LEVEL:
            top[name] = value
        else:
            flat.append((None, name, value))
    for section, name, value in flat:
        where = [s for s in SECTIONS if name in kinds[s] and section in (None, s)]
        if not where:
            unknown.append(f"{section}.{name}" if section else name)
            continue
        found[where[0]][name] = _typed(kinds[where[0]][name], value, source)
    if unknown:
        valid = sorted({*TOP_LEVEL, *kinds["options"], *kinds["train"]})
        raise ValueError(f"{source}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; valid "
                         f"settings: {', '.join(valid)}")
    if "task" in top and not isinstance(top["task"], str):
        raise ValueError(f"{source}: task must be a task name, got {top['task']!r:.60}")
    if "out" in top and not isinstance(top["out"], str):
        raise ValueError(f"{source}: out must be a directory path, got {top['out']!r:.60}")
    return top, found["options"], found["train"]


def _in_range(field: dataclasses.Field, kind: type, value: Any, source: str) -> Any:
    """``value`` if it lies in the field's range (the one its flag checks: ``metadata["range"]`` or
    :data:`rnnkit.ranges.SHARED_RANGES`), else a ValueError naming ``source`` and the setting."""
    bounds = field_range(field)
    if bounds is None:
        return value
    try:
        return in_range(kind, *bounds)(repr(value))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{source}: {field.name} {exc}") from None


def _typed(field: dataclasses.Field, value: Any, source: str) -> Any:
    """``value`` as the field's type (a float written ``2e-3`` is a string to YAML 1.1), or a ValueError."""
    kind = base_type(field.type)
    optional = "None" in str(field.type)
    wrong = f"{source}: {field.name} must be {'a whole number' if kind == 'int' else 'a ' + kind}"
    if value is None:
        if optional:
            return None
        raise ValueError(f"{wrong}, got null")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{wrong} (true or false), got {value!r}")
        return value
    if isinstance(value, bool):
        raise ValueError(f"{wrong}, got {value!r}")
    if kind == "int":
        if not isinstance(value, int):
            raise ValueError(f"{wrong}, got {value!r:.60}")
        return _in_range(field, int, value, source)
    if kind == "float":
        try:
            if isinstance(value, int | float | str):
                return _in_range(field, float, float(value), source)
        except (ValueError, OverflowError):
            pass
        raise ValueError(f"{wrong}, got {value!r:.60}")
    if not isinstance(value, str):
        raise ValueError(f"{wrong}, got {value!r}")
    choices = field.metadata.get("choices")
    old = field.metadata.get("deprecated", ((), ""))[0]
    if choices and value not in (*choices, *old):
        raise ValueError(f"{source}: {field.name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def from_run(directory: Path | str, task: str, options: type, train: type) -> tuple[dict, dict]:
    """The options and training settings the config.json of a ``task`` run records (``--from DIR``)."""
    from rnnkit.train.checkpoint import read_config

    config = read_config(Path(directory))
    if config.get("task") != task:
        raise ValueError(f"--from {directory} holds a {config.get('task')!r} run; repeat it with "
                         f"`rnnkit train {config.get('task')} --from {directory}`")
    data = {section: config.get(section, {}) for section in SECTIONS}
    _, opts, cfg = split(data, options, train, f"--from {directory}")
    return opts, cfg


def task_of(path: Path | str, flag: str) -> str | None:
    """The task a ``--from``/``--resume`` run directory or a ``--config`` file names (None: the file names none)."""
    if flag == "--config":
        task = read_file(path).get("task")
        return task if isinstance(task, str) else None
    from rnnkit.train.checkpoint import read_config

    return read_config(Path(path)).get("task")


def render(settings: dict[str, Any], as_json: bool) -> str:
    """``--print-config``: the settings as YAML (or JSON), in the shape ``--config`` reads back."""
    plain = json.loads(json.dumps(settings))
    if as_json:
        return json.dumps(plain, indent=2, ensure_ascii=False)
    import yaml

    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True).rstrip("\n")
