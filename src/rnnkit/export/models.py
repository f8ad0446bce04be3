"""Whole models as ONNX graphs: classifiers, the language model, the translator's encoder and decoder step.

Embedding, pooling, attention and heads are plain ONNX ops (Gather, MatMul, Softmax, …); every recurrent
part is one standard ``LSTM``/``GRU``/``RNN`` node per layer (:func:`rnnkit.nn.onnx.add_recurrent`).
Graphs are time-major inside (T, B, ·), batch-first at their inputs and outputs like the rnnkit models.
Dropout is the identity (inference).
"""

from __future__ import annotations

import numpy as np
import onnx
from torch import nn

from rnnkit.models.baselines import BagOfWordsClassifier
from rnnkit.models.classifier import RecurrentClassifier
from rnnkit.models.lm import LanguageModel
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.sequence_classifier import ConvFrontEnd, SequenceClassifier
from rnnkit.nn.onnx.graph import BOOL, FLOAT, INT64, Graph
from rnnkit.nn.onnx.layer import add_recurrent
from rnnkit.text import UNK


def _np(t) -> np.ndarray:  # noqa: ANN001 - a tensor or parameter
    return t.detach().to("cpu").float().numpy()


def _linear(g: Graph, x: str, lin: nn.Linear, hint: str) -> str:
    return g.linear(x, _np(lin.weight), None if lin.bias is None else _np(lin.bias), hint)


def _token_ids(g: Graph, tokens: str, rows: int, tokenizer_ids: int | None) -> str:
    """The ids of a tokenizer that gives ``tokenizer_ids`` ids, for a model that knows ``rows``: an id from
    ``rows`` up — a BPE token the model never saw in training (rnnkit.text.bpe) — reads as <unk>, as in
    rnnkit's encoder. Without such ids the tokens pass unchanged."""
    if tokenizer_ids is None or tokenizer_ids <= rows:
        return tokens
    known = g.op("Less", [tokens, g.ints("rows", rows)])
    return g.op("Where", [known, tokens, g.ints("unk", UNK)], "token_ids")


def _valid(g: Graph, lengths: str, like: str, axis: int) -> str:
    """(T, B) bool mask, True at t < lengths[b]; T is dimension ``axis`` of tensor ``like``."""
    T = g.op("Gather", [g.op("Shape", [like]), g.ints("axis", [axis])], "T")
    steps = g.op("Range", [g.ints("zero", 0), g.op("Squeeze", [T, g.ints("ax", [0])]), g.ints("one", 1)], "t")
    return g.op("Less", [g.op("Unsqueeze", [steps, g.ints("ax", [1])]),
                         g.op("Unsqueeze", [lengths, g.ints("ax", [0])])], "valid")


def _pool(g: Graph, y: str, h_n: str, lengths: str, how: str, directions: int) -> str:
    """:func:`rnnkit.models.classifier.pool` on time-major y (T, B, D*H) and h_n (L*D, B, H) → (B, ·)."""
    if how == "concat":
        parts = [_pool(g, y, h_n, lengths, k, directions) for k in ("last", "max", "mean")]
        return g.op("Concat", parts, "concat_pool", axis=1)
    if how == "last":  # the top layer's final states, directions side by side: (D, B, H) → (B, D*H)
        top = g.op("Slice", [h_n, g.ints("start", [-directions]), g.ints("end", [2 ** 62]), g.ints("axis", [0])])
        return g.op("Reshape", [g.op("Transpose", [top], perm=[1, 0, 2]), g.ints("shape", [0, -1])], "last")
    if how == "mean":
        total = g.op("ReduceSum", [y, g.ints("axes", [0])], keepdims=0)
        count = g.op("Unsqueeze", [g.op("Cast", [lengths], to=FLOAT), g.ints("ax", [1])])
        return g.op("Div", [total, count], "mean")
    if how == "max":
        mask = g.op("Unsqueeze", [_valid(g, lengths, y, 0), g.ints("ax", [2])])
        masked = g.op("Where", [mask, y, g.const("neg_inf", -np.inf)])
        return g.op("ReduceMax", [masked], "max", axes=[0], keepdims=0)
    raise ValueError(f"unknown pooling {how!r}")


def _head(g: Graph, features: str, head: nn.Linear, classes: int) -> None:
    logits = _linear(g, features, head, "head")
    g.output(logits, "logits", FLOAT, ["B", classes])
    g.output(g.op("Softmax", [logits], axis=1), "probabilities", FLOAT, ["B", classes])


def classifier_graph(model: nn.Module, *, tokenizer_ids: int | None = None) -> onnx.ModelProto:
    """tokens (B, T) int64 + lengths (B,) int64 → logits and probabilities (B, C).

    For :class:`RecurrentClassifier` and the bag-of-words baseline; padding past each length is ignored.
    ``tokenizer_ids``: how many ids the model's tokenizer gives (ids past the vocabulary read as <unk>)."""
    if isinstance(model, BagOfWordsClassifier):
        return _bag_of_words_graph(model, tokenizer_ids)
    if not isinstance(model, RecurrentClassifier):
        raise ValueError(f"classifier_graph exports a RecurrentClassifier or BagOfWordsClassifier, "
                         f"not {type(model).__name__}")
    g = Graph("rnnkit_classifier")
    tokens = g.input("tokens", INT64, ["B", "T"])
    lengths = g.input("lengths", INT64, ["B"])
    tokens = _token_ids(g, tokens, model.embedding.num_embeddings, tokenizer_ids)
    x = g.op("Gather", [g.const("embedding", _np(model.embedding.weight)), g.op("Transpose", [tokens], perm=[1, 0])],
             "embedded")  # (T, B, E)
    seq = g.op("Cast", [lengths], "lengths_i32", to=onnx.TensorProto.INT32)
    y, h_n, _ = add_recurrent(g, model.encoder, x, lengths=seq, hint="encoder")
    features = _pool(g, y, h_n, lengths, model.pooling, model.encoder.num_directions)
    _head(g, features, model.head, model.head.out_features)
    return g.model()


def _bag_of_words_graph(model: BagOfWordsClassifier, tokenizer_ids: int | None) -> onnx.ModelProto:
    """logits = Σ_t W_uni[x_t] (x_t ≠ pad) [+ Σ_t W_bi[key(x_t, x_{t+1})] over known bigrams] + b."""
    g = Graph("rnnkit_bag_of_words")
    tokens = g.input("tokens", INT64, ["B", "T"])
    lengths = g.input("lengths", INT64, ["B"])
    tokens = _token_ids(g, tokens, model.vocab_size, tokenizer_ids)
    pad = model.unigrams.padding_idx
    weights = _np(model.unigrams.weight)
    if pad is not None:
        weights[pad] = 0.0  # EmbeddingBag skips padding_idx: the same as a zero row
    rows = g.op("Gather", [g.const("unigrams", weights), tokens], "unigram_rows")  # (B, T, C)
    counts_sum = g.op("ReduceSum", [rows, g.ints("axes", [1])], keepdims=0)  # (B, C)
    logits = g.op("Add", [counts_sum, g.const("bias", _np(model.bias))])
    if model.num_bigrams:
        V = model.vocab_size
        first = g.op("Slice", [tokens, g.ints("s", [0]), g.ints("e", [-1]), g.ints("a", [1])])
        second = g.op("Slice", [tokens, g.ints("s", [1]), g.ints("e", [2 ** 62]), g.ints("a", [1])])
        keys = g.op("Add", [g.op("Mul", [first, g.ints("V", V)]), second], "keys")  # (B, T-1)
        pairs = g.op("Sub", [lengths, g.ints("one", 1)])  # pair j = (x_j, x_{j+1}) is inside when j < n - 1
        inside = g.op("Transpose", [_valid(g, pairs, second, 1)], perm=[1, 0])  # (B, T-1)
        keys = g.op("Where", [inside, keys, g.ints("minus_one", -1)])
        known = g.op("Equal", [g.op("Unsqueeze", [keys, g.ints("ax", [2])]),
                               g.const("bigram_keys", model.bigram_keys.cpu().numpy(), np.int64)])  # (B, T-1, K)
        counts = g.op("ReduceSum", [g.op("Cast", [known], to=FLOAT), g.ints("axes", [1])], keepdims=0)  # (B, K)
        bigram_weights = _np(model.bigrams.weight)[: model.num_bigrams]
        logits = g.op("Add", [logits, g.op("MatMul", [counts, g.const("bigrams", bigram_weights)])])
    _head_identity(g, logits, model.bias.shape[0])
    return g.model()


def _head_identity(g: Graph, logits: str, classes: int) -> None:
    g.output(logits, "logits", FLOAT, ["B", classes])
    g.output(g.op("Softmax", [logits], axis=1), "probabilities", FLOAT, ["B", classes])


def sequence_classifier_graph(model: SequenceClassifier) -> onnx.ModelProto:
    """features (B, T, C) float + lengths (B,) int64 → logits and probabilities (B, K) (signal classifiers)."""
    g = Graph("rnnkit_sequence_classifier")
    features = g.input("features", FLOAT, ["B", "T", model.input_size])
    lengths = g.input("lengths", INT64, ["B"])
    if isinstance(model.frontend, ConvFrontEnd):
        x, lengths = _conv_frontend(g, model.frontend, features, lengths)
    else:
        x = g.op("Transpose", [features], perm=[1, 0, 2])  # (T, B, C)
        if model.frontend is not None:
            x = g.op("Relu", [_linear(g, x, model.frontend, "frontend")])
    seq = g.op("Cast", [lengths], "lengths_i32", to=onnx.TensorProto.INT32)
    y, h_n, _ = add_recurrent(g, model.encoder, x, lengths=seq, hint="encoder")
    pooled = _pool(g, y, h_n, lengths, model.pooling, model.encoder.num_directions)
    _head(g, pooled, model.head, model.head.out_features)
    return g.model()


def _conv_frontend(g: Graph, frontend: ConvFrontEnd, features: str, lengths: str) -> tuple[str, str]:
    """ConvFrontEnd.forward: zero the padding, then per conv: new lengths, Conv1d + ReLU, zero the padding."""
    def masked(x: str, n: str) -> str:  # x (B, F, T): zero at t ≥ n[b]
        valid = g.op("Transpose", [_valid(g, n, x, 2)], perm=[1, 0])  # (B, T)
        return g.op("Mul", [x, g.op("Unsqueeze", [g.op("Cast", [valid], to=FLOAT), g.ints("ax", [1])])])

    x = masked(g.op("Transpose", [features], perm=[0, 2, 1]), lengths)  # (B, C, T)
    for conv in frontend.convs:
        stride, k = conv.stride[0], conv.kernel_size[0]
        if stride > 1:  # ceil(n / stride)
            lengths = g.op("Div", [g.op("Add", [lengths, g.ints("s1", stride - 1)]), g.ints("s", stride)])
        y = g.op("Conv", [x, g.const("conv_w", _np(conv.weight)), g.const("conv_b", _np(conv.bias))],
                 kernel_shape=[k], pads=[k // 2, k // 2], strides=[stride])
        x = masked(g.op("Relu", [y]), lengths)
    return g.op("Transpose", [x], perm=[2, 0, 1]), lengths  # (T', B, F)


def language_model_graph(model: LanguageModel, *, tokenizer_ids: int | None = None) -> onnx.ModelProto:
    """tokens (B, T) int64 + state h0 (L, B, H) [+ c0] → logits (B, T, V) + h_n [+ c_n].

    Feed the state back in to stream: T = 1 per call continues exactly where the last call stopped.
    ``tokenizer_ids``: as for :func:`classifier_graph`."""
    g = Graph("rnnkit_language_model")
    enc = model.encoder
    L, H, V = enc.num_layers, enc.hidden_size, model.decoder.out_features
    tokens = g.input("tokens", INT64, ["B", "T"])
    h0 = g.input("h0", FLOAT, [L, "B", H])
    c0 = g.input("c0", FLOAT, [L, "B", H]) if enc.cell.has_cell_state else None
    tokens = _token_ids(g, tokens, model.embedding.num_embeddings, tokenizer_ids)
    x = g.op("Gather", [g.const("embedding", _np(model.embedding.weight)), g.op("Transpose", [tokens], perm=[1, 0])])
    y, h_n, c_n = add_recurrent(g, enc, x, h0=h0, c0=c0, hint="encoder")
    y = g.op("Transpose", [y], perm=[1, 0, 2])  # (B, T, H)
    if model.projection is not None:
        y = _linear(g, y, model.projection, "projection")
    g.output(_linear(g, y, model.decoder, "decoder"), "logits", FLOAT, ["B", "T", V])
    g.output(h_n, "h_n", FLOAT, [L, "B", H])
    if c_n is not None:
        g.output(c_n, "c_n", FLOAT, [L, "B", H])
    return g.model()


def seq2seq_encoder_graph(model: Seq2Seq, *, tokenizer_ids: int | None = None) -> onnx.ModelProto:
    """src (B, S) int64 + lengths (B,) int64 → the decoder's initial state and attention memory.

    Outputs: ``h`` (L, B, H) [``c``], and with attention ``memory`` (B, S, H) (zero on padding),
    ``keys`` (B, S, A) (the memory-only part of the score) and ``mask`` (B, S) bool."""
    g = Graph("rnnkit_seq2seq_encoder")
    enc, H, L = model.encoder, model.decoder.hidden_size, model.decoder.num_layers
    src = g.input("src", INT64, ["B", "S"])
    lengths = g.input("lengths", INT64, ["B"])
    src = _token_ids(g, src, model.src_embedding.num_embeddings, tokenizer_ids)  # as for classifier_graph
    x = g.op("Gather", [g.const("src_embedding", _np(model.src_embedding.weight)), g.op("Transpose", [src],
                                                                                        perm=[1, 0])])
    seq = g.op("Cast", [lengths], "lengths_i32", to=onnx.TensorProto.INT32)
    y, h_n, c_n = add_recurrent(g, enc, x, lengths=seq, hint="encoder")
    finals = [h_n] if c_n is None else [h_n, c_n]
    if model.bridge is not None:  # (L*2, B, H/2) → (L, B, H): both directions side by side, then tanh(W_b ·)
        joined = [g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [f, g.ints("shape", [L, 2, -1, H // 2])])],
                                        perm=[0, 2, 1, 3]), g.ints("shape", [0, 0, -1])]) for f in finals]
        finals = [g.op("Tanh", [_linear(g, j, lin, "bridge")]) for j, lin in zip(joined, model.bridge, strict=True)]
    g.output(finals[0], "h", FLOAT, [L, "B", H])
    if len(finals) > 1:
        g.output(finals[1], "c", FLOAT, [L, "B", H])
    if model.attention is not None:
        memory = g.op("Transpose", [y], perm=[1, 0, 2])  # (B, S, H)
        g.output(memory, "memory", FLOAT, ["B", "S", H])
        keys = _attention_keys(g, model, memory)
        g.output(keys, "keys", FLOAT, ["B", "S", "A"])
        g.output(g.op("Transpose", [_valid(g, lengths, y, 0)], perm=[1, 0]), "mask", BOOL, ["B", "S"])
    return g.model()


def _attention_keys(g: Graph, model: Seq2Seq, memory: str) -> str:
    att = model.attention
    if att.name == "bahdanau":
        return _linear(g, memory, att.U_a, "U_a")
    if att.name == "luong-general":
        return _linear(g, memory, att.W_a, "W_a")
    return g.op("Identity", [memory], "keys")


def _attend(g: Graph, model: Seq2Seq, query: str, memory: str, keys: str, mask: str) -> tuple[str, str]:
    """context (N, H) and weights (N, S) for query (N, H): softmax of the masked scores (Luong eq. 7–8;
    Bahdanau eq. 6)."""
    att = model.attention
    if att.name == "bahdanau":  # v_aᵀ tanh(W_a q + U_a h_s)
        q = g.op("Unsqueeze", [_linear(g, query, att.W_a, "W_a"), g.ints("ax", [1])])  # (N, 1, A)
        scores = g.op("Squeeze", [_linear(g, g.op("Tanh", [g.op("Add", [q, keys])]), att.v_a, "v_a"),
                                  g.ints("ax", [2])])
    else:  # qᵀ k_s
        scores = g.op("Squeeze", [g.op("MatMul", [keys, g.op("Unsqueeze", [query, g.ints("ax", [2])])]),
                                  g.ints("ax", [2])])  # (N, S)
    weights = g.op("Softmax", [g.op("Where", [mask, scores, g.const("neg_inf", -np.inf)])], "attention", axis=1)
    context = g.op("MatMul", [g.op("Unsqueeze", [weights, g.ints("ax", [1])]), memory])  # (N, 1, H)
    return g.op("Squeeze", [context, g.ints("ax", [1])], "context"), weights


def seq2seq_decoder_graph(model: Seq2Seq) -> onnx.ModelProto:
    """One decoder step (:meth:`Seq2Seq.step`): y_prev (N,) int64, h (L, N, H) [c], memory, keys, mask →
    logits (N, V), log_probs (N, V), h_n [c_n] and, with attention, attention (N, S)."""
    g = Graph("rnnkit_seq2seq_decoder_step")
    dec, H, L = model.decoder, model.decoder.hidden_size, model.decoder.num_layers
    V = model.generator.out_features
    y_prev = g.input("y_prev", INT64, ["N"])
    h = g.input("h", FLOAT, [L, "N", H])
    c = g.input("c", FLOAT, [L, "N", H]) if dec.cell.has_cell_state else None
    att = model.attention
    if att is not None:
        memory = g.input("memory", FLOAT, ["N", "S", H])
        keys = g.input("keys", FLOAT, ["N", "S", "A"])
        mask = g.input("mask", BOOL, ["N", "S"])
    x = g.op("Gather", [g.const("tgt_embedding", _np(model.tgt_embedding.weight)), y_prev])  # (N, E)
    context = weights = None
    if att is not None and att.feeds_input:  # Bahdanau: query s_{t-1} of the top layer, context joins the input
        top = g.op("Squeeze", [g.op("Slice", [h, g.ints("s", [L - 1]), g.ints("e", [L]), g.ints("a", [0])]),
                               g.ints("ax", [0])])
        context, weights = _attend(g, model, top, memory, keys, mask)
        x = g.op("Concat", [x, context], axis=1)
    y, h_n, c_n = add_recurrent(g, dec, g.op("Unsqueeze", [x, g.ints("ax", [0])]), h0=h, c0=c, hint="decoder")
    out = g.op("Squeeze", [y, g.ints("ax", [0])], "s_t")  # (N, H)
    if att is not None and not att.feeds_input:  # Luong: query s_t
        context, weights = _attend(g, model, out, memory, keys, mask)
    if context is not None:  # o_t = tanh(W_c [c_t ; s_t])
        out = g.op("Tanh", [_linear(g, g.op("Concat", [context, out], axis=1), model.combine, "combine")])
    logits = _linear(g, out, model.generator, "generator")
    g.output(logits, "logits", FLOAT, ["N", V])
    g.output(g.op("LogSoftmax", [logits], axis=1), "log_probs", FLOAT, ["N", V])
    g.output(h_n, "h_n", FLOAT, [L, "N", H])
    if c_n is not None:
        g.output(c_n, "c_n", FLOAT, [L, "N", H])
    if weights is not None:
        g.output(weights, "attention", FLOAT, ["N", "S"])
    return g.model()
