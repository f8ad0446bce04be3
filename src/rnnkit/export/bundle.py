"""Export a trained model directory to ONNX: the graph(s), their JSON description and the tokenizer.

    rnnkit export DIR --format onnx [--out FILE]          (FILE defaults to DIR/model.onnx)

Every file an export writes is named after FILE (STEM is FILE without ``.onnx``), so exports into one
folder never share a file and one never reads another's:

    FILE                       the graph (a translator: STEM.encoder.onnx and STEM.decoder.onnx)
    FILE.json                  every input and output with its shape, the opset, the labels, and the text:
                               which tokenizer file, the vocabulary size, max_len, <bos>/<eos>
    STEM.tokenizer.json        the model's tokenizer, a Hugging Face ``tokenizers`` file whose ids are the
                               graph's token ids (a translator: STEM.src.tokenizer.json, STEM.tgt.tokenizer.json)

so a deployer needs neither Python's rnnkit nor torch: ``Tokenizer.from_file(...).encode(text).ids`` is
what the graph reads. A model directory written before rnnkit saved its tokenizer as one pipeline gets the
file here (built in memory from its vocabulary; the directory itself is not written to).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from rnnkit.export.models import (
    classifier_graph,
    language_model_graph,
    seq2seq_decoder_graph,
    seq2seq_encoder_graph,
    sequence_classifier_graph,
)
from rnnkit.files import atomic_write
from rnnkit.models import (
    BagOfWordsClassifier,
    LanguageModel,
    RecurrentClassifier,
    Seq2Seq,
    SequenceClassifier,
)
from rnnkit.nn.onnx.graph import OPSET, io_spec, save_model, sidecar_path
from rnnkit.text import TextEncoder
from rnnkit.train.checkpoint import EXPORTED_TOKENIZER, build_checked, load_weights, read_config

FORMATS = ("onnx",)
TOKEN_IDS = "rnnkit.token_ids"  # graph metadata: token ids a graph's int64 token input accepts, 0 … N-1


def _write_tokenizer(encoder: TextEncoder, out: Path, side: str = "") -> dict[str, Any]:
    """Write ``encoder``'s pipeline as STEM[.side].tokenizer.json beside ``out``; return the sidecar's text
    section (the file's name, relative to the sidecar, and the encoder's settings)."""
    stem = out.name[: -len(".onnx")]
    name = f"{stem}.{side}{EXPORTED_TOKENIZER}" if side else f"{stem}{EXPORTED_TOKENIZER}"
    section = encoder.save(out.parent, name)
    section["tokenizer_ids"] = encoder.num_ids
    section["empty"] = "a text that is empty or whitespace only has no tokens: rnnkit refuses it"
    return section


def _accepts(graph: onnx.ModelProto, ids: int) -> onnx.ModelProto:
    """Record in the graph how many token ids its token input accepts (rnnkit.export.runtime checks it)."""
    onnx.helper.set_model_props(graph, {TOKEN_IDS: str(ids)})
    return graph


def export_directory(directory: str | Path, out: str | Path | None = None, *, format: str = "onnx") -> list[Path]:
    """Export the model in ``directory`` (any task whose model has an ONNX form); returns the files written."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; valid formats: {', '.join(FORMATS)}")
    directory = Path(directory)
    config = read_config(directory)
    model = build_checked(config["model"], directory)
    load_weights(model, directory)
    model.eval()
    out = Path(out) if out is not None else directory / "model.onnx"
    if out.suffix != ".onnx":
        raise ValueError(f"--out must name an .onnx file, got {out}")
    meta: dict[str, Any] = {"task": config.get("task"), "model": config["model"]["class"]}
    if "labels" in config:
        meta["labels"] = config["labels"]
    if isinstance(model, Seq2Seq):
        return _export_translator(model, config, directory, out, meta)
    encoder = None
    if isinstance(model, (RecurrentClassifier, BagOfWordsClassifier)):
        encoder = TextEncoder.from_config(config["text"], directory)
        graph = _accepts(classifier_graph(model, tokenizer_ids=encoder.num_ids), encoder.num_ids)
        meta["usage"] = "tokens (B, T) int64 padded with 0 + lengths (B,) int64 -> probabilities (B, C) over labels"
    elif isinstance(model, SequenceClassifier):
        graph = sequence_classifier_graph(model)
        meta["features"] = config.get("features")
        meta["usage"] = ("features (B, T, C) float32, standardised as features.standardizer says, + lengths (B,) "
                         "int64 -> probabilities (B, K) over labels")
    elif isinstance(model, LanguageModel):
        encoder = TextEncoder.from_config(config["text"], directory)
        graph = _accepts(language_model_graph(model, tokenizer_ids=encoder.num_ids), encoder.num_ids)
        meta["level"] = config.get("level")
        meta["usage"] = ("tokens (B, T) int64 + state h0 (and c0) (L, B, H), zeros to start -> logits (B, T, V) "
                         "+ h_n (and c_n): feed the state back to stream one token at a time")
    else:
        raise ValueError(f"{directory} holds a {type(model).__name__} ({config.get('task')!r} task), which has no "
                         "ONNX export; exportable: sentiment/signal classifiers, language models, translators")
    written = []
    if encoder is not None:
        meta["text"] = _write_tokenizer(encoder, out)
        written.append(out.parent / meta["text"]["tokenizer_file"])
    save_model(graph, out, meta)
    return [out, sidecar_path(out), *written]


def _export_translator(model: Seq2Seq, config: dict[str, Any], directory: Path, out: Path,
                       meta: dict[str, Any]) -> list[Path]:
    stem = out.with_suffix("")
    paths = {"encoder": stem.with_name(stem.name + ".encoder.onnx"),
             "decoder": stem.with_name(stem.name + ".decoder.onnx")}
    encoders = {side: TextEncoder.from_config(config["text"][side], directory / side) for side in ("src", "tgt")}
    src_ids = encoders["src"].num_ids
    graphs = {"encoder": _accepts(seq2seq_encoder_graph(model, tokenizer_ids=src_ids), src_ids),
              # y_prev: <bos> or a token the decoder wrote itself, so an id of the target vocabulary
              "decoder": _accepts(seq2seq_decoder_graph(model), model.tgt_embedding.num_embeddings)}
    text = {side: _write_tokenizer(encoder, out, side) for side, encoder in encoders.items()}
    written = []
    for part, path in paths.items():
        data = graphs[part].SerializeToString()
        atomic_write(path, lambda tmp, d=data: tmp.write_bytes(d))
        written.append(path)
    options = config.get("options", {})
    sidecar = {"format": "rnnkit-onnx", "opset": OPSET, **meta,
               "graphs": {part: {"file": path.name, **io_spec(graphs[part])} for part, path in paths.items()},
               "text": text,
               "decoding": {"bos": 2, "eos": 3, "max_len_a": 1.5, "max_len_b": 5.0,
                            "beam": options.get("beam", 1), "length_penalty": options.get("length_penalty", 1.0)},
               "usage": "encoder(src, lengths) -> h [c] memory keys mask; decoder(y_prev, h [c], memory, keys, "
                        "mask) -> log_probs, h_n [c_n]: start with y_prev = <bos> (2), stop at <eos> (3); "
                        "rnnkit.export.runtime.OnnxTranslator is a reference loop"}
    description = json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
    atomic_write(sidecar_path(out), lambda tmp: tmp.write_text(description, encoding="utf-8"))
    tokenizers = [out.parent / section["tokenizer_file"] for section in text.values()]
    return [*written, sidecar_path(out), *tokenizers]
