"""Sequence classifiers on signals and synthetic video: model, features, task, CLI train → evaluate → predict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.data import read_fsdd
from rnnkit.data.video import VIDEO_CLASSES, make_clips, render_clip
from rnnkit.features.motion import GravitySplit, SensorAugment, lowpass, sensor_triplets
from rnnkit.features.standardize import Standardizer
from rnnkit.models import SequenceClassifier, VideoClassifier
from rnnkit.tasks.signals import SignalPredictor, load_signal_data

SIGNALS = Path(__file__).parent / "fixtures" / "signals"
TINY = ["--hidden-size", "8", "--layers", "1", "--frontend-size", "8", "--epochs", "2", "--no-progress"]

FRONTENDS = [dict(frontend="none"), dict(frontend="dense", frontend_size=6),
             dict(frontend="conv", frontend_size=6, conv_stride=2, conv_kernel=3)]


# ------------------------------------------------------------------------------------------ model
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize(("cell", "bidirectional", "pooling"), [("gru", False, "last"), ("lstm", True, "mean"),
                                                                 ("rnn", True, "max")])
def test_model_shapes_with_variable_lengths(frontend, cell, bidirectional, pooling) -> None:
    model = SequenceClassifier(3, 4, cell=cell, hidden_size=5, num_layers=2, bidirectional=bidirectional,
                               pooling=pooling, **frontend)
    logits = model(torch.randn(3, 11, 3), torch.tensor([11, 1, 6]))
    assert logits.shape == (3, 4) and torch.isfinite(logits).all()
    with pytest.raises(ValueError, match=r"expected features of shape \(B, T, 3\)"):
        model(torch.randn(2, 5, 4), torch.tensor([5, 5]))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_padding_does_not_change_the_prediction(frontend) -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(3, 4, cell="lstm", hidden_size=5, bidirectional=True, pooling="mean", **frontend).eval()
    short, long = torch.randn(5, 3), torch.randn(12, 3)
    alone = model(short[None], torch.tensor([5]))
    batch = torch.randn(2, 12, 3) * 100  # garbage, not zeros, in the padding
    batch[0, :5], batch[1] = short, long
    np.testing.assert_allclose(model(batch, torch.tensor([5, 12]))[0].detach(), alone[0].detach(), atol=1e-5)


@pytest.mark.parametrize("differences", [False, True])
def test_video_model_shapes_and_errors(differences) -> None:
    model = VideoClassifier(5, frame_size=16, hidden_size=6, frame_features=8, conv_channels=4,
                            frame_differences=differences).eval()
    clips = torch.rand(2, 7, 1, 16, 16)
    logits = model(clips, torch.tensor([7, 3]))
    assert logits.shape == (2, 5)
    np.testing.assert_allclose(model(clips[1:, :3], torch.tensor([3]))[0].detach(), logits[1].detach(), atol=1e-5)
    with pytest.raises(ValueError, match=r"expected clips of shape \(B, T, 1, 16, 16\)"):
        model(torch.rand(2, 7, 16, 16), torch.tensor([7, 3]))
    with pytest.raises(ValueError, match="multiple of 4"):
        VideoClassifier(5, frame_size=18)


# --------------------------------------------------------------------------------------- features
def test_gravity_split_separates_slow_from_fast() -> None:
    t = np.arange(256) / 50.0
    tilt = 1.0 + 0.2 * t / t[-1]  # a slow drift (gravity as the phone turns)
    x = np.stack([tilt + 0.3 * np.sin(2 * np.pi * 3 * t), np.zeros_like(t), -tilt, np.sin(t)], axis=1)
    split = GravitySplit.for_channels(["acc-x", "acc-y", "acc-z", "gyro-x"], 50)
    y = split.apply(x)
    assert split.channel_names(["acc-x", "acc-y", "acc-z", "gyro-x"]) == [
        "body-acc-x", "body-acc-y", "body-acc-z", "gyro-x", "gravity-acc-x", "gravity-acc-y", "gravity-acc-z"]
    assert y.shape == (256, 7) and y.dtype == np.float32
    np.testing.assert_allclose(y[32:-32, 4], tilt[32:-32], atol=0.02)  # gravity: the drift, not the 3 Hz motion
    np.testing.assert_allclose(y[32:-32, 0], 0.3 * np.sin(2 * np.pi * 3 * t)[32:-32], atol=0.02)
    np.testing.assert_allclose(y[:, 0] + y[:, 4], x[:, 0], atol=1e-5)  # body + gravity = signal
    np.testing.assert_allclose(y[:, 3], x[:, 3], atol=1e-6)  # the gyroscope is untouched
    np.testing.assert_allclose(lowpass(np.full((40, 1), 2.5), 0.3, 50), 2.5)  # no ringing at the edges
    assert GravitySplit.from_dict(split.to_dict()) == split
    np.testing.assert_allclose(split.apply(np.stack([x, x]))[1], y)  # a batch of equal-length sequences
    with pytest.raises(ValueError, match="accelerometer channels named acc"):
        GravitySplit.for_channels(["mfcc-0"], 100)


def test_sensor_augment_rotates_each_sensor_rigidly_and_keeps_padding() -> None:
    names = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z", "mic"]
    assert sensor_triplets(names) == [(0, 1, 2), (3, 4, 5)]
    mean, std = torch.linspace(-1, 1, 7), torch.linspace(0.5, 2, 7)
    augment = SensorAugment(((0, 1, 2), (3, 4, 5)), mean, std, max_degrees=30, scale=0.0)
    x = torch.randn(4, 9, 7)
    x[1, 5:] = 0
    lengths = torch.tensor([9, 5, 9, 9])
    y = augment(x, lengths, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(y, augment(x, lengths, torch.Generator().manual_seed(3)))
    assert not torch.allclose(y, x) and (y[1, 5:] == 0).all()
    raw_x, raw_y = x * std + mean, y * std + mean
    for tri in ([0, 1, 2], [3, 4, 5]):  # a rotation keeps every vector's length ...
        np.testing.assert_allclose(raw_y[:, :, tri].norm(dim=2)[0], raw_x[:, :, tri].norm(dim=2)[0], rtol=1e-4)
    np.testing.assert_allclose(y[..., 6], x[..., 6] * (lengths[:, None] > torch.arange(9)), atol=1e-6)  # ... mic
    angle = torch.rad2deg(torch.acos(torch.nn.functional.cosine_similarity(raw_x[0, :, :3], raw_y[0, :, :3], dim=1)))
    assert angle.max() <= 30.01


def test_augmented_epochs_are_a_function_of_seed_and_epoch() -> None:
    from rnnkit.tasks.classify import ClassificationTask

    train = [(torch.randn(int(n), 3), k % 2) for k, n in enumerate(torch.randint(2, 9, (10,)))]
    augment = SensorAugment(((0, 1, 2),), torch.zeros(3), torch.ones(3), max_degrees=30, scale=0.1)

    def epoch(e: int, seed: int = 1) -> list[torch.Tensor]:
        task = ClassificationTask({"train": train}, ["a", "b"], batch_size=4, seed=seed, augment=augment)
        return [b.inputs for b in task.train_batches(e)]

    assert all(torch.equal(x, y) for x, y in zip(epoch(2), epoch(2), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(epoch(2), epoch(2, seed=5), strict=True))
    assert sum(int(b.shape[0]) for b in epoch(3)) == 10


# ------------------------------------------------------------------------------------------- video
def _centres(clips: np.ndarray) -> np.ndarray:
    """Brightness-weighted centre (x, y) of every frame of clips (N, T, 1, S, S), background removed."""
    w = np.clip(clips[:, :, 0] - np.median(clips[:, :, 0], axis=(2, 3), keepdims=True) - 0.2, 0, None)
    grid = np.arange(clips.shape[-1]) + 0.5
    total = w.sum(axis=(2, 3))
    return np.stack([(w.sum(2) * grid).sum(2) / total, (w.sum(3) * grid).sum(2) / total], axis=-1)


def test_video_generator_is_deterministic_and_classes_differ_in_motion() -> None:
    a, ya = make_clips(20, seed=5, frames=12)
    b, yb = make_clips(20, seed=5, frames=12)
    c, _ = make_clips(20, seed=6, frames=12)
    assert a.shape == (20, 12, 1, 32, 32) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)
    assert sorted(np.bincount(ya).tolist()) == [4] * len(VIDEO_CLASSES)

    rng = np.random.default_rng(0)
    motion = {}
    for action in VIDEO_CLASSES:
        clips = np.stack([render_clip(action, rng, frames=16) for _ in range(12)])[:, :, None]
        centre = _centres(clips)  # (N, T, 2)
        silhouette = clips[:, :, 0] - np.median(clips[:, :, 0], axis=(2, 3), keepdims=True) > 0.2
        change = ((silhouette[:, 1:] ^ silhouette[:, :-1]).sum((2, 3)) / silhouette[:, :-1].sum((2, 3))).mean()
        motion[action] = (np.abs(centre[:, -1, 0] - centre[:, 0, 0]).mean(), np.ptp(centre[:, :, 1], axis=1).mean(),
                          np.ptp(centre[:, :, 0], axis=1).mean(), change)
    assert motion["running"][0] > 15  # crosses the frame
    assert motion["jumping"][1] > 2 * motion["standing"][1] + 2  # bounces vertically
    assert motion["waving"][2] > 2 * motion["waving"][0] and motion["waving"][2] > 5  # goes back and forth
    assert motion["spinning"][3] > 2 * motion["standing"][3]  # the silhouette changes in place
    assert max(motion["standing"][:3]) < 2 and max(motion["spinning"][:3]) < 2


# ------------------------------------------------------------------------------------ CLI, signals
@pytest.fixture(scope="module")
def basicmotions(tmp_path_factory) -> Path:
    """The BasicMotions excerpt (Standing, Running, Walking) as a TRAIN/TEST pair: 2 train, 1 val, 3 test."""
    root = tmp_path_factory.mktemp("bm")
    for part in ("TRAIN", "TEST"):
        shutil.copy(SIGNALS / "BasicMotions_TRAIN_excerpt.ts", root / f"BasicMotions_{part}.ts")
    return root / "BasicMotions_TRAIN.ts"


@pytest.fixture(scope="module")
def activity_model(basicmotions, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "activity"
    assert main(["train", "activity", "--data", str(basicmotions), "--gravity", "--frontend", "conv", *TINY,
                 "--out", str(out)]) == 0
    return out


def test_activity_model_directory_saves_the_input_pipeline(activity_model) -> None:
    for name in ("config.json", "model.safetensors", "metrics.json", "history.jsonl", "checkpoint.pt"):
        assert (activity_model / name).exists(), name
    config = json.loads((activity_model / "config.json").read_text())
    assert config["task"] == "activity" and config["labels"] == ["Standing", "Running", "Walking", "Badminton"]
    assert config["features"]["gravity"]["rate_hz"] == 10
    assert config["features"]["standardizer"]["channels"][-1] == "gravity-acc-z"
    metrics = json.loads((activity_model / "metrics.json").read_text())
    assert metrics["split"]["method"] == "official_test_stratified_val" and metrics["test"]["n"] == 3


def test_predict_applies_the_saved_standardizer(activity_model, basicmotions) -> None:
    predictor = SignalPredictor(activity_model)
    data = load_signal_data(str(basicmotions))
    split = GravitySplit.for_channels(data.channels, 10)
    expected = Standardizer.fit(split.apply_all([ex.features for ex in data.train]))
    np.testing.assert_allclose(predictor.features.standardizer.mean, expected.mean)
    x = data.test[1].features
    by_hand = torch.softmax(predictor.model(torch.from_numpy(expected.apply(split.apply(x)))[None],
                                            torch.tensor([len(x)])), 1)[0]
    got = predictor.predict([x])[0]
    np.testing.assert_allclose(list(got["probs"].values()), by_hand.detach().numpy(), rtol=1e-5)
    assert predictor.predict(x) == got  # one sequence in, one result out
    with pytest.raises(TypeError, match="give a file path, an array or a list"):
        predictor.predict(None)


def test_one_file_is_one_input(activity_model, basicmotions, tmp_path) -> None:
    """A path is one input: one result for a file of one sequence, a list for a file of several."""
    predictor = SignalPredictor(activity_model)
    x = load_signal_data(str(basicmotions)).test[0].features
    np.save(tmp_path / "w.npy", x)
    one = predictor.predict(str(tmp_path / "w.npy"))
    assert isinstance(one, dict) and one["input"] == str(tmp_path / "w.npy")
    assert predictor.predict(tmp_path / "w.npy")["probs"] == one["probs"]
    several = predictor.predict(str(basicmotions))
    assert isinstance(several, list) and len(several) > 1


def test_predict_files_npy_csv_ts_and_channel_errors(activity_model, basicmotions, tmp_path, capsys) -> None:
    x = load_signal_data(str(basicmotions)).test[0].features
    np.save(tmp_path / "w.npy", x)
    np.savetxt(tmp_path / "w.csv", x, delimiter=",", header="ax,ay,az,gx,gy,gz", comments="")
    assert main(["predict", str(activity_model), str(tmp_path / "w.npy"), str(tmp_path / "w.csv"),
                 str(basicmotions)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and lines[0].split("\t")[0] in ("Standing", "Running", "Walking", "Badminton")
    assert lines[0].split("\t")[:2] == lines[1].split("\t")[:2]  # the same window as .npy and .csv
    assert lines[2].endswith("BasicMotions_TRAIN.ts[0]")
    assert main(["predict", str(activity_model), str(tmp_path / "w.npy"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 100 and abs(sum(result["probs"].values()) - 1) < 1e-5

    np.save(tmp_path / "five.npy", x[:, :5])
    assert main(["predict", str(activity_model), str(tmp_path / "five.npy")]) == 1
    assert "the model expects 6 channels per frame, the file has 5" in capsys.readouterr().err
    assert main(["predict", str(activity_model)]) == 1
    assert "give one or more files" in capsys.readouterr().err


def test_evaluate_and_resume_a_finished_run(activity_model, capsys) -> None:
    assert main(["evaluate", str(activity_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 3 and set(report) >= {"accuracy", "macro_f1", "per_class", "confusion"}
    before = json.loads((activity_model / "metrics.json").read_text())["test"]["accuracy"]
    assert main(["train", "activity", "--resume", str(activity_model), "--json"]) == 0
    out = capsys.readouterr().out  # "resuming …" then the metrics
    assert json.loads(out[out.index("{\n"):])["test"]["accuracy"] == before


def test_speech_digits_end_to_end_on_the_fsdd_excerpt(tmp_path, capsys) -> None:
    npz = SIGNALS / "digits_excerpt.npz"
    out = tmp_path / "digits"
    assert main(["train", "speech-digits", "--data", str(npz), "--cell", "gru", "--bidirectional", *TINY,
                 "--out", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["evaluate", str(out)]) == 0
    assert "(test, 2 sequences): accuracy" in capsys.readouterr().out
    np.save(tmp_path / "digit.npy", read_fsdd(npz).test[0].features)
    assert main(["predict", str(out), str(tmp_path / "digit.npy")]) == 0
    assert capsys.readouterr().out.split("\t")[0] in [str(d) for d in range(10)]


def test_hapt_windows_report_the_sitting_standing_confusion() -> None:
    from rnnkit.tasks.classify import ClassificationTask

    labels = ["WALKING", "SITTING", "STANDING"]
    data = [(torch.randn(4, 2), y) for y in (0, 1, 1, 2, 2, 2)]
    task = ClassificationTask({"test": data}, labels, batch_size=2, seed=0, pairs=[("SITTING", "STANDING")])

    class Fixed(torch.nn.Module):  # predicts STANDING for everything
        def forward(self, x, lengths):
            return torch.tensor([[0.0, 0.0, 1.0]]).expand(len(x), 3)

    [pair] = task.evaluate(Fixed(), "test", torch.device("cpu"))["pair_confusions"]
    assert pair["SITTING_as_STANDING"] == 2 and pair["STANDING_as_SITTING"] == 0
    assert pair["SITTING_as_STANDING_rate"] == 1.0 and pair["share_of_errors"] == pytest.approx(2 / 3)


def test_a_single_ts_file_is_split_stratified(tmp_path) -> None:
    lines = (SIGNALS / "PickupGestureWiimoteZ_TRAIN_excerpt.ts").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lower().startswith("@data")) + 1
    (tmp_path / "gestures.ts").write_text("\n".join(lines[:start] + lines[start:] * 5) + "\n")
    data = load_signal_data(str(tmp_path / "gestures.ts"))
    assert data.sizes() == {"train": 16, "val": 2, "test": 2} and data.split["method"] == "stratified"
    assert data.channels == ["dim0"] and sorted(data.labels[ex.label] for ex in data.test) == ["3", "8"]


def test_unknown_data_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["train", "speech-digits", "--data", "rt-polarity", "--out", str(tmp_path / "x")]) == 1
    assert "signals datasets are basicmotions, fsdd, hapt" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- CLI, video
def test_video_end_to_end(tmp_path, capsys) -> None:
    out = tmp_path / "video"
    assert main(["train", "video", "--train-clips", "20", "--val-clips", "5", "--test-clips", "5", "--frames", "6",
                 "--frame-size", "16", "--hidden-size", "8", "--frame-features", "8", "--conv-channels", "4",
                 "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    assert "SYNTHETIC data: test accuracy" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["synthetic"] is True and config["task"] == "video"
    assert main(["evaluate", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["synthetic"] is True and report["n"] == 5
    assert report["accuracy"] == json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert main(["train", "video", "--resume", str(out), "--json"]) == 0  # finished: re-evaluates the same clips
    resumed = capsys.readouterr().out
    assert json.loads(resumed[resumed.index("{\n"):])["test"]["accuracy"] == report["accuracy"]
    clips, _ = make_clips(3, seed=1, frames=6, size=16)
    np.save(tmp_path / "clips.npy", (clips[:, :, 0] * 255).astype(np.uint8))
    np.save(tmp_path / "one.npy", clips[0, :, 0])
    assert main(["predict", str(out), str(tmp_path / "clips.npy"), str(tmp_path / "one.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.split("\t")[0] in VIDEO_CLASSES for line in lines)
    np.save(tmp_path / "big.npy", np.zeros((6, 32, 32)))
    assert main(["predict", str(out), str(tmp_path / "big.npy")]) == 1
    assert "expected numeric clips of 16x16 grey frames" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ real data (slow)
@pytest.mark.slow
def test_real_fsdd_gru_learns_digits(tmp_path) -> None:
    out = tmp_path / "fsdd"
    assert main(["train", "speech-digits", "--epochs", "3", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.9


@pytest.mark.slow
def test_real_video_learns_the_motions(tmp_path) -> None:
    out = tmp_path / "video"
    assert main(["train", "video", "--train-clips", "1000", "--epochs", "8", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.6  # 0.80 measured; chance 0.2
