"""Inputs bounded while they are read, and data and settings refused in one line naming where (issue 26).
The end-to-end cases, each in a memory- and time-limited child process, are in test_limits_sweep.py."""

from __future__ import annotations

import time

import numpy as np
import pytest


# ------------------------------------------------------------------------------------ stdin, capped in bytes
class _Stream:
    """stdin's buffer holding one endless line: counts the bytes handed out."""

    def __init__(self) -> None:
        self.given = 0

    def readline(self, size: int = -1) -> bytes:
        assert size > 0, "an unbounded readline would hold the whole line"
        self.given += size
        return b"a" * size


def test_a_stdin_line_longer_than_the_cap_is_refused_after_reading_4_bytes_per_character():
    from rnnkit.cli.inputs import stdin_texts

    stream = _Stream()
    with pytest.raises(ValueError, match=r"stdin line 1 is longer than 1,000 characters"):
        next(stdin_texts(stream, max_chars=1_000))
    assert stream.given <= 4 * 1_000 + 2


def test_lines_within_the_cap_are_read_whole(tmp_path):
    import io

    from rnnkit.cli.inputs import stdin_texts

    text = "é" * 1_000  # 2,000 bytes of UTF-8
    got = list(stdin_texts(io.BytesIO(f"{text}\r\nshort\n".encode()), max_chars=1_000))
    assert got == [("stdin line 1", text), ("stdin line 2", "short")]
    with pytest.raises(ValueError, match="stdin line 1 is longer than 999 characters"):
        list(stdin_texts(io.BytesIO(f"{text}\n".encode()), max_chars=999))


def test_predictors_refuse_a_text_by_its_length_before_tokenizing():
    from rnnkit.tasks.sentiment import MAX_TEXT_CHARS, MAX_TOKENS, SentimentPredictor
    from rnnkit.tasks.translate import MAX_SOURCE_CHARS, MAX_SOURCE_TOKENS, Translator

    assert SentimentPredictor.max_chars == MAX_TEXT_CHARS == 100 * MAX_TOKENS
    assert Translator.max_chars == MAX_SOURCE_CHARS == 100 * MAX_SOURCE_TOKENS

    class Untokenized(SentimentPredictor):
        def __init__(self) -> None:  # no model directory: the length check comes before the encoder is used
            self.encoder = None

    with pytest.raises(ValueError, match=r"input 2 has 1,000,001 characters"):
        Untokenized().predict(["fine", "a" * (MAX_TEXT_CHARS + 1)])


# -------------------------------------------------------------------------------- audio, by its header
@pytest.mark.parametrize("rate", [1, 50])
def test_a_wav_is_refused_by_the_seconds_its_header_declares_before_decoding(tmp_path, rate, monkeypatch):
    sf = pytest.importorskip("soundfile")
    from rnnkit.data.readers import audio

    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(500_000, dtype="float32"), rate, subtype="FLOAT")  # 2 MB
    monkeypatch.setattr(sf, "read", lambda *a, **k: pytest.fail("decoded before the length was checked"))
    start = time.monotonic()
    with pytest.raises(ValueError, match=rf"lasts {500_000 / rate:,.1f} seconds by its header .* at most 60 seconds"):
        audio.load_audio(path, 16_000, max_seconds=60)
    assert time.monotonic() - start < 2


# ------------------------------------------------------------------------------------------ data files
def test_a_duplicated_column_in_the_header_is_one_line_naming_it(tmp_path):
    from rnnkit.data.readers.text import read_table

    path = tmp_path / "dup.csv"
    path.write_text("text,text,label\na fine film,other,positive\n")
    with pytest.raises(ValueError, match=r"dup.csv: the header names column 'text' 2 times"):
        read_table(path)


@pytest.mark.parametrize("name, delimiter", [("tabs.csv", "\t"), ("semi.csv", ";"), ("commas.tsv", ","),
                                             ("plain.csv", ",")])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path, name, delimiter):
    from rnnkit.data.readers.text import read_table

    path = tmp_path / name
    rows = [["review", "verdict"], ["a fine, fine film", "positive"], ["dull", "negative"]]
    path.write_text("".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) + "\n" for row in rows))
    parsed = read_table(path, text_col="review", label_col="verdict")
    assert [ex.text for ex in parsed.examples] == ["a fine, fine film", "dull"]
    assert parsed.labels == ["negative", "positive"]


@pytest.mark.parametrize("label", ["NaN", "Infinity", "-Infinity"])
def test_a_jsonl_label_that_is_not_a_finite_number_is_refused(tmp_path, label):
    from rnnkit.data.readers.text import read_jsonl

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "fine", "label": "positive"}\n{"text": "ok", "label": ' + label + "}\n")
    with pytest.raises(ValueError, match=r"rows.jsonl: line 2: label 'label' is .*not a class"):
        read_jsonl(path)


def test_a_deeply_nested_jsonl_row_is_one_line_naming_it(tmp_path):
    from rnnkit.data.readers.text import read_jsonl

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "fine", "label": "positive"}\n{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(ValueError, match=r"rows.jsonl: line 2 nests deeper than 64 levels"):
        read_jsonl(path)


def test_a_bptt_window_longer_than_the_corpus_says_so():
    from rnnkit.tasks.lm import check_bptt

    check_bptt(197, 8, 4)  # 4 streams of 47 tokens: windows of 8 fit
    with pytest.raises(ValueError, match=r"--bptt 1000 exceeds the corpus: its training text has 197 tokens.* "
                                         r"use --bptt 38 or less"):
        check_bptt(197, 1000, 4)
    check_bptt(197, 38, 4)
    with pytest.raises(ValueError, match="--bptt 39 exceeds"):
        check_bptt(197, 39, 4)


# ---------------------------------------------------------------------------------------- settings files
@pytest.mark.parametrize("name, content, says", [
    ("latin.yaml", b"epochs: 1\ncell: gr\xe9\n", r"latin.yaml: line 2 \(key 'cell'\) is not UTF-8 \(byte 0xe9\)"),
    ("digits.yaml", b"epochs: 1\nhidden_size: " + b"1" * 5_000 + b"\n",
     r"digits.yaml: line 2 \(key 'hidden_size'\): a number of 5,000 digits"),
    ("digits.json", b'{"epochs": 1, "hidden_size": ' + b"1" * 5_000 + b"}",
     r"digits.json: line 1 \(key 'hidden_size'\): a number of 5,000 digits"),
])
def test_a_bad_value_in_a_settings_file_names_the_file_and_the_key(tmp_path, name, content, says):
    from rnnkit.cli.settings import read_file

    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=says):
        read_file(tmp_path / name)


@pytest.mark.parametrize("setting, value, says", [
    ("hidden_size", 10**300, r"hidden_size must be in \[1, 16384\]"),
    ("layers", 100_000, r"layers must be in \[1, 64\]"),
])
def test_sizes_in_a_settings_file_have_the_ranges_of_their_flags(setting, value, says):
    from rnnkit.cli.settings import split
    from rnnkit.tasks.sentiment import SentimentOptions
    from rnnkit.train import TrainConfig

    with pytest.raises(ValueError, match=r"--config run.yaml: " + says):
        split({setting: value}, SentimentOptions, TrainConfig, "--config run.yaml")


@pytest.mark.parametrize("row, says", [
    ("[" * 100_000 + "]" * 100_000, "manifest.jsonl:2 nests deeper than 64 levels"),
    ("{not json", r"manifest.jsonl:2: not a JSON object"),
    ("7", "manifest.jsonl:2: an utterance needs audio, text and split"),
    ('{"audio": "a.wav", "text": "hi", "split": ["train"]}', "manifest.jsonl:2: an utterance needs"),
])
def test_a_bad_speech_manifest_row_is_one_line_naming_it(tmp_path, row, says):
    from rnnkit.data.speech import read_manifest

    good = '{"audio": "a.wav", "text": "hi", "split": "train"}'
    (tmp_path / "manifest.jsonl").write_text(good + "\n" + row + "\n")
    with pytest.raises(ValueError, match=says):
        read_manifest(tmp_path)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_data_file_that_is_a_fifo_or_a_device_is_refused_at_once(tmp_path, kind):
    import os

    from rnnkit.data.readers.text import read_table, read_text_lines

    path = tmp_path / "reviews.csv"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(kind)
    start = time.monotonic()
    for read in (read_table, read_text_lines):
        with pytest.raises(ValueError, match="not a regular file"):
            read(path)
    assert time.monotonic() - start < 2


def test_a_seed_past_what_the_generators_take_is_one_line():
    from rnnkit.train import TrainConfig

    with pytest.raises(ValueError, match=r"--seed must be in \[0, 4294967295\], got 100000000000000000000"):
        TrainConfig(seed=10**20)
