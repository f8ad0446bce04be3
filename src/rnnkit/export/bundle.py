"""Export a trained model directory to ONNX: the graph(s), their JSON description and the text files.

    rnnkit export DIR --format onnx [--out FILE]          (FILE defaults to DIR/model.onnx)

writes, for a classifier or a language model, ``FILE`` and ``FILE.json``; for a translator, the encoder
and the decoder step as ``FILE``'s stem + ``.encoder.onnx`` / ``.decoder.onnx`` and ``FILE.json``
describing both. The JSON names every input and output with its shape, the opset, the labels, and the
vocabulary and tokenizer files (copied next to FILE when it is written outside DIR), so a deployer needs
neither Python's rnnkit nor torch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

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
    build_model,
)
from rnnkit.nn.onnx.graph import OPSET, io_spec, save_model, sidecar_path
from rnnkit.train.checkpoint import ModelDirError, load_weights, read_config

FORMATS = ("onnx",)


def _text_files(text: dict[str, Any], source: Path, target: Path, prefix: str = "") -> dict[str, Any]:
    """Copy the vocabulary and tokenizer files an encoder config names; return their names beside FILE."""
    files = {"vocab_file": text["vocab_file"]}
    tokenizer = text.get("tokenizer", {})
    if tokenizer.get("file"):  # BPE: a Hugging Face tokenizer.json (older directories: rnnkit's own wrapper)
        files["tokenizer_file"] = tokenizer["file"]
    out = {}
    for key, name in files.items():
        dest = prefix + name
        src_path = source / name
        if not src_path.exists():
            raise ModelDirError(f"{src_path} is missing: the model directory is incomplete")
        if src_path.resolve() != (target / dest).resolve():
            (target / dest).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target / dest, lambda tmp, s=src_path: shutil.copyfile(s, tmp))
        out[key] = dest
    return {**out, "tokenizer": tokenizer, "max_len": text.get("max_len"), "add_bos": text.get("add_bos"),
            "add_eos": text.get("add_eos")}


def export_directory(directory: str | Path, out: str | Path | None = None, *, format: str = "onnx") -> list[Path]:
    """Export the model in ``directory`` (any task whose model has an ONNX form); returns the files written."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; valid formats: {', '.join(FORMATS)}")
    directory = Path(directory)
    config = read_config(directory)
    model = build_model(config["model"])
    load_weights(model, directory)
    model.eval()
    out = Path(out) if out is not None else directory / "model.onnx"
    if out.suffix != ".onnx":
        raise ValueError(f"--out must name an .onnx file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"task": config.get("task"), "model": config["model"]["class"]}
    if "labels" in config:
        meta["labels"] = config["labels"]
    if isinstance(model, Seq2Seq):
        return _export_translator(model, config, directory, out, meta)
    if isinstance(model, (RecurrentClassifier, BagOfWordsClassifier)):
        graph = classifier_graph(model)
        meta["text"] = _text_files(config["text"], directory, out.parent)
        meta["usage"] = "tokens (B, T) int64 padded with 0 + lengths (B,) int64 -> probabilities (B, C) over labels"
    elif isinstance(model, SequenceClassifier):
        graph = sequence_classifier_graph(model)
        meta["features"] = config.get("features")
        meta["usage"] = ("features (B, T, C) float32, standardised as features.standardizer says, + lengths (B,) "
                         "int64 -> probabilities (B, K) over labels")
    elif isinstance(model, LanguageModel):
        graph = language_model_graph(model)
        meta["text"] = _text_files(config["text"], directory, out.parent)
        meta["level"] = config.get("level")
        meta["usage"] = ("tokens (B, T) int64 + state h0 (and c0) (L, B, H), zeros to start -> logits (B, T, V) "
                         "+ h_n (and c_n): feed the state back to stream one token at a time")
    else:
        raise ValueError(f"{directory} holds a {type(model).__name__} ({config.get('task')!r} task), which has no "
                         "ONNX export; exportable: sentiment/signal classifiers, language models, translators")
    save_model(graph, out, meta)
    return [out, sidecar_path(out)]


def _export_translator(model: Seq2Seq, config: dict[str, Any], directory: Path, out: Path,
                       meta: dict[str, Any]) -> list[Path]:
    stem = out.with_suffix("")
    paths = {"encoder": stem.with_name(stem.name + ".encoder.onnx"),
             "decoder": stem.with_name(stem.name + ".decoder.onnx")}
    graphs = {"encoder": seq2seq_encoder_graph(model), "decoder": seq2seq_decoder_graph(model)}
    written = []
    for part, path in paths.items():
        data = graphs[part].SerializeToString()
        atomic_write(path, lambda tmp, d=data: tmp.write_bytes(d))
        written.append(path)
    options = config.get("options", {})
    sidecar = {"format": "rnnkit-onnx", "opset": OPSET, **meta,
               "graphs": {part: {"file": path.name, **io_spec(graphs[part])} for part, path in paths.items()},
               "text": {side: _text_files(config["text"][side], directory / side, out.parent, prefix=f"{side}/")
                        for side in ("src", "tgt")},
               "decoding": {"bos": 2, "eos": 3, "max_len_a": 1.5, "max_len_b": 5.0,
                            "beam": options.get("beam", 1), "length_penalty": options.get("length_penalty", 1.0)},
               "usage": "encoder(src, lengths) -> h [c] memory keys mask; decoder(y_prev, h [c], memory, keys, "
                        "mask) -> log_probs, h_n [c_n]: start with y_prev = <bos> (2), stop at <eos> (3); "
                        "rnnkit.export.runtime.OnnxTranslator is a reference loop"}
    text = json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
    atomic_write(sidecar_path(out), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return [*written, sidecar_path(out)]
