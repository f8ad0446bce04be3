"""Parallel text on disk: the same pairs, split, ids and first-epoch batches as reading the file whole."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.data import pairstream
from rnnkit.data.open import open_data
from rnnkit.data.own import read_parallel
from rnnkit.data.pairstream import load_pairs
from rnnkit.models import build_model
from rnnkit.tasks.translate import TranslateOptions, TranslationTask, build_encoders, build_translator

BPE = 300  # a small BPE per side: the tests compare, they do not translate well


@pytest.fixture(scope="module")
def fr_en() -> list[tuple[str, str]]:
    """Real fr-en pairs (Bible verses and LibreOffice strings, ``rnnkit data fetch fr-en``), short ones first
    so a few thousand of them survive the length filter."""
    data = open_data("fr-en", "translation", max_words=None)
    pairs = [(p.src, p.tgt) for s in ("train", "val", "test") for p in data.part(s)]
    return sorted(pairs[::10], key=lambda p: len(p[0]))[:2500]


def _tsv(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """The pairs as ``source<TAB>target`` lines, with what the reader must handle: exact duplicates (dropped),
    a source with a second translation (kept, same split), a blank line and an empty side (skipped), a
    pair longer than max_words (dropped), CRLF line ends and runs of spaces (collapsed)."""
    lines = [f"{a}\t{b}" for a, b in pairs]
    lines[10:10] = [lines[3], lines[4], "", f"{pairs[5][0]}\t", f"{pairs[6][0]}\tune autre traduction",
                    "mot " * 30 + "\tword", f"  {pairs[7][0]}   \t{pairs[7][1]}  \tattribution"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def _two_files(folder: Path, pairs: list[tuple[str, str]]) -> tuple[Path, Path]:
    src, tgt = folder / "train.fr", folder / "train.en"
    src.write_text("".join(f"{a}\n" for a, _ in pairs) + "\n", encoding="utf-8")
    tgt.write_text("".join(f"{b}\n" for _, b in pairs) + "\n", encoding="utf-8")
    return src, tgt


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if "skipped" in str(w.message)]


@pytest.mark.parametrize("layout, reverse", [("tsv", False), ("files", True)])
def test_pairs_on_disk_equal_the_file_read_whole(tmp_path, fr_en, layout, reverse):
    if layout == "tsv":
        files = {"path": _tsv(tmp_path / "pairs.tsv", fr_en)}
    else:
        src, tgt = _two_files(tmp_path, fr_en)
        files = {"src": src, "tgt": tgt}
    whole, whole_warnings = _caught(lambda: read_parallel(**files, max_words=20, reverse=reverse, seed=5))
    opts = TranslateOptions(src_bpe=BPE, tgt_bpe=BPE)
    src_enc, tgt_enc = build_encoders(opts, whole)
    (streamed, parts, (s, t)), stream_warnings = _caught(lambda: load_pairs(
        files.get("path"), src=files.get("src"), tgt=files.get("tgt"), max_words=20, reverse=reverse, seed=5,
        src_bpe=BPE, tgt_bpe=BPE, root=tmp_path / "cache", log=lambda _: None))
    assert stream_warnings == whole_warnings and (whole_warnings or layout == "files")
    assert streamed.split == whole.split  # the same counts, seed and files: the split record does not move
    assert whole.split["dropped_duplicates"] >= (2 if layout == "tsv" else 0)
    assert (streamed.src_lang, streamed.tgt_lang, streamed.name) == (whole.src_lang, whole.tgt_lang, whole.name)
    assert streamed.sizes() == whole.sizes() and streamed.domains() == whole.domains()
    assert s.hf.to_str() == src_enc.hf.to_str() and t.hf.to_str() == tgt_enc.hf.to_str()
    for split in ("train", "val", "test"):
        expected = [(src_enc.encode(p.src), tgt_enc.encode(p.tgt)) for p in whole.part(split)]
        assert [parts[split][i] for i in range(len(parts[split]))] == expected
        assert parts[split].lengths.tolist() == [max(len(x), len(y)) for x, y in expected]
    assert list(streamed.val) == whole.val and list(streamed.test) == whole.test  # the BLEU references


def test_the_first_epoch_has_the_same_batches_and_loss(tmp_path, fr_en):
    path = _tsv(tmp_path / "pairs.tsv", fr_en)
    opts = TranslateOptions(data=str(path), src_bpe=BPE, tgt_bpe=BPE, embed_dim=16, hidden_size=16, batch_size=32,
                            max_tokens=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = read_parallel(path, seed=opts.split_seed)
        streamed, parts, (src, tgt) = load_pairs(path, seed=opts.split_seed, src_bpe=BPE, tgt_bpe=BPE,
                                                 root=tmp_path / "cache", log=lambda _: None)
    in_memory = TranslationTask(whole, src, tgt, opts, seed=3)
    on_disk = TranslationTask(streamed, src, tgt, opts, seed=3, encoded=parts)
    assert on_disk.skipped == in_memory.skipped > 0  # the max_tokens filter, from the stored lengths
    assert on_disk.longest_source() == in_memory.longest_source()
    a, b = in_memory.train_batches(0), on_disk.train_batches(0)
    assert len(a) == len(b) > 10
    for i in range(len(a)):
        assert all(torch.equal(x, y) for x, y in zip(a[i], b[i], strict=True))
    torch.manual_seed(0)
    model = build_model(build_translator(opts, len(src.vocab), len(tgt.vocab)))
    cpu = torch.device("cpu")
    losses = []
    for task, batch in ((in_memory, a[0]), (on_disk, b[0])):
        torch.manual_seed(1)  # the same dropout masks
        losses.append(task.loss(model, batch, cpu)[0].item())
    assert losses[0] == losses[1]
    assert in_memory.val_loss(model, "val", cpu) == on_disk.val_loss(model, "val", cpu)
    assert in_memory.sources("test") == on_disk.sources("test")


def test_translate_trains_on_a_streamed_file_and_a_second_run_reuses_it(tmp_path, fr_en, monkeypatch):
    path = _tsv(tmp_path / "pairs.tsv", fr_en[:800])
    monkeypatch.setattr(pairstream, "STREAM_BYTES", 0)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    args = ["train", "translate", "--data", str(path), "--src-bpe", str(BPE), "--tgt-bpe", str(BPE), "--embed-dim",
            "8", "--hidden-size", "8", "--epochs", "1", "--val-sentences", "10", "--beam", "1", "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*args, "--out", str(tmp_path / "a")]) == 0
        whole = read_parallel(path, seed=TranslateOptions.split_seed)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["split"] == whole.split
    folders = sorted((tmp_path / "cache" / "pairs").iterdir())

    def no_second_pass(*_, **__):
        raise AssertionError("the pairs were read again")

    monkeypatch.setattr(pairstream, "split_codes", no_second_pass)  # a prepared file is opened, not re-read
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "translate", "--resume", str(tmp_path / "b"), "--epochs", "2", "--no-progress"]) == 0
    assert main(["evaluate", str(tmp_path / "b"), "--beam", "1"]) == 0
    assert sorted((tmp_path / "cache" / "pairs").iterdir()) == folders


@pytest.mark.parametrize("content, message", [
    ("un\tone\ndeux sans tabulation\n", "pairs.tsv: line 2: expected 'source<TAB>target'"),
    ("un\tone\n\xe9t\xe9\tsummer\n".encode("latin-1"), "pairs.tsv: line 2: not UTF-8"),
    ("\n \n", "pairs.tsv: empty file"),
])
def test_a_bad_file_is_one_clear_line(tmp_path, monkeypatch, capsys, content, message):
    monkeypatch.setattr(pairstream, "STREAM_BYTES", 0)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["train", "translate", "--data", str(path), "--out", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert not [p for p in (tmp_path / "cache" / "pairs").iterdir() if not p.name.endswith(".lock")]


def test_files_of_different_line_counts_are_one_clear_line(tmp_path, monkeypatch, capsys, fr_en):
    monkeypatch.setattr(pairstream, "STREAM_BYTES", 0)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    src, tgt = _two_files(tmp_path, fr_en[:50])
    tgt.write_text("".join(f"{b}\n" for _, b in fr_en[:48]), encoding="utf-8")
    assert pairstream.streams_pairs(None, str(src), str(tgt))
    assert not pairstream.streams_pairs(str(src), str(src), str(tgt))  # both ways at once: the reader's error
    for a, b, counts in ((src, tgt, "has 51 lines but"), (tgt, src, "has 48 lines but")):  # 51: a blank last line
        with pytest.raises(ValueError) as whole:
            read_parallel(src=a, tgt=b)
        assert main(["train", "translate", "--src", str(a), "--tgt", str(b), "--out", str(tmp_path / "x")]) != 0
        err = capsys.readouterr().err.strip()
        assert counts in err and err.endswith(str(whole.value)) and len(err.splitlines()) == 1, err


def test_a_killed_preparation_leaves_nothing_a_rerun_would_trust(tmp_path, fr_en, monkeypatch):
    path = _tsv(tmp_path / "pairs.tsv", fr_en[:300])
    cache = tmp_path / "cache"
    kw = {"seed": 1, "src_bpe": BPE, "tgt_bpe": BPE, "root": cache, "log": lambda _: None}
    encode = pairstream.encode_pairs

    def interrupted(files, codes, reverse, encoders, tmp):
        encode(files, codes, reverse, encoders, tmp)  # every map written, then Ctrl-C before meta.json
        raise KeyboardInterrupt

    monkeypatch.setattr(pairstream, "encode_pairs", interrupted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyboardInterrupt):
            load_pairs(path, **kw)
        assert [p.name for p in (cache / "pairs").iterdir() if not p.name.endswith(".lock")] == []
        monkeypatch.setattr(pairstream, "encode_pairs", encode)
        _, parts, _ = load_pairs(path, **kw)
        final = next(p for p in (cache / "pairs").iterdir() if p.is_dir())
        expected = [parts["train"][i] for i in range(len(parts["train"]))]
        # a SIGKILL runs no cleanup: a half-written temporary folder and a key folder without meta.json
        (final / "meta.json").unlink()
        (final / "src.bin").write_bytes(b"\xff" * 8)
        stale = cache / "pairs" / f".{final.name}.99999.tmp"
        stale.mkdir()
        (stale / "src.bin").write_bytes(b"junk")
        _, again, _ = load_pairs(path, **kw)
    assert [again["train"][i] for i in range(len(again["train"]))] == expected
    assert not stale.exists()
