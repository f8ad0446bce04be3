"""A model directory is checked on load: its integrity record (weights and vocabulary unchanged since
saving), finite weights, and the shape of config.json and checkpoint.pt, each error one line naming the
file and the key (issue 19, items 7 and 9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from rnnkit.cli import main
from rnnkit.models import build_model
from rnnkit.train.checkpoint import ModelDirError, load_weights, read_config

SMALL = ["--model", "bow", "--batch-size", "8", "--epochs", "1", "--no-progress", "--min-freq", "1"]


@pytest.fixture(scope="module")
def trained(reviews_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("integrity") / "bow"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 *SMALL, "--out", str(out)]) == 0
    return out


@pytest.fixture()
def model_dir(trained, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    return copy


def _predict_error(directory: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["predict", str(directory), "a fine film"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def _model(directory: Path) -> torch.nn.Module:
    return build_model(read_config(directory)["model"])


def test_an_untouched_directory_loads_and_predicts(model_dir, capsys):
    assert main(["predict", str(model_dir), "a fine film"]) == 0
    assert capsys.readouterr().out.strip()


def test_flipped_weight_bytes_are_detected(model_dir, capsys):
    path = model_dir / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # a bit of the last tensor's data (the header stays readable)
    path.write_bytes(bytes(data))
    err = _predict_error(model_dir, capsys)
    assert "model.safetensors does not match the sha256" in err and "--no-verify" in err
    load_weights(_model(model_dir), model_dir, verify=False)  # a deliberate edit can still be loaded
    assert main(["predict", str(model_dir), "--no-verify", "a fine film"]) == 0


def test_shuffled_vocabulary_is_detected(model_dir, capsys):
    name = read_config(model_dir)["text"]["tokenizer_file"]
    path = model_dir / name
    vocab = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(vocab, dict) and vocab
    path.write_text(json.dumps(vocab, indent=1), encoding="utf-8")  # same content, other bytes: not the saved file
    err = _predict_error(model_dir, capsys)
    assert f"{name} does not match the sha256" in err


def test_non_finite_weights_are_refused_even_with_a_matching_record(model_dir, capsys):
    from rnnkit.train.checkpoint import recorded_files, tensors_sha256

    path = model_dir / "model.safetensors"
    state = load_file(str(path))
    state = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, str(path), metadata={"format": "rnnkit-model", "sha256": tensors_sha256(state),
                                          "files_sha256": json.dumps(recorded_files(model_dir))})
    err = _predict_error(model_dir, capsys)
    assert "NaN or infinite" in err
    with pytest.raises(ModelDirError, match="NaN or infinite"):
        load_weights(_model(model_dir), model_dir, verify=False)


def test_a_directory_without_a_record_still_loads(model_dir, capsys):
    path = model_dir / "model.safetensors"
    save_file(load_file(str(path)), str(path), metadata={"format": "rnnkit-model"})  # as older rnnkit wrote it
    assert main(["predict", str(model_dir), "a fine film"]) == 0


def _edit(config: dict, change: str) -> None:
    kwargs = config["model"]["kwargs"]
    if change == "format_version string":
        config["format_version"] = "1"
    elif change.startswith("no "):
        del config[change[3:]]
    elif change == "vocab_size string":
        kwargs["vocab_size"] = str(kwargs["vocab_size"])
    elif change == "extra kwarg":
        kwargs["colour"] = "blue"
    elif change == "missing kwarg":
        del kwargs["vocab_size"]
    elif change == "unknown class":
        config["model"]["class"] = "Transformer"
    elif change == "labels count":
        config["labels"] = [*config["labels"], "neutral"]
    elif change == "labels not strings":
        config["labels"] = [[0], [1]]
    elif change == "bad normaliser":
        config["text"]["tokenizer"]["normalizer"]["form"] = "NFX"
    elif change == "vocab outside":
        config["text"]["tokenizer_file"] = "../../../etc/passwd"
    elif change == "vocab absolute":
        config["text"]["tokenizer_file"] = "/etc/passwd"
    elif change == "model not a dict":
        config["model"] = "bow"
    else:
        raise AssertionError(change)


@pytest.mark.parametrize(("change", "key"), [
    ("format_version string", "format_version"),
    ("no model", "model"),
    ("no labels", "labels"),
    ("no task", "task"),
    ("no text", "text"),
    ("vocab_size string", "model.kwargs.vocab_size"),
    ("extra kwarg", "model.kwargs.colour"),
    ("missing kwarg", "model.kwargs.vocab_size"),
    ("unknown class", "model.class"),
    ("labels count", "labels"),
    ("labels not strings", "labels"),
    ("bad normaliser", "text.tokenizer.normalizer.form"),
    ("vocab outside", "text.tokenizer_file"),
    ("vocab absolute", "text.tokenizer_file"),
    ("model not a dict", "model"),
])
def test_each_config_shape_error_is_one_line_naming_file_and_key(model_dir, capsys, change, key):
    path = model_dir / "config.json"
    config = json.loads(path.read_text())
    _edit(config, change)
    path.write_text(json.dumps(config))
    err = _predict_error(model_dir, capsys)
    assert f"{path}: key '{key}'" in err


def _broken_state(state: dict, change: str) -> object:
    if change == "not a dict":
        return [1, 2, 3]
    if change == "no model":
        return {k: v for k, v in state.items() if k != "model"}
    if change == "batch string":
        return {**state, "counters": {**state["counters"], "batch": "x"}}
    if change == "tensor not a tensor":
        return {**state, "model": {k: 1.0 for k in state["model"]}}
    if change == "another model":
        return {**state, "model": {"embedding.weight": torch.zeros(3, 4)}}
    if change == "optimizer of another model":
        return {**state, "optimizer": {"state": {}, "param_groups": []}}
    raise AssertionError(change)


@pytest.mark.parametrize(("change", "expected"), [
    ("not a dict", "holds a list, not an rnnkit training state"),
    ("no model", "key 'model' is missing"),
    ("batch string", "key 'counters.batch' must be int"),
    ("tensor not a tensor", "must be a tensor"),
    ("another model", "does not fit the model described by config.json"),
    ("optimizer of another model", "key 'optimizer' does not fit this run"),
])
def test_each_checkpoint_shape_error_is_one_line_naming_the_file(model_dir, capsys, change, expected):
    path = model_dir / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    state["counters"]["done"] = False  # so that --resume would continue it
    torch.save(_broken_state(state, change), path)
    capsys.readouterr()
    assert main(["train", "sentiment", "--resume", str(model_dir)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err and expected in err


@pytest.mark.parametrize(("section", "name", "value", "expected"), [
    ("options", "batch_size", "x", "key 'options.batch_size' must be int"),
    ("options", "colour", "blue", "key 'options' does not fit SentimentOptions"),
    ("train", "epochs", 2.5, "key 'train.epochs' must be int"),
    ("train", "clip_norm", -1, "key 'train' does not describe training settings (--clip-norm must be >= 0"),
])
def test_saved_settings_of_the_wrong_shape_are_one_line_on_resume(model_dir, capsys, section, name, value, expected):
    path = model_dir / "config.json"
    config = json.loads(path.read_text())
    config[section][name] = value
    path.write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["train", "sentiment", "--resume", str(model_dir)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err and expected in err


# ------------------------------------------------------------------ a closed directory of bounded files (issue 26)
@pytest.mark.parametrize("outside", ["/etc/hostname", "../outside.json", "sub/../../outside.json", "link.json"])
def test_an_integrity_record_naming_a_file_outside_the_directory_is_refused(model_dir, capsys, outside):
    """The record holds relative paths inside the directory; anything else is refused without reading (or
    hashing) the file, so a model directory cannot probe the user's files."""
    from rnnkit.train.checkpoint import recorded_files, tensors_sha256

    (model_dir.parent / "outside.json").write_text("{}")
    (model_dir / "link.json").symlink_to(model_dir.parent / "outside.json")
    path = model_dir / "model.safetensors"
    state = load_file(str(path))
    files = {**recorded_files(model_dir), outside: "0" * 64}
    save_file(state, str(path), metadata={"format": "rnnkit-model", "sha256": tensors_sha256(state),
                                          "files_sha256": json.dumps(files)})
    err = _predict_error(model_dir, capsys)
    assert "outside the model directory" in err
    assert "missing" not in err and "does not match" not in err  # no oracle on the outside file


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge"])
def test_a_config_that_is_not_a_bounded_regular_file_is_refused_at_once(model_dir, capsys, kind):
    import os
    import time

    config = model_dir / "config.json"
    config.unlink()
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "huge":
        with open(config, "wb") as f:
            f.truncate(1 << 30)  # sparse: 1 GiB that costs no disk
    else:
        config.symlink_to(kind)
    start = time.monotonic()
    err = _predict_error(model_dir, capsys)
    assert time.monotonic() - start < 5
    assert str(config) in err and ("not a regular file" in err or "more than the" in err), err


def test_a_history_that_is_a_device_is_one_line_in_plot(model_dir, capsys, tmp_path):
    history = model_dir / "history.jsonl"
    history.unlink()
    history.symlink_to("/dev/zero")
    capsys.readouterr()
    assert main(["plot", str(model_dir), "--out", str(tmp_path / "curves.png")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "a character device" in err, err


def test_a_deeply_nested_config_is_one_line(model_dir, capsys):
    (model_dir / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    err = _predict_error(model_dir, capsys)
    assert "nests deeper than" in err


@pytest.mark.parametrize("value, says", [(10**9, "outside [1, 4,000,000]"), (3_000_000, "shape differs")])
def test_config_sizes_are_checked_before_a_tensor_is_made(model_dir, capsys, value, says):
    """A size past its bound is refused by the config check; one within it but unlike the weights is refused
    by comparing shapes on the meta device with the safetensors header — both at once, without allocating."""
    import time

    config = json.loads((model_dir / "config.json").read_text())
    config["model"]["kwargs"]["vocab_size"] = value
    (model_dir / "config.json").write_text(json.dumps(config))
    start = time.monotonic()
    err = _predict_error(model_dir, capsys)
    assert time.monotonic() - start < 5
    assert says in err, err


def test_a_model_larger_than_the_free_memory_is_refused_before_it_is_built():
    from rnnkit.models import build_model, model_spec
    from rnnkit.models.classifier import RecurrentClassifier
    from rnnkit.models.size import TooLargeError, check_memory, free_memory, meta_model

    spec = model_spec(RecurrentClassifier, vocab_size=100, num_classes=2, embed_dim=16_384, hidden_size=16_384,
                      num_layers=64)  # every size within its bound; 137 billion parameters in all
    model = meta_model(build_model, spec)
    assert free_memory() is not None
    with pytest.raises(TooLargeError, match=r"the model has 137,4\d\d,\d{3},\d{3} parameters: .* GiB free"):
        check_memory(model, 2, "loading it", "retrain smaller")
