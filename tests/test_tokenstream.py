"""Token streams on disk: the same splits and ids as the corpus read whole, prepared once, never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.data import linestream, tokenstream
from rnnkit.data.linestream import line_blocks
from rnnkit.data.open import read_text_file
from rnnkit.data.readers.plays import read_plays
from rnnkit.data.readers.text import read_text_lines
from rnnkit.data.tokenstream import prepare_text
from rnnkit.models import ngram
from rnnkit.models.ngram import NGramCounts, baseline_report
from rnnkit.tasks import lm
from rnnkit.tasks.lm import LMOptions, build_encoder, encode_stream
from rnnkit.text import TextEncoder, Vocab
from rnnkit.text.tokenize import build_tokenizer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def plays_text() -> str:
    """Real running text (the Shakespeare fixture): speeches separated by blank lines."""
    return "\n\n".join("\n\n".join(speeches) for _, speeches in read_plays(FIXTURES / "lm" / "plays"))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 997 bytes and character texts of 3 lines, so a small file crosses many block boundaries."""
    monkeypatch.setattr(linestream, "BLOCK_BYTES", 997)
    monkeypatch.setattr(tokenstream, "CHAR_LINES", 3)


def _in_memory(path: Path, tokenizer: str) -> tuple[TextEncoder, dict[str, np.ndarray], dict]:
    """What rnnkit did before the streams were on disk: read whole, fit the vocabulary, encode each split."""
    corpus = read_text_file(path)
    opts = LMOptions(data=str(path), tokenizer=tokenizer)
    encoder = build_encoder(opts, corpus)
    return encoder, {s: encode_stream(encoder, getattr(corpus, s)).numpy() for s in ("train", "val", "test")}, \
        corpus.split


@pytest.mark.parametrize("tokenizer", ["word", "char", "auto"])
def test_streams_equal_the_corpus_read_whole(tmp_path, plays_text, small_blocks, tokenizer):
    path = tmp_path / "plays.txt"
    # Windows line ends, a BOM, trailing blank lines and non-ASCII text: what a user's file holds
    text = "\ufeff" + (plays_text + "\n\nÉtienne's café — naïve Ωmega ΣΑΣ\n") * 2 + "\n\n"
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    encoder, streams, split = _in_memory(path, tokenizer)
    prepared = prepare_text(path, tokenizer=tokenizer, root=tmp_path / "cache", log=lambda _: None)
    assert prepared.encoder().vocab.itos == encoder.vocab.itos
    assert prepared.encoder().hf.to_str() == encoder.hf.to_str()
    assert prepared.split == split
    for s, ids in streams.items():
        assert prepared.ids(s).dtype == np.uint16
        np.testing.assert_array_equal(prepared.ids(s), ids)


def test_a_trained_models_encoder_and_a_second_run_reuse_the_streams(tmp_path, plays_text, monkeypatch):
    path = tmp_path / "plays.txt"
    path.write_text(plays_text, encoding="utf-8")
    lines: list[str] = []
    first = prepare_text(path, tokenizer="word", root=tmp_path / "cache", log=lines.append)
    assert len(lines) == 1 and "prepared the token streams of plays.txt once" in lines[0]

    def no_build(*args, **kwargs):
        raise AssertionError("prepared again")

    monkeypatch.setattr(tokenstream, "_build", no_build)
    again = prepare_text(path, tokenizer="word", root=tmp_path / "cache", log=lines.append)
    by_encoder = prepare_text(path, encoder=first.encoder(), root=tmp_path / "cache", log=lines.append)
    assert again.directory == first.directory == by_encoder.directory and len(lines) == 1
    path.write_text(plays_text + "\nmore", encoding="utf-8")  # another file: another key
    with pytest.raises(AssertionError, match="prepared again"):
        prepare_text(path, tokenizer="word", root=tmp_path / "cache")


def test_a_killed_preparation_leaves_nothing_that_is_used(tmp_path, plays_text, monkeypatch):
    path = tmp_path / "plays.txt"
    path.write_text(plays_text, encoding="utf-8")
    real_remap = tokenstream._remap

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tokenstream, "_remap", killed)
    with pytest.raises(KeyboardInterrupt):
        prepare_text(path, tokenizer="word", root=tmp_path / "cache")
    folder = tmp_path / "cache" / "tokens"
    assert not [p for p in folder.iterdir() if p.is_dir() and p.name != "recipes"]
    assert not (folder / "recipes").exists()
    (folder / ".4242.tmp").mkdir()  # what a SIGKILL leaves: removed by the next preparation
    monkeypatch.setattr(tokenstream, "_remap", real_remap)
    prepared = prepare_text(path, tokenizer="word", root=tmp_path / "cache", log=lambda _: None)
    assert not (folder / ".4242.tmp").exists()
    assert json.loads((prepared.directory / "meta.json").read_text())["tokens"]["train"] == len(prepared.ids("train"))


def test_a_vocabulary_beyond_uint16_is_stored_as_uint32():
    tok = build_tokenizer("word")
    assert tokenstream._dtype(TextEncoder(tok, Vocab(f"w{i}" for i in range(65_532)))) == np.uint16  # + 4 specials
    assert tokenstream._dtype(TextEncoder(tok, Vocab(f"w{i}" for i in range(65_533)))) == np.uint32


@pytest.mark.parametrize("raw", [
    b"a\r\nb\r\n\r\nc", b"a\rb\r\rc\r", b"\xef\xbb\xbfone\n\ntwo\n\n\n", b"x" * 2500 + b"\r\n" + b"y" * 10,
    "é\n".encode() * 700 + b"end",
])
def test_line_blocks_give_the_lines_read_text_lines_gives(tmp_path, raw, small_blocks):
    path = tmp_path / "t.txt"
    path.write_bytes(raw)
    streamed = [line for block in line_blocks(path) for line in block]
    assert streamed == read_text_lines(path)


def test_line_blocks_refuse_what_read_text_lines_refuses_in_one_line(tmp_path, small_blocks):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\n" * 300 + b"caf\xe9\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 301: not UTF-8 \(byte 0xe9 at column 4\)"):
        list(line_blocks(bad))
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"x" * 2000 + b"\x00")
    with pytest.raises(ValueError, match="binary file .NUL bytes at offset 2000"):
        list(line_blocks(binary))
    empty = tmp_path / "e.txt"
    empty.write_bytes(b"\n \n")
    with pytest.raises(ValueError, match="empty file"):
        list(line_blocks(empty))


def test_ngram_counts_streamed_in_chunks_equal_counting_at_once(monkeypatch):
    ids = torch.randint(4, 60, (5000,), generator=torch.Generator().manual_seed(0))
    whole = NGramCounts.fit(ids, 60)
    report = baseline_report(ids[:4000], ids[4000:4500], ids[4500:], 60)
    monkeypatch.setattr(ngram, "CHUNK", 37)
    chunked = NGramCounts.fit(ids.numpy().astype(np.uint16), 60)
    for name in ("unigram", "bigram_keys", "bigram_counts", "context"):
        assert torch.equal(getattr(whole, name), getattr(chunked, name)), name
    streamed = baseline_report(ids[:4000].numpy(), ids[4000:4500].numpy(), ids[4500:].numpy(), 60)
    for name, row in report.items():
        assert streamed[name] == pytest.approx(row, rel=1e-12), name


def test_lm_baselines_of_streams_on_disk_are_counted_once(tmp_path, plays_text, monkeypatch):
    path = tmp_path / "plays.txt"
    path.write_text(plays_text, encoding="utf-8")
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    corpus = lm.token_streams(LMOptions(data=str(path), min_freq=1), log=lambda _: None)
    first = lm.baselines_of(corpus)
    assert first == baseline_report(corpus.streams["train"], corpus.streams["val"], corpus.streams["test"],
                                    len(corpus.encoder.vocab))

    def recount(*args, **kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(lm, "baseline_report", recount)
    assert lm.baselines_of(lm.token_streams(LMOptions(data=str(path), min_freq=1), log=lambda _: None)) == first
