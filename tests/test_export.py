"""ONNX export: every cell on ONNX's own LSTM/GRU/RNN operator, whole models from real model directories,
the onnxruntime-only decoding loop, and the ``rnnkit export`` verb — all checked against rnnkit itself."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rnnkit.cli import main
from rnnkit.decode.seq2seq import beam_search, greedy
from rnnkit.export.bundle import export_directory
from rnnkit.export.runtime import OnnxTranslator
from rnnkit.models import (
    BagOfWordsClassifier,
    LanguageModel,
    RecurrentClassifier,
    Seq2Seq,
    SequenceClassifier,
    build_model,
    model_spec,
)
from rnnkit.models.seq2seq import sequence_loss
from rnnkit.nn import CELLS as REGISTRY
from rnnkit.nn import Recurrent, export_onnx
from rnnkit.nn.onnx import layer_graph
from rnnkit.text import BOS, EOS, UNK, PadCollator, TextEncoder
from rnnkit.train.checkpoint import CONFIG, load_weights, new_config, save_weights, write_json

# What the cells declare (``cell.onnx``): every cell with an ONNX operator is run on onnxruntime below.
CELLS = tuple(name for name, cell in REGISTRY.items() if cell.onnx is not None)
NOT_EXPORTABLE = tuple(name for name, cell in REGISTRY.items() if cell.onnx is None)
TEXTS = ["a moving and beautifully acted film", "dull , lifeless and far too long", "the cast is superb",
         "i did not like it at all", "a warm funny story", "the plot makes no sense"]


def session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def ops(model: onnx.ModelProto) -> set[str]:
    return {node.op_type for node in model.graph.node}


def perturb(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random weights everywhere (zero-initialised heads and biases included), so outputs are not trivial."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model.eval()


# ------------------------------------------------------------------------------------------- layers
@pytest.mark.parametrize(("cell", "layers", "bidirectional"), list(itertools.product(CELLS, (1, 2), (False, True))))
def test_layer_matches_rnnkit_on_onnxruntime(cell, layers, bidirectional):
    torch.manual_seed(0)
    layer = Recurrent(cell, 5, 4, layers, bidirectional=bidirectional).eval()
    graph = layer_graph(layer)
    operator = REGISTRY[cell].onnx.operator
    assert operator in ops(graph) and not ops(graph) & {"Loop", "Scan"}
    assert sum(node.op_type == operator for node in graph.graph.node) == layers  # one node per layer
    run = session(graph)
    T, B, S = 7, 3, layers * (2 if bidirectional else 1)
    x = torch.randn(T, B, 5)
    lengths = torch.tensor([7, 2, 5])
    for given in (False, True):
        h0 = torch.randn(S, B, 4) if given else torch.zeros(S, B, 4)
        c0 = torch.randn(S, B, 4) if given else torch.zeros(S, B, 4)
        with_c = layer.cell.has_cell_state
        state = (h0, c0) if with_c else h0
        with torch.no_grad():
            y, final = layer(x, state if given else None, lengths=lengths)
        feed = {"x": x.numpy(), "lengths": lengths.numpy(), "h0": h0.numpy()}
        if with_c:
            feed["c0"] = c0.numpy()
        got = run.run(None, feed)
        want = [y, *final] if with_c else [y, final]
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == tuple(w.shape)
            assert np.abs(g - w.numpy()).max() <= 1e-5
        assert np.all(got[0][2:, 1] == 0)  # zero past the length, like rnnkit


def test_export_onnx_writes_file_and_description_batch_first(tmp_path):
    torch.manual_seed(1)
    layer = Recurrent("gru-reset-before", 3, 4, 2, batch_first=True).eval()
    path = export_onnx(layer, tmp_path / "gru.onnx")
    meta = json.loads((tmp_path / "gru.onnx.json").read_text())
    assert meta["operator"] == "GRU" and meta["opset"] >= 14
    assert [i["name"] for i in meta["inputs"]] == ["x", "lengths", "h0"]
    assert meta["inputs"][0]["shape"] == ["B", "T", 3]
    node = next(n for n in onnx.load(path).graph.node if n.op_type == "GRU")
    assert {a.name: a.i for a in node.attribute}["linear_before_reset"] == 0  # the lecture's GRU
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        y, h = layer(x, lengths=[6, 3])
    got = session(path).run(None, {"x": x.numpy(), "lengths": np.array([6, 3]), "h0": np.zeros((2, 2, 4), "f4")})
    assert np.abs(got[0] - y.numpy()).max() <= 1e-5 and np.abs(got[1] - h.numpy()).max() <= 1e-5


@pytest.mark.parametrize("cell", NOT_EXPORTABLE)
def test_a_cell_without_an_onnx_operator_is_refused_saying_why(tmp_path, cell):
    with pytest.raises(ValueError, match="no standard ONNX operator") as error:
        export_onnx(Recurrent(cell, 3, 4).eval(), tmp_path / "x.onnx")
    assert REGISTRY[cell].onnx_missing in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "x.onnx").exists()


def test_torch_gru_exports_with_linear_before_reset_1_and_custom_cells_are_refused(tmp_path):
    node = next(n for n in layer_graph(Recurrent("gru", 2, 3)).graph.node if n.op_type == "GRU")
    assert {a.name: a.i for a in node.attribute}["linear_before_reset"] == 1
    with pytest.raises(ValueError, match="exports an rnnkit.nn.Recurrent"):
        export_onnx(torch.nn.GRU(2, 3), tmp_path / "x.onnx")


# ------------------------------------------------------------------------------ model directories
def write_model_dir(directory: Path, task: str, model: torch.nn.Module, spec: dict, **fields) -> Path:
    """A real model directory, written by the project's own functions."""
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(model, directory)
    fields = {"options": {}, "train": {}, **fields}  # the header every task's config.json holds
    write_json(directory / CONFIG, new_config(task, model=spec, **fields))
    return directory


def encoder_for(tokenizer: str = "word") -> TextEncoder:
    return TextEncoder.build(TEXTS, tokenizer=tokenizer, bpe_vocab_size=300)  # type: ignore[arg-type]


def batch(encoder: TextEncoder, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    ids = [encoder.encode(t) for t in texts]
    tokens = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long)
    for i, seq in enumerate(ids):
        tokens[i, : len(seq)] = torch.tensor(seq)
    return tokens, torch.tensor([len(s) for s in ids])


@pytest.mark.parametrize(("cell", "pooling", "bidirectional"), [("lstm", "last", True), ("gru-reset-before", "concat",
                                                                 False), ("gru", "mean", True), ("rnn", "max", False)])
def test_sentiment_classifier_directory_exports_with_same_probabilities(tmp_path, cell, pooling, bidirectional):
    encoder = encoder_for()
    kwargs = dict(vocab_size=len(encoder.vocab), num_classes=2, cell=cell, embed_dim=6, hidden_size=5, num_layers=2,
                  bidirectional=bidirectional, pooling=pooling)
    model = perturb(RecurrentClassifier(**kwargs), 3)
    d = write_model_dir(tmp_path / "clf", "sentiment", model, model_spec(RecurrentClassifier, **kwargs),
                        text=encoder.save(tmp_path / "clf"), labels=["negative", "positive"])
    out = tmp_path / "deploy" / "clf.onnx"
    written = export_directory(d, out)
    meta = json.loads(written[1].read_text())
    assert meta["labels"] == ["negative", "positive"] and (out.parent / meta["text"]["tokenizer_file"]).exists()
    tokens, lengths = batch(encoder, TEXTS)
    with torch.no_grad():
        want = torch.softmax(model(tokens, lengths), dim=1).numpy()
    logits, probs = session(out).run(["logits", "probabilities"], {"tokens": tokens.numpy(),
                                                                  "lengths": lengths.numpy()})
    assert np.abs(probs - want).max() <= 1e-5
    assert (probs.argmax(1) == want.argmax(1)).all()


@pytest.mark.parametrize("bigrams", [0, 5])
def test_bag_of_words_directory_exports(tmp_path, bigrams):
    encoder = encoder_for()
    V = len(encoder.vocab)
    kwargs = dict(vocab_size=V, num_classes=3, num_bigrams=bigrams)
    model = perturb(BagOfWordsClassifier(**kwargs), 4)
    tokens, lengths = batch(encoder, TEXTS)
    if bigrams:
        keys = BagOfWordsClassifier.bigram_keys_of(tokens, lengths, V)
        model.set_bigrams(keys[keys >= 0].unique()[:bigrams])
    d = write_model_dir(tmp_path / "bow", "sentiment", model, model_spec(BagOfWordsClassifier, **kwargs),
                        text=encoder.save(tmp_path / "bow"), labels=["a", "b", "c"])
    export_directory(d)
    with torch.no_grad():
        want = model(tokens, lengths).numpy()
    got = session(d / "model.onnx").run(["logits"], {"tokens": tokens.numpy(), "lengths": lengths.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4


@pytest.mark.parametrize("frontend", ["none", "dense", "conv"])
def test_signal_classifier_exports(tmp_path, frontend):
    kwargs = dict(input_size=3, num_classes=4, cell="gru", hidden_size=5, num_layers=1, bidirectional=True,
                  pooling="mean", frontend=frontend, frontend_size=4, conv_stride=2)
    model = perturb(SequenceClassifier(**kwargs), 5)
    d = write_model_dir(tmp_path / "sig", "activity", model, model_spec(SequenceClassifier, **kwargs),
                        labels=list("wxyz"), features={"channels": ["x", "y", "z"]})
    export_directory(d)
    x, lengths = torch.randn(3, 9, 3), torch.tensor([9, 4, 6])
    with torch.no_grad():
        want = model(x, lengths).numpy()
    got = session(d / "model.onnx").run(["logits"], {"features": x.numpy(), "lengths": lengths.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4


@pytest.mark.parametrize(("cell", "tie"), [("lstm", True), ("gru-reset-before", False)])
def test_language_model_streams_one_token_at_a_time_with_explicit_state(tmp_path, cell, tie):
    encoder = encoder_for("char")
    kwargs = dict(vocab_size=len(encoder.vocab), cell=cell, embed_dim=6, hidden_size=8, num_layers=2,
                  tie_weights=tie)
    model = perturb(LanguageModel(**kwargs), 6)
    d = write_model_dir(tmp_path / "lm", "lm", model, model_spec(LanguageModel, **kwargs),
                        text=encoder.save(tmp_path / "lm"), level="char")
    export_directory(d)
    tokens = torch.tensor([encoder.encode("a warm story")])
    with torch.no_grad():
        want, _ = model(tokens)
    run = session(d / "model.onnx")
    h = np.zeros((2, 1, 8), np.float32)
    state = {"h0": h, "c0": h} if cell == "lstm" else {"h0": h}
    for t in range(tokens.shape[1]):  # streaming: one token per call, the state fed back
        out = run.run(None, {"tokens": tokens[:, t: t + 1].numpy(), **state})
        assert np.abs(out[0][0, 0] - want[0, t].numpy()).max() <= 1e-4
        state = {"h0": out[1], "c0": out[2]} if cell == "lstm" else {"h0": out[1]}


def fit_briefly(model: Seq2Seq, pairs: list[tuple[list[int], list[int]]], steps: int = 60) -> None:
    """A few Adam steps of teacher-forced copying, so greedy and beam search emit varied words and <eos>."""
    torch.manual_seed(0)
    src = PadCollator()([s for s, _ in pairs])
    tgt = PadCollator()([t for _, t in pairs]).tokens
    tgt_in = torch.cat([torch.full((len(pairs), 1), BOS), tgt[:, :-1]], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        logits, _ = model(src.tokens, src.lengths, tgt_in)
        loss, _ = sequence_loss(logits, tgt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def translator_dir(tmp_path: Path, cell: str, attention: str, bidirectional: bool, *,
                   fit: bool = True) -> tuple[Path, Seq2Seq, TextEncoder]:
    src, tgt = encoder_for("bpe"), encoder_for("word")
    kwargs = dict(src_vocab_size=len(src.vocab), tgt_vocab_size=len(tgt.vocab), cell=cell, embed_dim=6,
                  hidden_size=8, num_layers=2, bidirectional=bidirectional, attention=attention)
    model = Seq2Seq(**kwargs, dropout=0.0)
    if fit:
        fit_briefly(model, [(src.encode(t), tgt.encode(t) + [EOS]) for t in TEXTS])
    else:
        perturb(model, 7)
    d = tmp_path / "mt"
    text = {"src": src.save(d / "src"), "tgt": tgt.save(d / "tgt")}
    write_model_dir(d, "translate", model, model_spec(Seq2Seq, **kwargs), text=text,
                    options={"beam": 3, "length_penalty": 1.0}, max_source_tokens=20)
    return d, model, src


@pytest.mark.parametrize(("cell", "attention", "bidirectional"), [
    ("gru-reset-before", "luong-general", True), ("lstm", "bahdanau", True), ("gru", "luong-dot", False),
    ("lstm", "none", True)])
def test_translator_greedy_and_beam_on_onnxruntime_alone_match_rnnkit(tmp_path, cell, attention, bidirectional):
    d, model, src = translator_dir(tmp_path, cell, attention, bidirectional)
    written = export_directory(d, tmp_path / "out" / "mt.onnx")
    meta = json.loads((tmp_path / "out" / "mt.onnx.json").read_text())
    assert set(meta["graphs"]) == {"encoder", "decoder"} and meta["decoding"]["eos"] == 3
    assert (tmp_path / "out" / meta["text"]["src"]["tokenizer_file"]).exists()
    decoder = onnx.load(written[1])
    assert ops(decoder) & {"LSTM", "GRU", "RNN"} and not ops(decoder) & {"Loop", "Scan"}
    runner = OnnxTranslator(written[0], written[1], threads=1)
    loaded = build_model(json.loads((d / CONFIG).read_text())["model"])
    load_weights(loaded, d)
    loaded.eval()
    for text in TEXTS[:3]:
        ids = src.encode(text)
        x, n = torch.tensor([ids]), torch.tensor([len(ids)])
        want = greedy(loaded, x, n)[0]
        tokens, score = runner.greedy(ids)
        assert tokens == want.tokens and abs(score - want.score) <= 1e-3
        want_beam = beam_search(loaded, x, n, beam=3)[0]
        tokens, score = runner.beam(ids, beam=3)
        assert tokens == want_beam.tokens and abs(score - want_beam.score) <= 1e-3


def test_decoder_step_matches_rnnkit_step(tmp_path):
    d, model, src = translator_dir(tmp_path, "gru", "bahdanau", True, fit=False)
    written = export_directory(d, tmp_path / "mt.onnx")
    runner = OnnxTranslator(written[0], written[1], threads=1)
    ids = src.encode(TEXTS[0])
    state = runner.start(ids)
    with torch.no_grad():
        ref = model.start(torch.tensor([ids]), torch.tensor([len(ids)]))
        logits, ref, _ = model.step(torch.tensor([2]), ref)
    logp, state = runner.step(np.array([2]), state)
    assert np.abs(logp - torch.log_softmax(logits, -1).numpy()).max() <= 1e-4
    assert np.abs(state["h"] - ref.rnn.numpy()).max() <= 1e-5


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_export_writes_files_and_bad_directory_is_one_line(tmp_path, capsys):
    encoder = encoder_for()
    kwargs = dict(vocab_size=len(encoder.vocab), num_classes=2, embed_dim=4, hidden_size=3)
    model = perturb(RecurrentClassifier(**kwargs), 8)
    d = write_model_dir(tmp_path / "clf", "sentiment", model, model_spec(RecurrentClassifier, **kwargs),
                        text=encoder.save(tmp_path / "clf"), labels=["negative", "positive"])
    assert main(["export", str(d), "--format", "onnx", "--out", str(tmp_path / "x" / "m.onnx")]) == 0
    assert (tmp_path / "x" / "m.onnx").exists() and (tmp_path / "x" / "m.onnx.json").exists()
    capsys.readouterr()
    assert main(["export", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rnnkit export: error:" in err and "train" in err
    assert main(["export", str(d), "--out", str(tmp_path / "m.txt")]) == 1
    assert ".onnx" in capsys.readouterr().err


def test_trained_sentiment_model_exported_by_the_cli_gives_the_predictors_labels(tmp_path, reviews_csv):
    import rnnkit

    d = tmp_path / "clf"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--epochs", "1", "--no-progress", "--min-freq", "1", "--cell", "gru-reset-before", "--bidirectional",
                 "--embed-dim", "8", "--hidden-size", "8", "--out", str(d)]) == 0
    assert main(["export", str(d), "--format", "onnx"]) == 0
    predictor = rnnkit.load(d)
    texts = ["A moving, beautifully acted film.", "Dull and far too long; I did not like it at all."]
    want = predictor.predict(texts)
    meta = json.loads((d / "model.onnx.json").read_text())
    tokens, lengths = batch(predictor.encoder, texts)
    (probs,) = session(d / "model.onnx").run(["probabilities"], {"tokens": tokens.numpy(), "lengths": lengths.numpy()})
    for p, w in zip(probs, want, strict=True):
        assert meta["labels"][int(p.argmax())] == w["label"] and abs(float(p.max()) - w["probability"]) <= 1e-5


def test_trained_translator_exported_by_the_cli_translates_like_the_predictor(tmp_path):
    import rnnkit

    d = tmp_path / "mt"
    fra = Path(__file__).parent / "fixtures" / "translation" / "fra.txt"
    assert main(["train", "translate", "--data", str(fra), "--epochs", "1", "--no-progress", "--embed-dim", "8",
                 "--hidden-size", "8", "--src-bpe", "300", "--tgt-bpe", "300", "--batch-size", "8", "--beam", "2",
                 "--out", str(d)]) == 0
    assert main(["export", str(d), "--out", str(tmp_path / "deploy" / "mt.onnx")]) == 0
    runner = OnnxTranslator(tmp_path / "deploy" / "mt.encoder.onnx", tmp_path / "deploy" / "mt.decoder.onnx")
    predictor = rnnkit.load(d)
    for text in ["Je suis content.", "Où est la gare ?"]:
        ids = predictor.src.encode(text)
        greedy_text, beam_text = (predictor.translate([text], beam=k)[0]["translation"] for k in (1, 2))
        assert predictor.tgt.decode(runner.greedy(ids)[0]) == greedy_text
        assert predictor.tgt.decode(runner.beam(ids, beam=2)[0]) == beam_text


# ------------------------------------------------------------------------- self-contained exports
FORMAT1 = Path(__file__).parent / "fixtures" / "format1"  # model directories written by rnnkit before tokenizer.json


def classify_with(sidecar: Path, text: str) -> list[float]:
    """Probabilities from an export's own files only: its JSON, its tokenizer file and its graph."""
    from tokenizers import Tokenizer

    meta = json.loads(sidecar.read_text())
    ids = Tokenizer.from_file(str(sidecar.parent / meta["text"]["tokenizer_file"])).encode(text).ids
    (probs,) = session(sidecar.parent / meta["file"]).run(["probabilities"], {"tokens": np.array([ids]),
                                                                             "lengths": np.array([len(ids)])})
    return probs[0].tolist()


def test_two_exports_into_one_folder_both_still_work(tmp_path):
    import rnnkit

    out = tmp_path / "deploy"
    texts = ["A moving, beautifully acted film.", "Dull -- I can't say it's 10/10. 😴"]
    for name in ("sentiment-word", "sentiment-bpe", "lm-word", "translate"):
        before = {p: p.read_bytes() for p in (FORMAT1 / name).rglob("*") if p.is_file()}
        assert main(["export", str(FORMAT1 / name), "--out", str(out / f"{name}.onnx")]) == 0
        assert {p: p.read_bytes() for p in (FORMAT1 / name).rglob("*") if p.is_file()} == before  # nothing written
    assert len({p.name for p in out.iterdir()}) == 3 * 3 + 5  # 3 files per export, 5 for the translator
    for name in ("sentiment-word", "sentiment-bpe"):
        predictor = rnnkit.load(FORMAT1 / name)
        for text in texts:
            want = list(predictor.predict([text])[0]["probs"].values())
            assert classify_with(out / f"{name}.onnx.json", text) == pytest.approx(want, abs=1e-5)


def test_the_onnx_translator_refuses_ids_the_graph_would_misread(tmp_path):
    from tokenizers import Tokenizer

    import rnnkit

    out = tmp_path / "mt.onnx"
    assert main(["export", str(FORMAT1 / "translate"), "--out", str(out)]) == 0
    runner = OnnxTranslator(tmp_path / "mt.encoder.onnx", tmp_path / "mt.decoder.onnx", threads=1)
    src = Tokenizer.from_file(str(tmp_path / "mt.src.tokenizer.json"))
    predictor = rnnkit.load(FORMAT1 / "translate")
    ids = src.encode("Où est la gare ?").ids
    known = len(predictor.src.vocab)
    assert [i if i < known else UNK for i in ids] == predictor.src.encode("Où est la gare ?")
    tokens, _ = runner.greedy(ids)
    assert predictor.tgt.decode(tokens) == predictor.translate(["Où est la gare ?"], beam=1)[0]["translation"]
    for bad, says in (([], "empty source"), ([5, -1], "token id -1"), ([runner.src_ids], f"token id {runner.src_ids}")):
        with pytest.raises(ValueError, match=says) as err:
            runner.greedy(bad)
        assert "\n" not in str(err.value)
    state = runner.start(ids)
    with pytest.raises(ValueError, match="y_prev holds the token id"):
        runner.step(np.array([runner.tgt_ids]), state)


def test_an_export_into_the_model_directory_stays_out_of_its_integrity_record(tmp_path):
    import shutil

    from rnnkit.train.checkpoint import recorded_files

    d = tmp_path / "clf"
    shutil.copytree(FORMAT1 / "sentiment-word", d)
    before = recorded_files(d)
    assert main(["export", str(d)]) == 0  # the default: DIR/model.onnx, DIR/model.onnx.json, DIR/model.tokenizer.json
    assert (d / "model.tokenizer.json").exists() and recorded_files(d) == before
