"""The model directory: what a trained model is on disk, written atomically, loaded without pickle.

    DIR/config.json        everything needed to rebuild the model and its tokenizer (+ the run's config)
    DIR/model.safetensors  the best weights (safetensors: no code runs on load)
    DIR/tokenizer.json     text models: the tokenizer, a Hugging Face ``tokenizers`` file whose ids are the
                           model's (a translator: src/tokenizer.json, tgt/tokenizer.json); format 1 directories
                           hold rnnkit-vocab.json (or vocab.json) and, for BPE, a tokenizer.json with its own ids
    DIR/metrics.json       test metrics, data split, seed, time, device
    DIR/history.jsonl      one line per evaluation
    DIR/checkpoint.pt      resumable training state, loaded with ``torch.load(weights_only=True)``

Every file is written to a temporary name in the same directory and moved into place with
``os.replace`` (:func:`rnnkit.files.atomic_write`), so a kill at any moment leaves either the old file or
the new one, never half of one; files get the umask's mode (0644 by default).

Integrity: ``model.safetensors`` records, in its own header, the sha256 of its tensors and of every
vocabulary/tokenizer file (``*.json`` other than config.json and metrics.json, in the directory or its
sub-folders) as they were when the weights were saved: one file, so a kill cannot leave the record and
the weights out of step. :func:`load_weights` checks them (a mismatch names the file; ``verify=False``
for deliberate edits) and refuses non-finite weights. Directories written before the record still load.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rnnkit.files import (
    CONFIG_BYTES,
    HISTORY_BYTES,
    TOKENIZER_BYTES,
    ParseLimitError,
    UnreadableFileError,
    atomic_write,
    full_disk_is_one_line,
    loads_json,
    read_bytes,
    read_text,
)
from rnnkit.files import write_json as write_json  # re-exported: the model-directory writers use it
from rnnkit.models import build_model
from rnnkit.models.size import check_memory, meta_model
from rnnkit.train.schema import ModelDirError as ModelDirError  # re-exported: defined beside the checks
from rnnkit.train.schema import TaskKeys, check_config, check_training_state, no_task_keys, nothing_trained
from rnnkit.version import __version__

FORMAT = "rnnkit-model"
FORMAT_VERSION = 2  # 2: a text model's vocabulary lives in its tokenizer.json (1: rnnkit-vocab.json beside it)
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
HISTORY = "history.jsonl"
TRAINING_STATE = "checkpoint.pt"
UNRECORDED = (CONFIG, METRICS)  # JSON files that change after the weights are saved (or may be edited)
EXPORTED_TOKENIZER = ".tokenizer.json"  # `rnnkit export` writes STEM.tokenizer.json and FILE.onnx.json, maybe
EXPORTED = (".onnx.json", EXPORTED_TOKENIZER)  # beside the weights, later: not training files
_VERIFY: contextvars.ContextVar[bool] = contextvars.ContextVar("rnnkit_verify", default=True)


@contextlib.contextmanager
def verification(enabled: bool) -> Iterator[None]:
    """Within the block, :func:`load_weights` checks the integrity record only if ``enabled`` (how the
    ``--no-verify`` flag reaches every loader, like ``torch.no_grad`` reaches every operation)."""
    token = _VERIFY.set(enabled)
    try:
        yield
    finally:
        _VERIFY.reset(token)


def append_jsonl(path: Path, record: dict) -> None:
    """Append one line (a torn last line from a kill is skipped by :func:`read_jsonl`)."""
    with full_disk_is_one_line(Path(path).parent), open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    """The records of a history file (at most :data:`~rnnkit.files.HISTORY_BYTES`, a regular file); lines
    that are not JSON (a torn last line) or nest absurdly deep are skipped."""
    records = []
    if Path(path).exists():
        try:
            text = read_text(path, HISTORY_BYTES, "history file")
        except UnreadableFileError as exc:
            raise ModelDirError(str(exc)) from None
        for line in text.splitlines():
            try:
                records.append(loads_json(line, str(path)))
            except (json.JSONDecodeError, ParseLimitError):
                continue
    return records


def tensors_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the tensors in name order: each name, dtype, shape and raw bytes (CPU, contiguous)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a regular file of at most :data:`~rnnkit.files.TOKENIZER_BYTES` (the files a record names)."""
    return hashlib.sha256(read_bytes(path, TOKENIZER_BYTES, "vocabulary or tokenizer file")).hexdigest()


def recorded_path(directory: Path, name: Any, source: Path) -> Path:
    """The file ``name`` of an integrity record, which must be a relative path inside ``directory`` (the
    record of ``source``): an absolute path or one that leaves the directory is a :class:`ModelDirError`, so
    a model directory cannot make rnnkit read (or tell whether it can read) any file outside it."""
    advice = "a model directory names only its own files; restore it or retrain"
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ModelDirError(f"{source}: the integrity record names {str(name)[:80]!r}, not a file name ({advice})")
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ModelDirError(f"{source}: the integrity record names {name[:200]!r}, a path outside the model "
                            f"directory ({advice})")
    path = Path(directory) / relative
    inside = Path(directory).resolve()
    if not path.resolve().is_relative_to(inside):  # a symbolic link out of the directory
        raise ModelDirError(f"{source}: {name[:200]!r} leads outside the model directory ({advice})")
    return path


def recorded_files(directory: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the vocabulary/tokenizer files of a model directory: every ``*.json``
    in it or its sub-folders but config.json, metrics.json, an export's ``*.onnx.json`` and ``*.tokenizer.json``
    and hidden files."""
    directory = Path(directory)
    files = {}
    for path in sorted(directory.rglob("*.json")):
        name = path.relative_to(directory).as_posix()
        hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
        if name in UNRECORDED or name.endswith(EXPORTED) or hidden:
            continue
        files[name] = file_sha256(path)
    return files


def save_weights(model: torch.nn.Module, directory: Path) -> None:
    """The model's state as safetensors (tensors made contiguous and unshared), with the integrity record
    (sha256 of the tensors and of the vocabulary files) in its header."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "sha256": tensors_sha256(state),
                "files_sha256": json.dumps(recorded_files(directory), sort_keys=True)}
    atomic_write(Path(directory) / WEIGHTS, lambda tmp: save_file(state, str(tmp), metadata=metadata))


def check_state_dict(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path) -> None:
    """Raise a one-line :class:`ModelDirError` unless ``state`` has exactly the names and shapes of ``own``."""
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


def _verify(directory: Path, path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Compare the integrity record of ``model.safetensors`` with the tensors and files on disk."""
    advice = "restore it or retrain; if you changed it on purpose, pass --no-verify"
    if "sha256" in metadata and tensors_sha256(state) != metadata["sha256"]:
        raise ModelDirError(f"{path} does not match the sha256 recorded when it was saved: the weights were "
                            f"changed since ({advice})")
    try:
        files = json.loads(metadata.get("files_sha256", "{}"))
    except json.JSONDecodeError:
        raise ModelDirError(f"{path}: the integrity record in its header is not valid JSON ({advice})") from None
    if not isinstance(files, dict):
        raise ModelDirError(f"{path}: the integrity record in its header is not a mapping ({advice})")
    for name, expected in sorted(files.items()):
        file = recorded_path(directory, name, path)
        if not file.exists():
            raise ModelDirError(f"{file} is missing; the model was saved with it ({advice})")
        try:
            digest = file_sha256(file)
        except UnreadableFileError as exc:
            raise ModelDirError(str(exc)) from None
        if digest != expected:
            raise ModelDirError(f"{file} does not match the sha256 recorded when the model was saved: it was "
                                f"changed since ({advice})")


def header_shapes(directory: Path) -> dict[str, torch.Tensor]:
    """The tensors ``model.safetensors`` holds, as empty ``meta`` tensors of their shapes: read from the file's
    header alone (no tensor data is read); a file that is not safetensors is a :class:`ModelDirError`."""
    path = Path(directory) / WEIGHTS
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: torch.empty(f.get_slice(name).get_shape(), device="meta") for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelDirError(f"{path} is not a readable safetensors file ({str(exc)[:120]}); retrain or restore "
                            "it") from None


def build_checked(spec: dict[str, Any], directory: Path) -> torch.nn.Module:
    """The model ``spec`` (config.json's ``model``) describes, built only after its shapes were compared with
    the weights' (``model.safetensors``'s header) and its size with the free memory, both on PyTorch's
    ``meta`` device: a config.json that says ``hidden_size: 20000`` over 32-wide weights, or a model larger
    than the machine, is one line at once instead of minutes of allocation."""
    model = meta_model(build_model, spec)
    if (Path(directory) / WEIGHTS).exists():
        check_state_dict(model.state_dict(), header_shapes(directory), Path(directory) / WEIGHTS)
    check_memory(model, 2, "loading it", f"{directory}/{CONFIG} is not of this machine's size (a smaller "
                 "model, or a machine with more memory)")
    return build_model(spec)


def load_weights(model: torch.nn.Module, directory: Path, *, verify: bool | None = None) -> None:
    """Load ``model.safetensors`` into ``model``; any mismatch is a one-line :class:`ModelDirError`.

    ``verify``: check the integrity record (weights and vocabulary files unchanged since saving); None:
    as :func:`verification` says (default: check). Weights that are not finite (NaN, ±inf) are refused
    either way."""
    if verify is None:
        verify = _VERIFY.get()
    path = Path(directory) / WEIGHTS
    if not path.exists():
        raise ModelDirError(f"{directory} has no {WEIGHTS}: training did not finish an evaluation yet "
                            f"(resume it with --resume {directory})")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelDirError(f"{path} is not a readable safetensors file ({exc}); retrain or restore it") from None
    check_state_dict(model.state_dict(), state, path)
    if verify:
        _verify(Path(directory), path, state, metadata)
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelDirError(f"{path}: tensor {name!r} holds NaN or infinite values; the weights are "
                                "corrupt (restore them or retrain)")
    model.load_state_dict(state)


def read_config(directory: Path, task: str | None = None, *, task_keys: TaskKeys = no_task_keys) -> dict:
    """config.json of a model directory, checked for format, version, shape (:func:`check_config`; with
    ``task_keys``, the keys of its application) and (optionally) ``task``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"no model directory at {directory}; train one first, e.g. `rnnkit train sentiment "
                            f"--out {directory}`")
    path = directory / CONFIG
    try:
        config = loads_json(read_text(path, CONFIG_BYTES, "model config"), str(path))
    except FileNotFoundError:
        raise ModelDirError(f"{directory} is not an rnnkit model directory (no {CONFIG})") from None
    except (UnreadableFileError, ParseLimitError) as exc:
        raise ModelDirError(f"{exc}; it is corrupt or not an rnnkit config") from None
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelDirError(f"{path} is not an rnnkit model config (no \"format\": \"{FORMAT}\")")
    check_config(config, path, directory, FORMAT_VERSION, task_keys)
    if task is not None and config.get("task") != task:
        raise ModelDirError(f"{directory} holds a {config.get('task')!r} model, not a {task!r} model")
    return config


def new_config(task: str, **fields: Any) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "rnnkit": __version__, "task": task, **fields}


def save_training_state(directory: Path, state: dict) -> None:
    """``checkpoint.pt``, atomically; written through a Python file object, so that a full disk reaches
    :func:`rnnkit.files.atomic_write` as ENOSPC/EFBIG (torch's own writer reports only "unexpected pos")."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            torch.save(state, f)

    atomic_write(Path(directory) / TRAINING_STATE, write)


def load_training_state(directory: Path) -> dict:
    """The resumable state, loaded with ``weights_only=True`` (tensors and plain containers only)."""
    path = Path(directory) / TRAINING_STATE
    if not path.exists():
        if not (Path(directory) / WEIGHTS).exists():
            raise nothing_trained(directory)
        raise ModelDirError(f"{directory} has no {TRAINING_STATE} to resume from (only the trained weights); "
                            "to train further, start a new run with another --out")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelDirError(f"{path} cannot be loaded safely ({type(exc).__name__}); it is corrupt or not an "
                            "rnnkit training state") from None
    check_training_state(state, path)
    return state


def restore_training_state(directory: Path, state: dict, model: torch.nn.Module, optimizer: Any, scheduler: Any,
                           task: Any) -> dict[str, Any]:
    """Load a checked training state into the model, optimizer, scheduler and task; return its counters.
    A state of another model (names, shapes, parameter groups) is a one-line :class:`ModelDirError`."""
    path = Path(directory) / TRAINING_STATE
    check_state_dict(model.state_dict(), state["model"], path)
    model.load_state_dict(state["model"])
    for key, target in (("optimizer", optimizer), ("scheduler", scheduler), ("task", task)):
        try:
            target.load_state_dict(state[key])
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
            raise ModelDirError(f"{path}: key {key!r} does not fit this run ({type(exc).__name__}: "
                                f"{str(exc)[:120]}); it is from another model or corrupt") from None
    return dict(state["counters"])
