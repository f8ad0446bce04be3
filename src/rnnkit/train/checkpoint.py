"""The model directory: what a trained model is on disk, written atomically, loaded without pickle.

    DIR/config.json        everything needed to rebuild the model and its tokenizer (+ the run's config)
    DIR/model.safetensors  the best weights (safetensors: no code runs on load)
    DIR/vocab.json, …      tokenizer/vocabulary files named in config.json
    DIR/metrics.json       test metrics, data split, seed, time, device
    DIR/history.jsonl      one line per evaluation
    DIR/checkpoint.pt      resumable training state, loaded with ``torch.load(weights_only=True)``

Every file is written to a temporary name in the same directory and moved into place with
``os.replace`` (:func:`rnnkit.files.atomic_write`), so a kill at any moment leaves either the old file or
the new one, never half of one; files get the umask's mode (0644 by default).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from rnnkit.files import atomic_write
from rnnkit.files import write_json as write_json  # re-exported: the model-directory writers use it

FORMAT = "rnnkit-model"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
HISTORY = "history.jsonl"
TRAINING_STATE = "checkpoint.pt"


class ModelDirError(ValueError):
    """A model directory that is missing, incomplete, or from another model/task/version."""


def append_jsonl(path: Path, record: dict) -> None:
    """Append one line (a torn last line from a kill is skipped by :func:`read_jsonl`)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    records = []
    if Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def save_weights(model: torch.nn.Module, directory: Path) -> None:
    """The model's state as safetensors (tensors made contiguous and unshared)."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(Path(directory) / WEIGHTS, lambda tmp: save_file(state, str(tmp), metadata={"format": FORMAT}))


def load_weights(model: torch.nn.Module, directory: Path) -> None:
    """Load ``model.safetensors`` into ``model``; any mismatch is a one-line :class:`ModelDirError`."""
    path = Path(directory) / WEIGHTS
    if not path.exists():
        raise ModelDirError(f"{directory} has no {WEIGHTS}: training did not finish an evaluation yet "
                            f"(resume it with --resume {directory})")
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelDirError(f"{path} is not a readable safetensors file ({exc}); retrain or restore it") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(part for part in (
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
            f"shape differs for {', '.join(wrong[:3])}" if wrong else "") if part)
        raise ModelDirError(f"{path} does not fit the model described by {CONFIG} ({detail}): "
                            "the directory mixes files of different models")
    model.load_state_dict(state)


def read_config(directory: Path, task: str | None = None) -> dict:
    """config.json of a model directory, checked for format, version and (optionally) task."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"no model directory at {directory}; train one first, e.g. `rnnkit train sentiment "
                            f"--out {directory}`")
    path = directory / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelDirError(f"{directory} is not an rnnkit model directory (no {CONFIG})") from None
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelDirError(f"{path} is not an rnnkit model config (no \"format\": \"{FORMAT}\")")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ModelDirError(f"{directory} was written by a newer rnnkit (format {config['format_version']}); "
                            "upgrade rnnkit to load it")
    if task is not None and config.get("task") != task:
        raise ModelDirError(f"{directory} holds a {config.get('task')!r} model, not a {task!r} model")
    return config


def new_config(task: str, **fields: Any) -> dict:
    from rnnkit import __version__

    return {"format": FORMAT, "format_version": FORMAT_VERSION, "rnnkit": __version__, "task": task, **fields}


def save_training_state(directory: Path, state: dict) -> None:
    atomic_write(Path(directory) / TRAINING_STATE, lambda tmp: torch.save(state, tmp))


def load_training_state(directory: Path) -> dict:
    """The resumable state, loaded with ``weights_only=True`` (tensors and plain containers only)."""
    path = Path(directory) / TRAINING_STATE
    if not path.exists():
        raise ModelDirError(f"{directory} has no {TRAINING_STATE} to resume from; start a new run instead")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelDirError(f"{path} cannot be loaded safely ({type(exc).__name__}); it is corrupt or not an "
                            "rnnkit training state") from None
