"""Gate traces (rnnkit.tracing): batch-first per-token arrays that obey the cells' equations, their JSON, the
picture, and `rnnkit inspect` on trained model directories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.models.baselines import BagOfWordsClassifier
from rnnkit.models.classifier import RecurrentClassifier
from rnnkit.models.lm import LanguageModel
from rnnkit.models.sequence_classifier import SequenceClassifier
from rnnkit.models.video import VideoClassifier
from rnnkit.nn import CELLS, Recurrent
from rnnkit.tasks.sentiment import SentimentEnsemble
from rnnkit.text import TextEncoder
from rnnkit.tracing import GateTrace, trace_encoder, trace_model, trace_sequences, trace_texts
from rnnkit.tracing.plot import plot_trace
from rnnkit.tracing.trace import recurrent_encoder
from rnnkit.tracing.units import CRITERION, key_units, unit_scores

FIXTURES = Path(__file__).parent / "fixtures"
GATES = {"lstm": ["i", "f", "g", "o", "c"], "gru": ["r", "z", "n"], "gru-reset-before": ["r", "z", "h~"],
         "rnn": [], "rnn-relu": [], "lstm-layernorm": ["i", "f", "g", "o", "c"]}  # the lecture's names


def test_the_cells_declare_the_lecture_gate_names():
    for cell, names in GATES.items():
        assert list(CELLS[cell].trace_titles) == names


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_trace_is_batch_first_cut_to_each_length_and_named_by_cell(cell):
    torch.manual_seed(0)
    layer = Recurrent(cell, 3, 5, 2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(2, 6, 3)
    traces = trace_encoder(layer, x, lengths=[6, 4], tokens=[list("abcdef"), list("wxyz")])
    assert [t.tokens for t in traces] == [list("abcdef"), list("wxyz")]
    for trace, n in zip(traces, (6, 4), strict=True):
        assert trace.cell == cell and trace.gate_names == list(CELLS[cell].trace_titles)  # what the cell declares
        assert [(p.layer, p.direction) for p in trace.layers] == [(0, "forward"), (0, "backward"),
                                                                  (1, "forward"), (1, "backward")]
        for part in trace.layers:
            assert part.h.shape == (n, 5) and all(v.shape == (n, 5) for v in part.gates.values())
            for name in CELLS[cell].picture_gates:  # a picture shows them on a [0, 1] scale: sigmoid gates
                assert 0 <= part.gates[name].min() and part.gates[name].max() <= 1
    # Sequence 2 traced inside a padded batch = traced alone: padding never leaks into a trace.
    alone = trace_encoder(layer, x[1:, :4])[0]
    for padded, single in zip(traces[1].layers, alone.layers, strict=True):  # (layer norm: rounding to 1e-6)
        np.testing.assert_allclose(padded.h, single.h, atol=1e-5)
        for name in single.gates:
            np.testing.assert_allclose(padded.gates[name], single.gates[name], atol=1e-5)
    # The top layer's h, forward then backward, is exactly what the layer outputs (batch-first, token order).
    out, _ = layer(x, lengths=[6, 4])
    top = torch.cat([torch.from_numpy(traces[1].get(-1, d).h) for d in ("forward", "backward")], dim=1)
    torch.testing.assert_close(top, out[1, :4], atol=1e-6, rtol=0)


def test_lstm_trace_obeys_the_equations():
    torch.manual_seed(1)
    layer = Recurrent("lstm", 4, 3, batch_first=True).eval()
    x = torch.randn(1, 5, 4)
    part = trace_encoder(layer, x)[0].get(0)
    i, f, g, o, c = (part.gates[k] for k in "ifgoc")
    w_ih, w_hh = layer.weight_ih_l0.detach().numpy(), layer.weight_hh_l0.detach().numpy()
    b = (layer.bias_ih_l0 + layer.bias_hh_l0).detach().numpy()
    h_prev, c_prev = np.zeros(3), np.zeros(3)
    for t in range(5):
        pre = w_ih @ x[0, t].numpy() + w_hh @ h_prev + b  # i, f, g, o stacked as torch orders them
        np.testing.assert_allclose(i[t], sigmoid(pre[0:3]), atol=1e-5)
        np.testing.assert_allclose(f[t], sigmoid(pre[3:6]), atol=1e-5)
        np.testing.assert_allclose(g[t], np.tanh(pre[6:9]), atol=1e-5)
        np.testing.assert_allclose(o[t], sigmoid(pre[9:12]), atol=1e-5)
        np.testing.assert_allclose(c[t], f[t] * c_prev + i[t] * g[t], atol=1e-5)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        np.testing.assert_allclose(part.h[t], o[t] * np.tanh(c[t]), atol=1e-5)  # h_t = o ⊙ tanh(c_t)
        h_prev, c_prev = part.h[t], c[t]


@pytest.mark.parametrize("cell", ["gru", "gru-reset-before"])
def test_gru_trace_obeys_the_update(cell):
    torch.manual_seed(2)
    part = trace_encoder(Recurrent(cell, 3, 4, batch_first=True), torch.randn(1, 6, 3))[0].get(0)
    candidate = part.gates["n" if cell == "gru" else "h~"]
    h_prev = np.vstack([np.zeros((1, 4)), part.h[:-1]])
    z = part.gates["z"]
    np.testing.assert_allclose(part.h, (1 - z) * candidate + z * h_prev, atol=1e-6)  # h_t = (1−z) ⊙ h̃ + z ⊙ h_{t−1}


def test_to_dict_is_the_http_contract():
    torch.manual_seed(3)
    trace = trace_encoder(Recurrent("lstm", 2, 3, batch_first=True), torch.randn(1, 4, 2), tokens=[list("abcd")])[0]
    d = json.loads(json.dumps(trace.to_dict()))
    assert d["cell"] == "lstm" and d["tokens"] == list("abcd")
    (layer,) = d["layers"]
    assert layer["layer"] == 0 and layer["direction"] == "forward"
    assert list(layer["gates"]) == ["i", "f", "g", "o", "c"] and list(layer["gate_means"]) == ["i", "f", "g", "o", "c"]
    assert np.array(layer["gates"]["f"]).shape == (4, 3) and np.array(layer["h"]).shape == (4, 3)
    part = trace.get(0)
    np.testing.assert_allclose(layer["h_norm"], np.linalg.norm(part.h, axis=1), atol=1e-4)
    np.testing.assert_allclose(layer["gate_means"]["f"], part.gates["f"].mean(axis=1), atol=1e-4)
    with pytest.raises(ValueError, match="no layer 1"):
        trace.get(1)
    assert d["titles"]["f"] == "forget gate f" and d["titles"]["h"] == "hidden state h"
    assert d["picture_gates"] == ["f", "i", "o"]
    assert GateTrace("rnn", ["a"], []).to_dict() == {"cell": "rnn", "tokens": ["a"], "layers": [],
                                                     "titles": {"h": "hidden state h"}, "picture_gates": [],
                                                     "shown_gates": ["h"], "key_units_criterion": CRITERION}


TEXTS = ["a great and moving film", "dull", "the plot is dull but the acting is great"]


def _text_encoder():
    return TextEncoder.build(TEXTS, lowercase=True)


def test_trace_texts_of_a_classifier_labels_tokens_as_written_and_matches_the_prediction():
    torch.manual_seed(4)
    enc = _text_encoder()
    model = RecurrentClassifier(len(enc.vocab), 2, cell="gru", embed_dim=6, hidden_size=5, bidirectional=True,
                                pooling="mean").eval()
    single = trace_texts(model, enc, "A great ZEBRA")
    assert single.tokens == ["a", "great", "zebra"]  # an unknown word keeps its name (the model reads <unk>)
    batch = trace_texts(model, enc, ["A great ZEBRA", "dull"])
    assert [t.tokens for t in batch] == [["a", "great", "zebra"], ["dull"]]
    np.testing.assert_allclose(batch[0].get(0, "backward").h, single.get(0, "backward").h, atol=1e-6)
    tokens = torch.tensor([enc.encode("A great ZEBRA")])
    logits, traces = trace_model(model, model.encoder, tokens, torch.tensor([3]))
    torch.testing.assert_close(logits, model(tokens, torch.tensor([3])))
    assert traces[0].tokens == ["1", "2", "3"]  # no token strings given: step numbers
    with pytest.raises(ValueError, match="text 2 is empty"):
        trace_texts(model, enc, ["fine", "   "])
    with pytest.raises(ValueError, match="bag-of-words"):
        trace_texts(BagOfWordsClassifier(len(enc.vocab), 2), enc, "great")


def test_trace_texts_of_a_language_model_cuts_the_padding():
    torch.manual_seed(5)
    enc = _text_encoder()
    model = LanguageModel(len(enc.vocab), cell="lstm", embed_dim=6, hidden_size=5, num_layers=2).eval()
    short, long = trace_texts(model, enc, ["dull", "the plot is dull"], with_lengths=False)
    assert short.tokens == ["dull"] and long.tokens == ["the", "plot", "is", "dull"]
    alone = trace_texts(model, enc, "dull", with_lengths=False)
    assert len(short.layers) == 2 and short.get(1).h.shape == (1, 5)
    np.testing.assert_allclose(short.get(1).gates["c"], alone.get(1).gates["c"], atol=1e-6)


def test_signal_and_video_models_are_traced_behind_their_front_ends():
    torch.manual_seed(6)
    model = SequenceClassifier(3, 4, cell="lstm", hidden_size=5, num_layers=1, frontend="conv", frontend_size=6,
                               conv_stride=2).eval()
    x, lengths = torch.randn(2, 9, 3), torch.tensor([9, 5])
    logits, traces = trace_model(model, recurrent_encoder(model), x, lengths)
    torch.testing.assert_close(logits, model(x, lengths))
    assert [len(t.tokens) for t in traces] == [5, 3]  # ceil(T / stride) frames after the strided convolution
    alone = trace_sequences(model, [x[1, :5].numpy()])[0]  # what SignalPredictor.trace runs: unpadded sequences
    np.testing.assert_allclose(alone.get(0).gates["c"], traces[1].get(0).gates["c"], atol=1e-6)
    assert alone.tokens == ["1", "2", "3"]
    video = VideoClassifier(3, frame_size=8, conv_channels=2, frame_features=4, cell="rnn", hidden_size=3).eval()
    _, traces = trace_model(video, recurrent_encoder(video), torch.randn(1, 4, 1, 8, 8), torch.tensor([4]))
    assert traces[0].gate_names == [] and traces[0].get(0).h.shape == (4, 3)


def test_key_units_rank_by_the_variance_summed_over_the_shown_gates():
    T, H = 4, 6
    gates = {"f": np.zeros((T, H)), "i": np.zeros((T, H)), "o": np.ones((T, H))}
    gates["f"][:, 4] = [0, 1, 0, 1]  # variance 0.25
    gates["i"][:, 1] = [0, 0.5, 0, 0.5]  # 0.0625
    gates["f"][:, 2] = [0, 0.4, 0, 0.4]  # 0.04 in f, + 0.04 in i: 0.08, ahead of unit 1
    gates["i"][:, 2] = [0, 0.4, 0, 0.4]
    h = np.zeros((T, H))
    h[:, 5] = [-1, 1, -1, 1]  # h is not a shown gate of an LSTM: it does not count
    np.testing.assert_allclose(unit_scores(gates, h, ["f", "i", "o"]), [0, 0.0625, 0.08, 0, 0.25, 0])
    assert key_units(gates, h, ["f", "i", "o"], 3) == [4, 2, 1]
    assert key_units(gates, h, ["f", "i", "o"], 10) == [4, 2, 1, 0, 3, 5]  # all, ranked; ties in unit order
    assert key_units(gates, h, ["h"], 1) == [5]  # an Elman RNN: ranked by its hidden state
    with pytest.raises(ValueError, match="at least 1"):
        key_units(gates, h, ["h"], 0)


def test_the_trace_json_names_the_same_key_units_as_the_picture():
    torch.manual_seed(7)
    trace = trace_encoder(Recurrent("lstm", 2, 30, batch_first=True), torch.randn(1, 6, 2),
                          tokens=[list("abcdef")])[0]
    data = trace.to_dict()
    part = trace.get(0)
    assert data["shown_gates"] == ["f", "i", "o"] and "variance" in data["key_units_criterion"]
    assert data["layers"][0]["key_units"] == key_units(part.gates, part.h, ["f", "i", "o"]) and \
        len(data["layers"][0]["key_units"]) == 8
    assert len(data["layers"][0]["unit_scores"]) == 30


@pytest.mark.parametrize(("cell", "summary"), [("lstm", False), ("rnn", True)])
def test_plot_writes_a_picture(tmp_path, cell, summary):
    torch.manual_seed(7)
    trace = trace_encoder(Recurrent(cell, 2, 70, batch_first=True, bidirectional=True), torch.randn(1, 5, 2),
                          tokens=[["it", "was", "not", "bad", "."]])[0]
    path = plot_trace(trace, tmp_path / "gates.png", summary=summary)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left behind


# ------------------------------------------------------------------ trained model directories, `rnnkit inspect`

@pytest.fixture(scope="module")
def trained(reviews_csv, tmp_path_factory):
    """A tiny 2-layer bidirectional LSTM and a bag-of-words sentiment model, and a tiny word-level GRU LM."""
    root = tmp_path_factory.mktemp("inspect")
    common = ["--data", str(reviews_csv), "--text-col", "text", "--label-col", "label", "--epochs", "1",
              "--min-freq", "1", "--no-progress"]
    assert main(["train", "sentiment", *common, "--cell", "lstm", "--embed-dim", "8", "--hidden-size", "6",
                 "--layers", "2", "--bidirectional", "--out", str(root / "lstm")]) == 0
    assert main(["train", "sentiment", *common, "--model", "bow", "--out", str(root / "bow")]) == 0
    assert main(["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--cell", "gru", "--embed-dim", "8",
                 "--hidden-size", "8", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--min-freq", "1",
                 "--no-progress", "--out", str(root / "lm")]) == 0
    return root


def test_load_trace_of_a_sentiment_model(trained):
    model = rnnkit.load(trained / "lstm")
    trace = model.trace("A joyous, moving film")
    assert trace.tokens == ["a", "joyous", ",", "moving", "film"] and trace.cell == "lstm"
    assert [(p.layer, p.direction) for p in trace.layers] == [(0, "forward"), (0, "backward"), (1, "forward"),
                                                              (1, "backward")]
    both = model.trace(["dull", "A joyous, moving film"])
    np.testing.assert_allclose(both[1].get(1, "backward").gates["f"], trace.get(1, "backward").gates["f"], atol=1e-6)
    with pytest.raises(ValueError, match="trace one member"):
        SentimentEnsemble([trained / "lstm", trained / "lstm"]).trace("dull")


def test_inspect_prints_the_prediction_and_a_table_and_plots(trained, tmp_path, capsys):
    png = tmp_path / "gates.png"
    assert main(["inspect", str(trained / "lstm"), "A joyous, moving film", "--plot", str(png)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("prediction: ") and out[0].split()[1] in ("negative", "positive")
    assert "layer 1 forward" in out[1] and out[2].split() == ["token", "i", "f", "g", "o", "c", "‖h‖"]
    rows = out[3:8]
    assert [r.split()[0] for r in rows] == ["a", "joyous", ",", "moving", "film"]
    assert all(0 <= float(v) <= 1 for r in rows for v in r.split()[1:3])  # the means of sigmoid gates
    assert out[8] == f"wrote {png}" and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["inspect", str(trained / "lstm"), "dull", "--json", "--layer", "0", "--direction", "backward"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tokens"] == ["dull"] and len(data["layers"]) == 4
    assert abs(sum(data["prediction"]["probs"].values()) - 1) < 1e-6


def test_inspect_a_language_model_shows_the_next_tokens(trained, capsys):
    assert main(["inspect", str(trained / "lm"), "The network"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("next token: ") and out[1].startswith("gru, layer 0 forward")
    assert out[2].split() == ["token", "r", "z", "n", "‖h‖"] and [r.split()[0] for r in out[3:]] == ["the", "network"]


def test_inspect_refuses_what_it_cannot_trace(trained, capsys):
    assert main(["inspect", str(trained / "bow"), "dull"]) == 1
    assert "bag-of-words" in capsys.readouterr().err
    assert main(["inspect", str(trained / "lstm"), "   "]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["inspect", str(trained / "lstm"), "dull", "--layer", "5"]) == 1
    assert "no layer 5" in capsys.readouterr().err
