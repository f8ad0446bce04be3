"""`rnnkit train --config FILE`, `--from DIR`, `--print-config` and `--resume DIR --epochs N` (issue 16 item 2)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.cli import main
from rnnkit.train.checkpoint import load_training_state, read_config

TINY = ["--cell", "gru", "--embed-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--no-progress",
        "--checkpoint-every-s", "0"]


def _settings(capsys, *argv: str) -> dict:
    assert main(["train", *argv, "--print-config", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def finished(reviews_csv, tmp_path_factory):
    """A finished 2-epoch tiny GRU run (asked for --amp, on whatever device runs the tests)."""
    out = tmp_path_factory.mktemp("runs") / "two"
    assert main(["train", "sentiment", "--data", str(reviews_csv), *TINY, "--epochs", "2", "--amp",
                 "--out", str(out)]) == 0
    return out


def test_yaml_config_is_read_and_flags_override_it(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("task: sentiment\ncell: gru\nhidden-size: 24\ntrain:\n  epochs: 4\n  lr: 2e-3\n  patience: 0\n")
    settings = _settings(capsys, "--config", str(path), "--epochs", "7")  # TASK comes from the file
    assert settings["task"] == "sentiment"
    assert settings["options"]["cell"] == "gru" and settings["options"]["hidden_size"] == 24
    assert settings["train"]["epochs"] == 7  # the flag wins over the file
    assert settings["train"]["lr"] == 0.002 and settings["train"]["patience"] == 0  # YAML 1.1 reads 2e-3 as text


def test_printed_config_reads_back_as_the_same_settings(tmp_path, capsys):
    assert main(["train", "translate", "--cell", "lstm", "--beam", "3", "--warmup", "0.1", "--print-config"]) == 0
    yaml_text = capsys.readouterr().out
    path = tmp_path / "printed.yaml"
    path.write_text(yaml_text)
    assert main(["train", "--config", str(path), "--print-config"]) == 0
    assert capsys.readouterr().out == yaml_text
    as_json = tmp_path / "printed.json"
    as_json.write_text(json.dumps(_settings(capsys, "--config", str(path))))
    assert _settings(capsys, "--config", str(as_json))["options"]["beam"] == 3


@pytest.mark.parametrize("text, message", [
    ("hiden_size: 3\n", "unknown setting hiden_size; valid settings: "),
    ("train:\n  epoch: 3\n", "unknown setting train.epoch; valid settings: "),
    ("epochs: 2.5\n", "epochs must be a whole number, got 2.5"),
    ("lr: fast\n", "lr must be a float, got 'fast'"),
    ("cell: transformer\n", "cell must be one of "),
    ("bidirectional: 1\n", "bidirectional must be a bool (true or false), got 1"),
    ("- epochs\n- 3\n", "must hold a mapping of settings"),
    ("task: lm\n", "is for task 'lm', not 'sentiment'"),
    ("epochs: [3\n", "not valid YAML"),
])
def test_a_bad_config_file_is_a_one_line_error(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["train", "sentiment", "--config", str(path), "--print-config"]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


def test_unknown_settings_error_names_the_valid_ones(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"hiden_size": 3}')
    assert main(["train", "lm", "--config", str(path)]) == 1
    valid = capsys.readouterr().err.split("valid settings: ")[1].strip().split(", ")
    assert {"hidden_size", "bptt", "epochs", "lr", "task", "out"} <= set(valid)
    (tmp_path / "run.toml").write_text("epochs = 3")
    assert main(["train", "lm", "--config", str(tmp_path / "run.toml")]) == 1
    assert "give a .yaml, .yml or .json file" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="autocast is used on CUDA")
def test_amp_is_not_saved_for_a_run_without_cuda(finished):
    assert read_config(finished)["train"]["amp"] is False


def test_from_repeats_a_run_into_a_new_directory(finished, tmp_path, capsys):
    settings = _settings(capsys, "--from", str(finished), "--lr", "0.01")
    saved = read_config(finished)
    assert settings["task"] == "sentiment" and settings["options"] == saved["options"]
    assert settings["train"] == {**saved["train"], "lr": 0.01}

    again = tmp_path / "again"
    assert main(["train", "--from", str(finished), "--out", str(again)]) == 0
    repeated = read_config(again)
    assert repeated["options"] == saved["options"] and repeated["train"] == saved["train"]
    first, second = load_file(str(finished / "model.safetensors")), load_file(str(again / "model.safetensors"))
    for name in first:
        assert torch.equal(first[name], second[name]), name
    capsys.readouterr()
    assert main(["train", "lm", "--from", str(finished), "--print-config"]) == 1
    assert "holds a 'sentiment' run; repeat it with `rnnkit train sentiment --from" in capsys.readouterr().err


def test_resume_with_more_epochs_extends_a_finished_run(finished, tmp_path, capsys):
    extended = tmp_path / "extended"
    shutil.copytree(finished, extended)
    before = (finished / "history.jsonl").read_text().splitlines()
    steps = json.loads((finished / "metrics.json").read_text())["steps"]

    assert main(["train", "--resume", str(extended), "--epochs", "3"]) == 0
    assert "extending" in capsys.readouterr().out
    after = (extended / "history.jsonl").read_text().splitlines()
    assert after[:2] == before  # the epochs already trained are untouched
    third = json.loads(after[2])
    assert third["epoch"] == 3 and third["step"] == steps * 3 // 2
    assert third["extended"] == {"from_epochs": 2, "to_epochs": 3, "at_step": steps, "schedule_steps": steps * 3 // 2}
    assert read_config(extended)["train"]["epochs"] == 3
    counters = load_training_state(extended)["counters"]
    assert counters["done"] and counters["epoch"] == 3 and "extended" not in counters
    assert json.loads((extended / "metrics.json").read_text())["steps"] == steps * 3 // 2


def test_resume_refuses_fewer_epochs_and_settings_files(finished, tmp_path, capsys):
    assert main(["train", "sentiment", "--resume", str(finished), "--epochs", "1"]) == 1
    assert "--resume --epochs can only extend a run (give 2 or more)" in capsys.readouterr().err
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 5\n")
    assert main(["train", "sentiment", "--resume", str(finished), "--config", str(path)]) == 1
    assert "drop --config and --from" in capsys.readouterr().err
    shown = _settings(capsys, "--resume", str(finished), "--epochs", "4")
    assert shown["train"]["epochs"] == 4 and shown["out"] == str(finished)


def test_a_config_file_without_a_task_needs_one_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("cell: gru\n")
    with pytest.raises(SystemExit) as stop:
        main(["train", "--config", str(path)])
    assert stop.value.code == 1
    assert "names no task: give one (rnnkit train TASK --config" in capsys.readouterr().err
    assert _settings(capsys, "lm", "--config", str(path))["options"]["cell"] == "gru"
