"""The bad-input sweep (issue 19): every verb of ``rnnkit`` fed inputs it must refuse or handle.

Each case is an argv (placeholders below), optional stdin bytes and files written into the case's own
folder, and what must happen: ``error`` (exit code != 0, the last stderr line starts ``rnnkit VERB`` and
says ``error:``, the other lines are argparse's usage or warnings, no traceback) or ``ok`` (exit 0,
optionally checked further). Every case runs with its own folder as the working directory, and the
shared model directories, the data and a sentinel "user folder" must be unchanged afterwards.

Outcomes, counted and printed when the module's tests are done (:func:`sweep_counts`): clear (an error as
due), handled (exit 0 as due), unclear (an error, but not one ``rnnkit VERB: error:`` line), traceback,
silent (exit 0 where an error is due, or a handled case that printed the wrong thing), lost (a file outside
the case folder changed), hang (more than :data:`LIMIT_S` seconds, or more than :data:`MEMORY_BYTES` of new
memory). With ``RNNKIT_SWEEP_JSON=path`` the counts and every case's outcome are also written to that file.

Placeholders: {S} a tiny sentiment GRU, {L} a tiny word LM, {T} a tiny translator, {C} a tiny speech-ctc
model, {D} the reviews CSV, {U} the sentinel user folder, {tmp} the case's folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli import main

LIMIT_S = 30
MEMORY_BYTES = 3 << 30  # a case may grow the process by this much; more is a memory blow-up ("hang")
FIXTURES = Path(__file__).parent / "fixtures"
HAS_SERVER = all(importlib.util.find_spec(name) is not None for name in ("fastapi", "uvicorn", "multipart"))
OUTCOMES = ("clear", "handled", "unclear", "traceback", "silent", "lost", "hang")
RESULTS: dict[str, str] = {}


class Hang(BaseException):
    """Raised by the alarm: a case ran past LIMIT_S (BaseException, so rnnkit's handlers cannot catch it)."""


class Served(BaseException):
    """Raised instead of starting the HTTP server: ``rnnkit serve`` accepted its arguments."""


def _no_server(*args, **kwargs) -> None:
    raise Served()


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str = "error"  # "error" or "ok"
    stdin: bytes | None = None
    setup: Callable[[Path, dict[str, Path]], None] | None = None
    says: str = ""  # the error (or, for "ok", stderr) must contain this
    check: Callable[[str, str], bool] | None = None  # extra check of (stdout, stderr) for an "ok" case
    xfail: str = ""  # a known defect outside this sweep's fixes: the owner's area


def case(id: str, argv: str | list[str], expect: str = "error", **kw) -> Case:
    return Case(id, tuple(argv.split() if isinstance(argv, str) else argv), expect, **kw)


# ----------------------------------------------------------------------------------------------- setups
def _write(name: str, content: str | bytes) -> Callable[[Path, dict[str, Path]], None]:
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp / name).write_bytes(data)
    return setup


def _wav(name: str, samples: np.ndarray, rate: int = 16_000) -> Callable[[Path, dict[str, Path]], None]:
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        import soundfile as sf

        sf.write(tmp / name, samples, rate, subtype="FLOAT" if samples.dtype.kind == "f" else "PCM_16")
    return setup


def _copy_model(key: str, edit: Callable[[Path], None]) -> Callable[[Path, dict[str, Path]], None]:
    """Copy model ``key`` to {tmp}/m and damage it with ``edit``."""
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        import shutil

        shutil.copytree(models[key], tmp / "m")
        edit(tmp / "m")
    return setup


def _edit_config(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        config = json.loads((d / "config.json").read_text())
        change(config)
        (d / "config.json").write_text(json.dumps(config))
    return edit


def _nan_weights(d: Path) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(d / "model.safetensors")
    save_file({k: torch.full_like(v, math.nan) if v.is_floating_point() else v for k, v in weights.items()},
              d / "model.safetensors")


def _flip_byte(d: Path) -> None:
    data = bytearray((d / "model.safetensors").read_bytes())
    data[-3] ^= 0x40
    (d / "model.safetensors").write_bytes(bytes(data))


def _truncate(name: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])
    return edit


def _remove(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).unlink()


def _json_lines(out: str, err: str) -> bool:
    lines = out.rstrip("\n").split("\n")  # JSON Lines: "\n" only (a U+2028 inside a string is valid JSON)
    return bool(out) and all(isinstance(json.loads(line), dict) for line in lines)


def _lines(n: int) -> Callable[[str, str], bool]:
    return lambda out, err: len(out.splitlines()) == n


def _csv(rows: list[tuple[str, str]]) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


GOOD_ROWS = [(f"a fine {w} film", "positive") for w in "abcdefghij"] + \
            [(f"a dull {w} film", "negative") for w in "abcdefghij"]
SENT = ["train", "sentiment", "--data", "{D}", "--text-col", "review", "--label-col", "sentiment", "--cell", "gru",
        "--embed-dim", "4", "--hidden-size", "4", "--epochs", "1", "--min-freq", "1", "--no-progress"]
OWN = ["train", "sentiment", "--data", "{tmp}/own.csv", "--epochs", "1", "--min-freq", "1", "--no-progress",
       "--model", "bow", "--out", "{tmp}/out"]
LM = ["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--cell", "gru", "--embed-dim", "4",
      "--hidden-size", "4", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--no-progress"]
MT = ["train", "translate", "--data", str(FIXTURES / "translation" / "fra.txt"), "--epochs", "1", "--no-progress",
      "--embed-dim", "4", "--hidden-size", "4", "--src-bpe", "100", "--tgt-bpe", "100", "--batch-size", "8"]
WAV_OK = np.sin(np.linspace(0, 400, 8000)).astype("float32") * 0.3
NOT_UTF8 = b"a fine film\n\xff\xfe broken \xc3\x28 line\ndull\n"


def _cases() -> list[Case]:
    c: list[Case] = []
    # ---------------------------------------------------------------- train: numeric options out of range
    for flag, value in [("--clip-norm", "-1"), ("--warmup", "-1"), ("--warmup", "2"), ("--weight-decay", "-1"),
                        ("--lr", "0"), ("--lr", "nan"), ("--lr", "-0.1"), ("--lr", "inf"), ("--epochs", "0"),
                        ("--epochs", "-1"), ("--batch-size", "0"), ("--dropout", "1.5"), ("--dropout", "-0.1"),
                        ("--embed-dropout", "nan"), ("--hidden-size", "0"), ("--embed-dim", "-1"), ("--layers", "0"),
                        ("--patience", "-1"), ("--max-minutes", "-1"), ("--checkpoint-every-s", "-5"),
                        ("--eval-every", "-1"), ("--log-every", "0"), ("--lr-decay", "0"), ("--max-len", "0"),
                        ("--min-freq", "0"), ("--schedule", "bogus"), ("--log", "bogus"), ("--epochs", "1.5"),
                        ("--hidden-size", "x"), ("--pooling", "sum"), ("--cell", "transformer"),
                        ("--max-minutes", "nan")]:
        c.append(case(f"train-sentiment{flag}={value}", [*SENT, flag, value, "--out", "{tmp}/out"],
                      says=flag.lstrip("-").split("-")[0]))
    for device in ("tpu", "mps", "meta", "cuda:9", "cpu:x", "gpu"):
        c.append(case(f"train-sentiment--device={device}", [*SENT, "--device", device, "--out", "{tmp}/out"],
                      says="cpu"))
    if not torch.cuda.is_available():
        c.append(case("train-sentiment--device=cuda", [*SENT, "--device", "cuda", "--out", "{tmp}/out"], says="cpu"))
    c += [
        case("train-sentiment--min-freq-huge", [*SENT, "--min-freq", "1000000", "--out", "{tmp}/out"],
             says="--min-freq"),
        case("train-sentiment-data-missing", [*SENT[:2], "--data", "{tmp}/nope.csv", "--out", "{tmp}/out"],
             says="nope.csv"),
        case("train-sentiment-data-unknown-name", [*SENT[:2], "--data", "no-such-corpus", "--out", "{tmp}/out"]),
        case("train-sentiment-data-empty-file", [*SENT[:2], "--data", "{tmp}/e.csv", "--out", "{tmp}/out"],
             setup=_write("e.csv", b"")),
        case("train-sentiment-data-header-only", [*SENT[:2], "--data", "{tmp}/h.csv", "--out", "{tmp}/out"],
             setup=_write("h.csv", b"text,label\n")),
        case("train-sentiment-data-a-folder", [*SENT[:2], "--data", "{tmp}", "--out", "{tmp}/out"]),
        case("train-sentiment-text-col-missing", [*SENT[:2], "--data", "{D}", "--text-col", "nope", "--out",
                                                  "{tmp}/out"], says="nope"),
        case("train-sentiment-val-missing", [*OWN, "--val", "{tmp}/none.csv"],
             setup=_write("own.csv", _csv(GOOD_ROWS))),
        case("train-sentiment-one-class", OWN, setup=_write("own.csv", _csv([(r[0], "positive") for r in GOOD_ROWS]))),
        case("train-sentiment-list-labels", [*OWN[:3], "{tmp}/own.jsonl", *OWN[4:]],
             setup=_write("own.jsonl", "".join(json.dumps({"text": t, "label": [lab]}) + "\n"
                                               for t, lab in GOOD_ROWS))),
        case("train-sentiment-latin1-csv", OWN,
             setup=_write("own.csv", _csv(GOOD_ROWS).replace(b"fine", "fin\xe9".encode("latin-1"))),
             says="own.csv"),
        case("train-sentiment-huge-field", OWN,
             setup=_write("own.csv", _csv([*GOOD_ROWS, ("x " * 100_000, "negative")])),
             expect="ok"),
        case("train-sentiment-out-is-a-file", [*SENT, "--out", "{tmp}/f"], setup=_write("f", "keep"), says="f"),
        case("train-sentiment-out-user-folder", [*SENT, "--out", "{U}"]),
        case("train-sentiment-resume-missing", [*SENT[:2], "--resume", "{tmp}/none"]),
        case("train-sentiment-resume-user-folder", [*SENT[:2], "--resume", "{U}"]),
        case("train-sentiment-resume-changed-lr", [*SENT[:2], "--resume", "{S}", "--lr", "0.1"], says="--lr"),
        case("train-sentiment-resume-lm-dir", [*SENT[:2], "--resume", "{L}"]),
        case("train-sentiment-init-from-sentiment", [*SENT, "--init-from", "{S}", "--out", "{tmp}/out"]),
        case("train-sentiment-init-from-missing", [*SENT, "--init-from", "{tmp}/none", "--out", "{tmp}/out"]),
        case("train-unknown-task", "train bogus"),
        case("train-sentiment-unknown-flag", [*SENT, "--bogus", "1"]),
        case("train-lm-bptt-0", [*LM, "--bptt", "0", "--out", "{tmp}/out"], says="bptt"),
        case("train-lm-min-freq-huge", [*LM, "--min-freq", "100000", "--out", "{tmp}/out"], says="--min-freq"),
        case("train-lm-data-missing", [*LM[:2], "--data", "{tmp}/none.txt", "--out", "{tmp}/out"]),
        case("train-lm-data-empty", [*LM[:2], "--data", "{tmp}/e.txt", "--out", "{tmp}/out"],
             setup=_write("e.txt", "")),
        case("train-lm-data-not-utf8", [*LM[:2], "--data", "{tmp}/b.txt", "--tokenizer", "char", "--out", "{tmp}/out"],
             setup=_write("b.txt", b"\xff\xfe\x00bad" * 100), says="b.txt"),
        case("train-lm-tokenizer-bogus", [*LM, "--tokenizer", "bpe-x", "--out", "{tmp}/out"]),
        case("train-translate-src-bpe-0", [*MT, "--src-bpe", "0", "--out", "{tmp}/out"], says="bpe"),
        case("train-translate-beam-0", [*MT, "--beam", "0", "--out", "{tmp}/out"], says="beam"),
        case("train-translate-data-missing", [*MT[:2], "--data", "{tmp}/none.txt", "--out", "{tmp}/out"]),
        case("train-speech-digits-data-missing", "train speech-digits --data {tmp}/none.npz --out {tmp}/out"),
        case("train-activity-data-missing", "train activity --data {tmp}/none --out {tmp}/out"),
        case("train-video-frames-0", "train video --frames 0 --out {tmp}/out", says="frames"),
        case("train-video-clips-negative", "train video --train-clips -5 --out {tmp}/out", says="clips"),
        case("train-speech-ctc-no-manifest", "train speech-ctc --data {tmp} --out {tmp}/out", says="manifest"),
        case("train-speech-ctc-bad-manifest", "train speech-ctc --data {tmp} --out {tmp}/out",
             setup=_write("manifest.jsonl", '{"audio": "a.wav"}\nnot json\n')),
    ]
    # ---------------------------------------------------------------- evaluate
    c += [
        case("evaluate-missing-dir", "evaluate {tmp}/none"),
        case("evaluate-a-file", "evaluate {tmp}/f", setup=_write("f", "x")),
        case("evaluate-empty-dir", "evaluate {tmp}"),
        case("evaluate-user-folder", "evaluate {U}"),
        case("evaluate-config-not-json", "evaluate {tmp}/m", setup=_copy_model("S", lambda d: (d / "config.json")
                                                                             .write_text("{not json"))),
        case("evaluate-config-a-list", "evaluate {tmp}/m", setup=_copy_model("S", lambda d: (d / "config.json")
                                                                           .write_text("[1, 2]"))),
        case("evaluate-config-version-string", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c.update(format_version="1")))),
        case("evaluate-config-no-model", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c.pop("model")))),
        case("evaluate-config-no-labels", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c.pop("labels")))),
        case("evaluate-config-vocab-size-string", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c["model"]["kwargs"].update(vocab_size="x")))),
        case("evaluate-config-extra-kwarg", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c["model"]["kwargs"].update(bogus=1)))),
        case("evaluate-config-unknown-task", "evaluate {tmp}/m",
             setup=_copy_model("S", _edit_config(lambda c: c.update(task="nope")))),
        case("evaluate-nan-weights", "evaluate {tmp}/m --no-verify", setup=_copy_model("S", _nan_weights)),
        case("evaluate-flipped-weight-byte", "evaluate {tmp}/m", setup=_copy_model("S", _flip_byte)),
        case("evaluate-truncated-weights", "evaluate {tmp}/m --no-verify",
             setup=_copy_model("S", _truncate("model.safetensors"))),
        case("evaluate-no-weights", "evaluate {tmp}/m", setup=_copy_model("S", _remove("model.safetensors"))),
        case("evaluate-truncated-checkpoint-resume", [*SENT[:2], "--resume", "{tmp}/m"],
             setup=_copy_model("S", _truncate("checkpoint.pt"))),
        case("evaluate-split-bogus", "evaluate {S} --split dev"),
        case("evaluate-beam-0", "evaluate {T} --beam 0", says="beam"),
        case("evaluate-beam-negative", "evaluate {T} --beam -3", says="beam"),
        case("evaluate-ensemble-lm", "evaluate {L} --ensemble {S}", says="ensemble"),
        case("evaluate-ensemble-missing", "evaluate {S} --ensemble {tmp}/none"),
        case("evaluate-data-missing", "evaluate {S} --data {tmp}/none.csv"),
        case("evaluate-translate-train-split", "evaluate {T} --split train", says="split"),
        case("evaluate-ok", "evaluate {S} --json", expect="ok", check=lambda out, err: "accuracy" in json.loads(out)),
    ]
    # ---------------------------------------------------------------- predict
    c += [
        case("predict-missing-dir", "predict {tmp}/none hello"),
        case("predict-lm-dir", "predict {L} hello", says="predict"),
        case("predict-translate-dir", "predict {T} bonjour", says="predict"),
        case("predict-empty-stdin", "predict {S}", stdin=b"", says="stdin"),
        case("predict-stdin-only-blank", "predict {S}", stdin=b"\n\n", says="blank"),
        case("predict-stdin-blank-line", "predict {S}", stdin=b"a fine film\n\ndull\n", expect="ok", says="line 2",
             check=_lines(2)),
        case("predict-stdin-crlf", "predict {S} --json", stdin=b"a fine film\r\ndull\r\n", expect="ok",
             check=lambda out, err: [json.loads(x)["text"] for x in out.splitlines()] == ["a fine film", "dull"]),
        case("predict-stdin-not-utf8", "predict {S}", stdin=NOT_UTF8, says="line 2"),
        case("predict-stdin-not-utf8-replace", "predict {S} --errors replace --json", stdin=NOT_UTF8, expect="ok",
             says="line 2", check=lambda out, err: _json_lines(out, err) and len(out.splitlines()) == 3),
        case("predict-stdin-bom", "predict {S} --json", stdin=b"\xef\xbb\xbfa fine film\n", expect="ok",
             check=lambda out, err: json.loads(out)["text"] == "a fine film"),
        case("predict-argv-not-utf8", ["predict", "{S}", "--json", "ok", "bad \udcff\udcfe"], says="2"),
        case("predict-argv-blank", ["predict", "{S}", "a fine film", "  "], says="input 2"),
        case("predict-json-unicode", ["predict", "{S}", "--json", "emoji 😀 \u2028 nul \x00 rtl \u202e", "ok"],
             expect="ok", check=_json_lines),
        case("predict-too-long", ["predict", "{S}", "word " * 20_000], says="10000"),
        case("predict-stdin-too-long-line", "predict {S}", stdin=b"a fine film\n" + b"w " * 20_000 + b"\n",
             says="line 2"),
        case("predict-ensemble-missing", "predict {S} --ensemble {tmp}/none hello"),
        case("predict-ensemble-lm", "predict {S} --ensemble {L} hello"),
        case("predict-ensemble-on-lm", "predict {L} --ensemble {S} hello", says="ensemble"),
        case("predict-unknown-flag", "predict {S} --bogus hello"),
        case("predict-nan-weights", "predict {tmp}/m --no-verify hello", setup=_copy_model("S", _nan_weights)),
        case("predict-shuffled-vocab", "predict {tmp}/m hello",
             setup=_copy_model("S", lambda d: _shuffle_vocab(d))),
        case("predict-vocab-outside", "predict {tmp}/m hello",
             setup=_copy_model("S", _edit_config(lambda c: c.update(vocab_file="../../etc/passwd")))),
        case("predict-wrong-label-count", "predict {tmp}/m --no-verify hello",
             setup=_copy_model("S", _edit_config(lambda c: c.update(labels=["a", "b", "c", "d", "e"])))),
        case("predict-ok", "predict {S} --json 'a fine film'", expect="ok", check=_json_lines),
        case("predict-nothing-trained", "predict {tmp}/m hello",
             setup=_copy_model("S", lambda d: [(d / n).unlink() for n in ("model.safetensors", "checkpoint.pt")])),
        case("predict-errors-bogus", "predict {S} --errors ignore hello"),
        case("predict-argv-not-utf8-replace", ["predict", "{S}", "--errors", "replace", "--json", "bad \udcff"],
             expect="ok", says="input 1", check=_json_lines),
        case("predict-signal-model-needs-files", "predict {tmp}/none.npy"),
        case("train-sentiment-resume-malformed-checkpoint", [*SENT[:2], "--resume", "{tmp}/m"],
             setup=_copy_model("S", lambda d: torch.save({"model": {}, "counters": {"batch": "x"}},
                                                         d / "checkpoint.pt"))),
        case("generate-prompt-nul", ["generate", "{L}", "--prompt", "a\x00b", "--length", "2", "--seed", "1"],
             expect="ok"),
        case("inspect-layer-not-a-number", "inspect {S} hello --layer top"),
    ]
    # ---------------------------------------------------------------- generate
    for flag, value in [("--top-k", "-2"), ("--top-k", "0"), ("--temperature", "0"), ("--temperature", "-1"),
                        ("--temperature", "nan"), ("--temperature", "inf"), ("--length", "-5"),
                        ("--length", "100000000"), ("--length", "x"), ("--seed", "x")]:
        c.append(case(f"generate{flag}={value}", ["generate", "{L}", flag, value], says=flag))
    c += [
        case("generate-sentiment-dir", "generate {S}", says="generate"),
        case("generate-missing-dir", "generate {tmp}/none"),
        case("generate-prompt-not-utf8", ["generate", "{L}", "--prompt", "the \udcff", "--length", "3"], says="prompt"),
        case("generate-prompt-too-long", ["generate", "{L}", "--prompt", "the " * 20_000, "--length", "3"],
             says="10000"),
        case("generate-length-0", "generate {L} --length 0 --seed 1", says="--length"),
        case("generate-seed-negative", "generate {L} --length 3 --seed -1", expect="ok"),
        case("generate-unknown-prompt", ["generate", "{L}", "--prompt", "zzqx ☃", "--length", "3", "--seed", "1"],
             expect="ok"),
        case("generate-nan-weights", "generate {tmp}/m --no-verify", setup=_copy_model("L", _nan_weights)),
    ]
    # ---------------------------------------------------------------- translate
    c += [
        case("translate-empty-stdin", "translate {T}", stdin=b"", says="stdin"),
        case("translate-stdin-blank-line", "translate {T}", stdin=b"bonjour\n\nmerci\n", expect="ok", says="line 2",
             check=_lines(2)),
        case("translate-stdin-not-utf8", "translate {T}", stdin=NOT_UTF8, says="line 2"),
        case("translate-stdin-not-utf8-replace", "translate {T} --errors replace --json", stdin=NOT_UTF8, expect="ok",
             says="line 2", check=_json_lines),
        case("translate-argv-not-utf8", ["translate", "{T}", "--json", "bonjour \udcff"], says="1"),
        case("translate-json-unicode", ["translate", "{T}", "--json", "été 😀 \x00 \u2028"], expect="ok",
             check=_json_lines),
        case("translate-too-long", ["translate", "{T}", "mot " * 1000], says="400"),
        case("translate-stdin-too-long-line", "translate {T}", stdin=b"bonjour\n" + b"mot " * 1000 + b"\n",
             says="line 2"),
        case("translate-beam-0", "translate {T} --beam 0 bonjour", says="beam"),
        case("translate-beam-negative", "translate {T} --beam -3 bonjour", says="beam"),
        case("translate-beam-huge", "translate {T} --beam 100000000 bonjour", says="beam"),
        case("translate-sentiment-dir", "translate {S} bonjour", says="translate"),
        case("translate-blank-argument", ["translate", "{T}", " "], says="1"),
        case("translate-plot-into-a-file", "translate {T} bonjour --plot {tmp}/f/x.png", setup=_write("f", "keep")),
        case("translate-plot-bad-suffix", "translate {T} bonjour --plot {tmp}/x.bogus", says="bogus"),
        case("translate-ok", "translate {T} --json --beam 2 bonjour merci", expect="ok", check=_json_lines),
        case("translate-no-attention-asked", "translate {T} bonjour", expect="ok", check=_lines(1)),
    ]
    # ---------------------------------------------------------------- transcribe
    c += [
        case("transcribe-missing-wav", "transcribe {C} {tmp}/none.wav", says="none.wav"),
        case("transcribe-text-file", "transcribe {C} {tmp}/x.wav", setup=_write("x.wav", "not audio"), says="x.wav"),
        case("transcribe-empty-file", "transcribe {C} {tmp}/x.wav", setup=_write("x.wav", b""), says="x.wav"),
        case("transcribe-nan-wav", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", np.full(8000, np.nan, "float32")),
             says="x.wav"),
        case("transcribe-inf-wav", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", np.full(8000, np.inf, "float32")),
             says="x.wav"),
        case("transcribe-zero-length-wav", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", np.zeros(0, "float32")),
             says="x.wav"),
        case("transcribe-too-long-wav", "transcribe {C} {tmp}/x.wav",
             setup=_wav("x.wav", np.zeros(16_000 * 61, "int16"), 16_000), says="60"),
        case("transcribe-silence", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", np.zeros(8000, "float32")),
             expect="ok"),
        case("transcribe-8-channels", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", np.tile(WAV_OK[:, None], 8)),
             expect="ok"),
        case("transcribe-rate-1hz", "transcribe {C} {tmp}/x.wav", setup=_wav("x.wav", WAV_OK[:100], 1)),
        case("transcribe-beam-0", "transcribe {C} {tmp}/x.wav --beam 0", setup=_wav("x.wav", WAV_OK), says="beam"),
        case("transcribe-lm-weight-nan", "transcribe {C} {tmp}/x.wav --beam 2 --lm-weight nan",
             setup=_wav("x.wav", WAV_OK), says="lm-weight"),
        case("transcribe-lm-weight-inf", "transcribe {C} {tmp}/x.wav --beam 2 --lm-weight inf",
             setup=_wav("x.wav", WAV_OK), says="lm-weight"),
        case("transcribe-sentiment-dir", "transcribe {S} {tmp}/x.wav", setup=_wav("x.wav", WAV_OK), says="transcribe"),
        case("transcribe-ok", "transcribe {C} {tmp}/x.wav --json --beam 2", setup=_wav("x.wav", WAV_OK), expect="ok",
             check=_json_lines),
    ]
    # ---------------------------------------------------------------- export, serve, inspect, plot
    c += [
        case("export-missing-dir", "export {tmp}/none"),
        case("export-format-bogus", "export {S} --format tflite"),
        case("export-out-is-a-folder", "export {S} --out {U}"),
        case("export-out-under-a-file", "export {S} --out {tmp}/f/m.onnx", setup=_write("f", "keep")),
        case("export-nan-weights", "export {tmp}/m --no-verify --out {tmp}/m.onnx",
             setup=_copy_model("S", _nan_weights)),
        case("serve-missing-dir", "serve {tmp}/none"),
        case("serve-user-folder", "serve {U}"),
        case("serve-port-negative", "serve {S} --port -1", says="port"),
        case("serve-port-huge", "serve {S} --port 70000", says="port"),
        case("serve-max-batch-0", "serve {S} --max-batch 0", says="max-batch"),
        case("serve-max-wait-negative", "serve {S} --max-wait-ms -1", says="max-wait"),
        case("serve-timeout-0", "serve {S} --timeout 0", says="timeout"),
        case("serve-timeout-nan", "serve {S} --timeout nan", says="timeout"),
        case("serve-threads-negative", "serve {S} --threads -2", says="threads"),
        case("serve-same-name-twice", "serve {S} {tmp}/a/{Sname}", setup=_copy_into_a("S"), expect="ok"),
        case("serve-ok", "serve {S} --port 8765", expect="ok"),
        case("inspect-missing-dir", "inspect {tmp}/none hello"),
        case("inspect-empty-text", ["inspect", "{S}", ""]),
        case("inspect-layer-out-of-range", "inspect {S} hello --layer 5", says="layer"),
        case("inspect-layer-negative", "inspect {S} hello --layer -9", says="layer"),
        case("inspect-units-0", "inspect {S} hello --units 0", says="units"),
        case("inspect-units-negative", "inspect {S} hello --units -1", says="units"),
        case("inspect-backward-unidirectional", "inspect {S} hello --direction backward", says="direction"),
        case("inspect-plot-bad-suffix", "inspect {S} hello --plot {tmp}/x.bogus", says="bogus"),
        case("inspect-translate-dir", "inspect {T} bonjour"),
        case("inspect-text-not-utf8", ["inspect", "{S}", "bad \udcff"]),
        case("inspect-ok", "inspect {S} hello --json", expect="ok", check=lambda out, err: bool(json.loads(out))),
        case("plot-missing-dir", "plot {tmp}/none --out {tmp}/c.png"),
        case("plot-user-folder", "plot {U} --out {tmp}/c.png"),
        case("plot-metric-bogus", "plot {S} --metric bogus --out {tmp}/c.png", says="bogus"),
        case("plot-out-bad-suffix", "plot {S} --out {tmp}/c.bogus", says="c.bogus"),
        case("plot-out-under-a-file", "plot {S} --out {tmp}/f/c.png", setup=_write("f", "keep")),
        case("plot-history-corrupt", "plot {tmp}/m --out {tmp}/c.png",
             setup=_copy_model("S", lambda d: (d / "history.jsonl").write_text("{nope\n"))),
        case("plot-ok", "plot {S} --out {tmp}/c.png", expect="ok", check=lambda out, err: True),
    ]
    # ---------------------------------------------------------------- data, bench, experiment, demo, top level
    c += [
        case("data-list-task-bogus", "data list --task bogus", says="bogus"),
        case("data-info-bogus", "data info no-such-corpus", says="no-such-corpus"),
        case("data-fetch-bogus", "data fetch no-such-corpus", says="no-such-corpus"),
        case("data-info-no-name", "data info"),
        case("data-fetch-no-name", "data fetch"),
        case("data-bogus-action", "data remove x"),
        case("data-list-ok", "data list --task sentiment", expect="ok", check=lambda out, err: "rt-polarity" in out),
        case("bench-threads-negative", "bench --quick --threads -2 --out {tmp}/b.json", says="threads"),
        case("bench-repeats-0", "bench --quick --repeats 0 --out {tmp}/b.json", says="repeats"),
        case("bench-device-tpu", "bench --quick --device tpu --out {tmp}/b.json", says="cpu"),
        case("bench-out-is-a-folder", "bench --quick --out {U}"),
        case("experiment-unknown", "experiment bogus --out {tmp}/e"),
        case("experiment-no-out", "experiment word-order"),
        case("experiment-minutes-negative", "experiment word-order --quick --minutes -1 --out {tmp}/e", says="minutes"),
        case("experiment-seeds-0", "experiment long-memory --quick --seeds 0 --out {tmp}/e", says="seeds"),
        case("experiment-lengths-negative", "experiment long-memory --quick --lengths -5 --out {tmp}/e",
             says="lengths"),
        case("experiment-out-is-a-file", "experiment word-order --quick --out {tmp}/f", setup=_write("f", "keep")),
        case("experiment-out-user-folder", "experiment word-order --quick --out {U}"),
        case("experiment-data-missing", "experiment word-order --quick --data {tmp}/none.csv --out {tmp}/e"),
        case("demo-steps-0", "demo --steps 0", says="steps"),
        case("demo-length-0", "demo --length 0", says="length"),
        case("demo-hidden-negative", "demo --hidden -1", says="hidden"),
        case("demo-threads-negative", "demo --threads -1", says="threads"),
        case("demo-cell-bogus", "demo --cell bogus"),
        case("unknown-command", "frobnicate"),
    ]
    return c


def _shuffle_vocab(d: Path) -> None:
    """Reverse the ids of the ordinary tokens in the model's tokenizer.json (a WordLevel vocabulary)."""
    path = d / json.loads((d / "config.json").read_text())["text"]["tokenizer_file"]
    data = json.loads(path.read_text())
    vocab = data["model"]["vocab"]
    tokens = sorted((t for t in vocab if vocab[t] >= 4), key=vocab.get)
    data["model"]["vocab"] = {**{t: i for t, i in vocab.items() if i < 4},
                              **{t: i for t, i in zip(tokens, sorted(vocab[t] for t in tokens)[::-1], strict=True)}}
    path.write_text(json.dumps(data))


def _copy_into_a(key: str) -> Callable[[Path, dict[str, Path]], None]:
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        import shutil

        shutil.copytree(models[key], tmp / "a" / models[key].name)
    return setup


CASES = _cases()


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """One tiny model of each kind the sweep loads (trained once, ~5 s in all), a sentinel user folder and
    the reviews CSV; none of them may change during the sweep."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("sweep-models")
    dirs = {"S": root / "sentiment", "L": root / "lm", "T": root / "translate", "C": root / "ctc",
            "D": FIXTURES / "reviews.csv", "U": root / "user-folder"}
    quiet = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(quiet):
        assert main([a.replace("{D}", str(dirs["D"])) for a in SENT] + ["--out", str(dirs["S"])]) == 0
        assert main([*LM, "--min-freq", "1", "--out", str(dirs["L"])]) == 0
        assert main([*MT, "--out", str(dirs["T"])]) == 0
        corpus = root / "speech"
        corpus.mkdir()
        rows = []
        for i, text in enumerate(["he was", "she is", "ten of", "let us", "our hope", "four days", "make it"]):
            noise = np.random.default_rng(i).standard_normal(6000).astype("float32") * 0.1
            sf.write(corpus / f"{i}.wav", noise, 16_000)
            rows.append({"audio": f"{i}.wav", "text": text, "split": ("train", "val", "test")[min(i // 3, 2)],
                         "voice": f"v{i % 2}"})
        (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        old = os.environ.get("RNNKIT_CACHE")
        os.environ["RNNKIT_CACHE"] = str(root / "cache")
        try:
            assert main(["train", "speech-ctc", "--data", str(corpus), "--epochs", "1", "--hidden-size", "4",
                         "--layers", "1", "--batch-size", "4", "--no-progress", "--out", str(dirs["C"])]) == 0
        finally:
            if old is None:
                del os.environ["RNNKIT_CACHE"]
            else:
                os.environ["RNNKIT_CACHE"] = old
    dirs["U"].mkdir()
    (dirs["U"] / "notes.txt").write_text("my own notes: must survive every case\n")
    (dirs["U"] / "model.safetensors").write_bytes(b"not a model, but mine")
    return dirs


def _snapshot(models: dict[str, Path]) -> dict[str, tuple[int, int, bytes]]:
    """(size, mtime, first bytes) of every file the sweep must not touch."""
    import hashlib

    seen = {}
    roots = [models["S"].parent, FIXTURES]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "cache" not in path.parts:
                stat = path.stat()
                seen[str(path)] = (stat.st_size, stat.st_mtime_ns,
                                   hashlib.sha256(path.read_bytes()).digest() if stat.st_size < 1 << 20 else b"")
    return seen


def _fill(arg: str, tmp: Path, models: dict[str, Path]) -> str:
    arg = arg.replace("{tmp}", str(tmp)).replace("{Sname}", models["S"].name)
    for key, path in models.items():
        arg = arg.replace("{" + key + "}", str(path))
    return arg


def verb_of(argv: tuple[str, ...]) -> str:
    return argv[0] if argv and not argv[0].startswith("{") else "?"


def classify(c: Case, code: int | None, out: str, err: str, crashed: bool, hung: bool, lost: bool) -> str:
    """One of OUTCOMES for a finished case."""
    if hung:
        return "hang"
    if lost:
        return "lost"
    if crashed or "Traceback" in err:
        return "traceback"
    if c.expect == "ok":
        fine = code == 0 and (c.check is None or c.check(out, err)) and c.says in err
        return "handled" if fine else ("silent" if code == 0 else "unclear")
    if code == 0:
        return "silent"
    lines = [line for line in err.splitlines() if line.strip()]
    if not lines:
        return "unclear"
    verb = verb_of(c.argv)
    last = lines[-1]
    # argparse: "usage: …" lines then "rnnkit VERB …: error: …"; rnnkit.cli.main: "rnnkit VERB: error: …"
    usage = lines[0].startswith("usage:") and all(line.startswith(" ") for line in lines[1:-1])
    notes = all(line.startswith(("warning:", "note:", "training into")) for line in lines[:-1])
    one_line = last.startswith(f"rnnkit {verb}") and ": error: " in last and (len(lines) == 1 or usage or notes)
    if verb == "frobnicate":
        one_line = last.startswith("rnnkit: error:")
    return "clear" if one_line and c.says in last else "unclear"


def run_case(c: Case, tmp: Path, models: dict[str, Path], capsys, monkeypatch) -> tuple[str, str, str]:
    if c.setup is not None:
        c.setup(tmp, models)
    argv = [_fill(a, tmp, models) for a in c.argv]
    before = _snapshot(models)
    monkeypatch.chdir(tmp)
    stdin = io.TextIOWrapper(io.BytesIO(c.stdin if c.stdin is not None else b""), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    if HAS_SERVER:
        monkeypatch.setattr("uvicorn.Server.run", _no_server)
    capsys.readouterr()
    code, crashed, hung = None, False, False

    def alarm(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(LIMIT_S)
    import resource

    limits = resource.getrlimit(resource.RLIMIT_AS)
    in_use = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (in_use + MEMORY_BYTES, limits[1]))
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (Hang, MemoryError):
        hung = True
    except Served:  # the server would have started: that is exit 0
        code = 0
    except Exception:  # noqa: BLE001 - an escaped exception is exactly what the sweep counts
        import traceback

        crashed = True
        sys.stderr.write(traceback.format_exc())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, limits)
    out, err = capsys.readouterr()
    lost = _snapshot(models) != before
    return classify(c, code, out, err, crashed, hung, lost), out, err


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, models, tmp_path, capsys, monkeypatch):
    if c.argv[0] == "serve" and not HAS_SERVER:
        pytest.skip("rnnkit[serve] (fastapi, uvicorn) is not installed")
    outcome, out, err = run_case(c, tmp_path, models, capsys, monkeypatch)
    RESULTS[c.id] = outcome
    wanted = "handled" if c.expect == "ok" else "clear"
    if outcome != wanted and c.xfail:
        pytest.xfail(f"{outcome}: {c.xfail}")
    assert outcome == wanted, f"{c.id}: {outcome}\nexit stdout: {out[-800:]}\nstderr: {err[-1500:]}"


# ----------------------------------------------------------------------------------------------- subprocess
def _rnnkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *args]


SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": ""}


def _record(name: str, outcome: str) -> str:
    RESULTS[name] = outcome
    return outcome


def test_broken_pipe_is_quiet(models):
    """`rnnkit predict DIR < many lines | head -1`: the reader goes away; no BrokenPipeError traceback."""
    proc = subprocess.Popen(_rnnkit("predict", str(models["S"])), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=SUBPROCESS_ENV)
    import threading

    def feed() -> None:
        try:
            proc.stdin.write(b"a fine film\n" * 20_000)
        except BrokenPipeError:  # rnnkit stopped reading: fine
            pass
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed)
    writer.start()
    first = proc.stdout.readline()
    proc.stdout.close()
    try:
        err = proc.stderr.read().decode()
        proc.stderr.close()
        proc.wait(timeout=60)
        writer.join(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _record("subprocess-predict-broken-pipe", "hang")
        raise
    outcome = "traceback" if "Traceback" in err or "BrokenPipe" in err else "handled"
    assert _record("subprocess-predict-broken-pipe", outcome) == "handled" and first, err[-1500:]


def test_invalid_utf8_on_real_stdin(models):
    """A real pipe (not a test double): invalid UTF-8 on line 2 is one error naming the line."""
    proc = subprocess.run(_rnnkit("predict", str(models["S"])), input=NOT_UTF8, capture_output=True,
                          env=SUBPROCESS_ENV, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    lines = err.strip().splitlines()
    clear = proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("rnnkit predict: error:") \
        and "line 2" in lines[0]
    outcome = "traceback" if "Traceback" in err else ("clear" if clear else "unclear")
    assert _record("subprocess-predict-stdin-not-utf8", outcome) == "clear", err[-1500:]


def test_interrupted_training_leaves_a_resumable_directory(tmp_path):
    """SIGINT during training: exit 130, one line, and the directory resumes (no dead end)."""
    out = tmp_path / "run"
    args = [a.replace("{D}", str(FIXTURES / "reviews.csv")) for a in SENT]
    args = [*args[:args.index("--epochs")], "--epochs", "100000", *args[args.index("--epochs") + 2:]]
    proc = subprocess.Popen(_rnnkit(*args, "--patience", "100000", "--out", str(out), "--checkpoint-every-s", "0.01"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=SUBPROCESS_ENV)
    deadline = time.time() + 40
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _record("subprocess-train-sigint", "hang")
        raise
    err = err.decode()
    clear = proc.returncode == 130 and "Traceback" not in err and (out / "config.json").exists()
    outcome = "traceback" if "Traceback" in err else ("clear" if clear else "unclear")
    assert _record("subprocess-train-sigint", outcome) == "clear", (proc.returncode, err[-1500:])


# ----------------------------------------------------------------------------------------------- item 2: memory
def test_translate_keeps_attention_only_when_asked(models):
    """Greedy and beam search keep no attention rows unless asked (they take B·K·T·S memory)."""
    import rnnkit
    from rnnkit.decode.seq2seq import decode_all

    translator = rnnkit.load(models["T"])
    sources = [translator.src.encode("bonjour"), translator.src.encode("merci beaucoup")]
    for beam in (1, 3):
        assert all(h.attention is None for h in decode_all(translator.model, sources, beam=beam, attention=False))
        kept = decode_all(translator.model, sources, beam=beam, attention=True)
        for h, x in zip(kept, sources, strict=True):
            assert h.attention is not None and h.attention.shape[1] == len(x)
    assert translator.translate(["bonjour"], beam=2)[0]["attention"] is None  # the key is always there
    assert len(translator.translate(["bonjour"], beam=2, attention=True)[0]["attention"]) > 0


def test_stdin_is_read_lazily_in_chunks():
    """The first chunk is answered before the rest of stdin is read (memory does not grow with the input)."""
    from rnnkit.cli.inputs import CHUNK, chunks, stdin_texts

    class Stream:  # stdin's buffer: read line by line (each read bounded by the longest input, issue 26)
        lines = 0

        def readline(self, size: int = -1) -> bytes:
            self.lines += 1
            if self.lines > CHUNK:
                raise AssertionError("read past the first chunk before answering it")
            return b"line\n"

    first = next(chunks(stdin_texts(Stream())))
    assert len(first) == CHUNK and first[-1] == (f"stdin line {CHUNK}", "line")


@pytest.fixture(scope="module", autouse=True)
def sweep_counts(request):
    """After this module's tests ran (in any order, all or some of them): the sweep's counts (tried / clear /
    handled / unclear / tracebacks / silent / lost / hangs), printed, and written to ``RNNKIT_SWEEP_JSON``.
    Each case asserts its own outcome; this only sums them up."""
    yield
    if not RESULTS:
        return
    counts = Counter(RESULTS.values())
    summary = {"tried": len(RESULTS), **{k: counts.get(k, 0) for k in OUTCOMES}}
    if os.environ.get("RNNKIT_SWEEP_JSON"):  # e.g. benchmarks/results/bad-inputs.json, for the closing note
        Path(os.environ["RNNKIT_SWEEP_JSON"]).write_text(json.dumps({**summary, "cases": RESULTS}, indent=1) + "\n")
    lines = [f"bad-input sweep: {json.dumps(summary)}"]
    for name, outcome in sorted(RESULTS.items()):
        if outcome not in ("clear", "handled"):
            lines.append(f"  {outcome:9} {name}")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print("\n" + "\n".join(lines))
