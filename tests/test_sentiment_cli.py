"""`rnnkit train sentiment`, `predict`, `evaluate` end to end on a fixture, and the model directory's errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.tasks.sentiment import SentimentPredictor
from rnnkit.train.checkpoint import ModelDirError, read_config


@pytest.fixture(scope="module")
def trained(reviews_csv, tmp_path_factory):
    """A tiny bow+bigrams model and a tiny bidirectional GRU model trained on the fixture."""
    root = tmp_path_factory.mktemp("models")
    dirs = {}
    for name, flags in {"bow": ["--model", "bow", "--bigrams"],
                        "gru": ["--cell", "gru", "--bidirectional", "--embed-dim", "8", "--hidden-size", "8",
                                "--pooling", "mean"]}.items():
        dirs[name] = root / name
        code = main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                     "--epochs", "2", "--no-progress", "--min-freq", "1", "--out", str(dirs[name]), *flags])
        assert code == 0
    return dirs


@pytest.mark.parametrize("kind", ["bow", "gru"])
def test_model_directory_contract(trained, kind):
    d = trained[kind]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "metrics.json", "history.jsonl",
                 "checkpoint.pt"):
        assert (d / name).exists(), name
    config = read_config(d, task="sentiment")
    assert config["labels"] == ["negative", "positive"]
    metrics = json.loads((d / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"accuracy", "macro_f1", "confusion", "per_class"}
    assert metrics["seed"] == 13 and metrics["split"]["seed"] == 13
    assert len((d / "history.jsonl").read_text().splitlines()) == 2


def test_bigram_dictionary_is_restored(trained):
    predictor = SentimentPredictor(trained["bow"])
    assert predictor.model.num_bigrams > 0
    assert torch.all(predictor.model.bigram_keys[1:] > predictor.model.bigram_keys[:-1])


def test_predict_texts_stdin_and_json(trained, capsys, monkeypatch):
    assert main(["predict", str(trained["gru"]), "A joyous, moving film.", "Dull and lifeless."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] in ("negative", "positive")
    monkeypatch.setattr("sys.stdin", io.StringIO("great acting\nqwertyuiop zxcvb\n"))
    assert main(["predict", str(trained["gru"]), "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(results) == 2
    assert results[1]["unknown_tokens"] == 2  # unknown words map to <unk>, never a crash
    assert abs(sum(results[0]["probs"].values()) - 1) < 1e-6


def test_predict_empty_text_is_a_clear_error(trained, capsys):
    assert main(["predict", str(trained["bow"]), "fine", "   "]) == 1
    assert "input 2 is empty" in capsys.readouterr().err


def test_evaluate(trained, capsys):
    assert main(["evaluate", str(trained["bow"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["accuracy"] <= 1 and report["n"] > 0


def test_not_a_model_directory(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing"), "x"]) == 1
    assert "no model directory" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "x"]) == 1
    assert "not an rnnkit model directory" in capsys.readouterr().err


def test_weights_of_another_model_are_refused(trained, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(trained["gru"], mixed)
    shutil.copy(trained["bow"] / "model.safetensors", mixed / "model.safetensors")
    with pytest.raises(ModelDirError, match="does not fit the model described by config.json"):
        SentimentPredictor(mixed)


def test_corrupt_weights_are_refused(trained, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained["bow"], broken)
    (broken / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ModelDirError, match="not a readable safetensors file"):
        SentimentPredictor(broken)


def test_other_task_directory_is_refused(trained, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(trained["bow"], other)
    config = json.loads((other / "config.json").read_text())
    config["task"] = "translate"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="holds a 'translate' model, not a 'sentiment' model"):
        SentimentPredictor(other)


def test_checkpoint_is_not_loaded_with_pickle(trained, tmp_path):
    """A checkpoint.pt carrying a pickled object (code on load) is refused by weights_only loading."""
    from rnnkit.train.checkpoint import load_training_state

    evil = tmp_path / "evil"
    evil.mkdir()

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Boom()}, evil / "checkpoint.pt")
    with pytest.raises(ModelDirError, match="cannot be loaded safely"):
        load_training_state(evil)


def test_movie_reviews_corpus_keeps_rt_test_out():
    from rnnkit.data.corpora import read_movie_reviews, read_rt_polarity

    FIXTURES = Path(__file__).parent / "fixtures"
    rt = FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2"
    corpus = read_movie_reviews(FIXTURES / "polarity-en-pang&lee1.csv", rt)
    held_out = read_rt_polarity(rt)
    assert all(ex.text in corpus.train for ex in held_out.train)
    assert not any(ex.text in corpus.train + corpus.val + corpus.test for ex in held_out.val + held_out.test)


def test_init_from_language_model(reviews_csv, tmp_path, capsys):
    """A classifier initialised from an LM uses the LM's vocabulary and starts from its weights."""
    import csv

    from safetensors.torch import load_file

    from rnnkit.models import build_model
    from rnnkit.tasks.sentiment import SentimentOptions, transfer_pretrained

    with open(reviews_csv, encoding="utf-8") as f:
        text = "\n".join(row["text"] for row in csv.DictReader(f))
    corpus = tmp_path / "reviews.txt"
    corpus.write_text(text * 2, encoding="utf-8")
    lm_dir = tmp_path / "lm"
    assert main(["train", "lm", "--data", str(corpus), "--tokenizer", "word", "--min-freq", "1", "--embed-dim", "8",
                 "--hidden-size", "12", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--no-progress",
                 "--out", str(lm_dir)]) == 0
    out = tmp_path / "clf"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--init-from", str(lm_dir), "--bidirectional", "--epochs", "1", "--no-progress", "--out",
                 str(out)]) == 0
    log = capsys.readouterr().out
    assert "hidden 12" in log and "from the language model" in log
    assert json.loads((out / "tokenizer.json").read_text()) == json.loads((lm_dir / "tokenizer.json").read_text())
    # the transfer itself: forward direction and embedding copied, reverse direction left alone
    config = read_config(out)
    model = build_model(config["model"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loaded = transfer_pretrained(model, lm_dir)
    lm_state = load_file(str(lm_dir / "model.safetensors"))
    assert "embedding.weight" in loaded and "encoder.weight_hh_l0" in loaded
    assert not any("reverse" in k or k.startswith("head") for k in loaded)
    for k in loaded:
        assert torch.equal(model.state_dict()[k], lm_state[k])
    assert torch.equal(model.state_dict()["encoder.weight_hh_l0_reverse"], before["encoder.weight_hh_l0_reverse"])
    with pytest.raises(ValueError, match="does not apply to --model bow"):
        from rnnkit.tasks.sentiment import pretrained_encoder

        pretrained_encoder(SentimentOptions(model="bow", init_from=str(lm_dir)), print)


def test_ensemble_averages_member_probabilities(trained):
    from rnnkit.tasks.sentiment import SentimentEnsemble

    texts = ["a warm, funny film", "dull and far too long"]
    members = [SentimentPredictor(trained[k]).predict(texts) for k in ("gru", "bow")]
    together = SentimentEnsemble([trained["gru"], trained["bow"]]).predict(texts)
    for i, r in enumerate(together):
        for label in ("negative", "positive"):
            mean = (members[0][i]["probs"][label] + members[1][i]["probs"][label]) / 2
            assert r["probs"][label] == pytest.approx(mean, abs=1e-6)
        assert r["label"] == max(r["probs"], key=r["probs"].get) and r["members"] == 2
        assert r["unknown_tokens"] == max(m[i]["unknown_tokens"] for m in members)
    assert SentimentEnsemble([trained["gru"]]).predict(["zzyzx qwerty film"])[0]["unknown_tokens"] == 2


def test_evaluate_and_predict_an_ensemble(trained, capsys):
    assert main(["evaluate", str(trained["gru"]), "--ensemble", str(trained["bow"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["members"]) == {str(trained["gru"]), str(trained["bow"])}
    assert 0 <= report["accuracy"] <= 1 and report["n"] > 0
    assert main(["evaluate", str(trained["gru"]), "--ensemble", str(trained["bow"])]) == 0
    assert "ensemble of 2" in capsys.readouterr().out
    assert main(["predict", str(trained["gru"]), "a fine film", "--ensemble", str(trained["bow"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["members"] == 2


def test_ensemble_refuses_other_labels_splits_and_tasks(trained, tmp_path, capsys):
    from rnnkit.tasks import run
    from rnnkit.tasks.sentiment import SentimentEnsemble

    def copy_with(name, edit):
        d = tmp_path / name
        shutil.copytree(trained["gru"], d)
        config = json.loads((d / "config.json").read_text())
        edit(config)
        (d / "config.json").write_text(json.dumps(config))
        return d

    relabelled = copy_with("relabelled", lambda c: c.update(labels=["bad", "good"]))
    with pytest.raises(ModelDirError, match="an ensemble needs models with the same labels"):
        SentimentEnsemble([trained["bow"], relabelled])
    resplit = copy_with("resplit", lambda c: c["options"].update(split_seed=99))
    with pytest.raises(ModelDirError, match="trained on the same split"):
        run.evaluate_directory(trained["bow"], ensemble=[resplit])
    lm = copy_with("lm", lambda c: c.update(task="lm"))
    assert main(["evaluate", str(lm), "--ensemble", str(trained["bow"])]) == 1
    assert "--ensemble averages sentiment models" in capsys.readouterr().err


def test_evaluating_on_data_with_other_labels_or_an_empty_split_is_a_clear_error(trained):
    from rnnkit.data.splits import Splits
    from rnnkit.tasks.sentiment import SentimentEnsemble

    other = Splits(name="other", labels=["bad", "good"], train=[], val=[], test=[object()])
    empty = Splits(name="empty", labels=["negative", "positive"], train=[], val=[], test=[])
    for model in (SentimentPredictor(trained["bow"]), SentimentEnsemble([trained["bow"], trained["gru"]])):
        with pytest.raises(ValueError, match="other has labels"):
            model.evaluate(other)
        with pytest.raises(ValueError, match="empty has no test examples"):
            model.evaluate(empty)


def test_rnnkit_load_dispatches_on_the_task(trained, tmp_path):
    import rnnkit
    from rnnkit.tasks import TASKS

    predictor = rnnkit.load(trained["gru"])
    assert isinstance(predictor, SentimentPredictor) and TASKS["sentiment"].predictor is SentimentPredictor
    [result] = predictor.predict(["a warm, funny film"])
    assert result["label"] in ("negative", "positive") and sum(result["probs"].values()) == pytest.approx(1.0)
    assert result["probability"] == max(result["probs"].values())
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelDirError, match="is not an rnnkit model directory"):
        rnnkit.load(tmp_path / "plain")


def test_old_model_directories_with_a_cell_as_model_still_load_and_resume(trained, tmp_path, capsys):
    """Before --cell, sentiment saved "model": "gru" (the cell); such directories predict and evaluate."""
    old = tmp_path / "old"
    shutil.copytree(trained["gru"], old)
    config = json.loads((old / "config.json").read_text())
    config["options"]["model"] = config["options"].pop("cell")
    (old / "config.json").write_text(json.dumps(config))
    assert main(["predict", str(old), "a fine film"]) == 0
    assert main(["evaluate", str(old), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["n"] > 0


def test_the_old_model_flag_is_accepted_with_a_note(reviews_csv, tmp_path, capsys):
    out = tmp_path / "old-flag"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--model", "rnn", "--embed-dim", "4", "--hidden-size", "4", "--epochs", "1", "--no-progress",
                 "--min-freq", "1", "--out", str(out)]) == 0
    assert "--model rnn is deprecated" in capsys.readouterr().err
    options = read_config(out)["options"]
    assert (options["model"], options["cell"]) == ("recurrent", "rnn")

