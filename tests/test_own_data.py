"""A user's own data: separate train/val/test files in any format, lists and DataFrames, label maps, plain
parallel text, recorded sources (absolute path + sha256), the text I/O errors (encoding, blank lines, long
fields, label types, one class), the level guess of `--tokenizer auto`, and the speech feature cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.open import guess_level, open_data, read_text_file
from rnnkit.data.own import FALLBACK, align_labels, labelled_files, parse_label_map
from rnnkit.data.readers.parallel import read_parallel_lines, read_parallel_tsv
from rnnkit.data.readers.text import read_jsonl, read_table
from rnnkit.data.sources import absolute_source, check_sources, describe_source, describe_sources

FIXTURES = Path(__file__).parent / "fixtures"
WORDS = ["good", "bad", "fine", "great", "awful", "film", "plot", "acting"]


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "review,stars") -> Path:
    lines = [header] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows(n: int, labels: tuple[str, ...] = ("neg", "pos"), offset: int = 0) -> list[tuple[str, str]]:
    return [(f"{WORDS[i % 8]} {WORDS[(i * 3) % 8]} number {i + offset}", labels[i % len(labels)]) for i in range(n)]


# ------------------------------------------------------------------------------- separate files
def test_separate_files_custom_columns_keep_their_roles(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", rows(20))
    val = write_csv(tmp_path / "val.csv", rows(4, offset=100))
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps({"review": t, "stars": y}) + "\n" for t, y in rows(6, offset=200)))
    data = open_data(train=train, val=val, test=test, text_col="review", label_col="stars")
    assert data.sizes() == {"train": 20, "val": 4, "test": 6}
    assert data.labels == ["neg", "pos"]
    assert data.test[0].text == "good good number 200" and data.labels[data.test[1].label] == "pos"
    assert data.split["files"]["test"] == str(test.resolve()) and data.split["carved"] == {}
    assert data.split["keys"]["val"][:2] == ["val:0", "val:1"]


def test_missing_val_and_test_are_carved_from_train(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", rows(40), header="text,label")
    test = write_csv(tmp_path / "test.csv", rows(5, offset=50), header="text,label")
    only_test_missing = open_data(train=train, test=test, seed=3)
    assert only_test_missing.sizes() == {"train": 36, "val": 4, "test": 5}
    assert only_test_missing.split["carved"] == {"val": 0.1}
    assert "val carved from train" in only_test_missing.split["method"]
    val_counts = only_test_missing.label_counts()["val"]
    assert val_counts == {"neg": 2, "pos": 2}  # stratified
    both = open_data(train=train, seed=3)
    assert both.sizes() == {"train": 32, "val": 4, "test": 4} and both.split["carved"] == {"val": 0.1, "test": 0.1}
    assert open_data(train=train, seed=3).split == both.split  # seeded: the same split every time
    assert "10 %" in FALLBACK


def test_separate_files_in_other_formats(tmp_path: Path) -> None:
    data = labelled_files(FIXTURES / "aclImdb" / "train", None, FIXTURES / "aclImdb" / "test" )
    assert data.labels == ["negative", "positive"] and data.sizes()["test"] == 4
    sst = tmp_path / "dev.tsv"
    sst.write_text("sentence\tlabel\na fine film \t1\na bad plot \t0\n")
    mixed = labelled_files(FIXTURES / "aclImdb" / "train", sst, FIXTURES / "aclImdb" / "test")
    assert [mixed.labels[ex.label] for ex in mixed.val] == ["positive", "negative"]


def test_a_val_label_the_train_file_lacks_is_an_error(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", rows(10), header="text,label")
    val = write_csv(tmp_path / "val.csv", rows(3, labels=("neg", "meh")), header="text,label")
    with pytest.raises(ValueError, match=r"val.csv has labels \['meh'\] that the training file .*train.csv"):
        open_data(train=train, val=val)


def test_column_errors_name_the_flags(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", rows(10))
    with pytest.raises(ValueError, match="found \\['review', 'stars'\\]; choose them with --text-col/--label-col"):
        open_data(train=train)
    with pytest.raises(ValueError, match="--text-col/--label-col"):
        read_jsonl(FIXTURES / "reviews.jsonl", label_col="rating")
    with pytest.raises(ValueError, match="--val/--test need --train"):
        open_data(val=train)
    with pytest.raises(ValueError, match="not both"):
        open_data("rt-polarity", "sentiment", train=train)


# ------------------------------------------------------------------------------ lists, frames
class Frame:
    """The part of a pandas DataFrame the resolver uses (``columns``, ``frame[name]``)."""

    def __init__(self, **columns: list) -> None:
        self._columns = columns
        self.columns = list(columns)

    def __getitem__(self, name: str) -> list:
        return self._columns[name]


def test_lists_and_frames() -> None:
    texts = [t for t, _ in rows(30)]
    labels = [y for _, y in rows(30)]
    data = open_data(texts=texts, labels=labels, seed=1)
    assert data.sizes() == {"train": 24, "val": 3, "test": 3} and data.labels == ["neg", "pos"]
    framed = open_data(Frame(body=texts, y=[np.int64(1 if y == "pos" else 0) for y in labels]), text_col="body",
                       label_col="y", seed=1)
    assert framed.labels == ["0", "1"] and framed.sizes() == {"train": 24, "val": 3, "test": 3}
    with pytest.raises(ValueError, match="30 texts but 2 labels"):
        open_data(texts=texts, labels=["a", "b"])
    with pytest.raises(ValueError, match="expected columns 'text'"):
        open_data(Frame(body=texts, label=labels), "sentiment")


def test_real_pandas_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": [t for t, _ in rows(20)], "label": [i % 2 for i in range(20)]})
    data = open_data(frame, "sentiment")
    assert data.labels == ["0", "1"] and sum(data.sizes().values()) == 20


# ---------------------------------------------------------------------------------- label maps
def test_label_map_aligns_data_to_the_model() -> None:
    data = open_data(texts=[t for t, _ in rows(20)], labels=[y for _, y in rows(20)])
    aligned = align_labels(data, ["negative", "positive"], "neg=negative,pos=positive")
    assert aligned.labels == ["negative", "positive"] and aligned.info["label_map"] == {"neg": "negative",
                                                                                       "pos": "positive"}
    assert [aligned.labels[ex.label] for ex in aligned.train] == [
        {"neg": "negative", "pos": "positive"}[data.labels[ex.label]] for ex in data.train]
    reordered = align_labels(data, ["pos", "neg"])  # same names, the model's order
    assert [reordered.labels[ex.label] for ex in reordered.test] == [data.labels[ex.label] for ex in data.test]
    with pytest.raises(ValueError, match=r"labels \['neg', 'pos'\] that the model does not predict.*--label-map neg="):
        align_labels(data, ["negative", "positive"])
    with pytest.raises(ValueError, match="which the model does not predict"):
        align_labels(data, ["negative", "positive"], {"neg": "bad"})
    with pytest.raises(ValueError, match=r"names \['x'\], which"):
        align_labels(data, ["negative", "positive"], {"x": "negative"})


@pytest.mark.parametrize("text", ["neg", "neg=", "=pos", "a=b,a=c", " , "])
def test_bad_label_maps(text: str) -> None:
    with pytest.raises(ValueError, match="--label-map"):
        parse_label_map(text)


# -------------------------------------------------------------------------------- degenerate data
def test_one_class_is_refused(tmp_path: Path) -> None:
    one = write_csv(tmp_path / "one.csv", rows(10, labels=("pos",)), header="text,label")
    for call in (lambda: open_data(one, "sentiment"), lambda: open_data(train=one),
                 lambda: open_data(texts=["a b", "c d"], labels=["x", "x"])):
        with pytest.raises(ValueError, match="needs at least two labels; found only '(pos|x)'"):
            call()


@pytest.mark.parametrize(("label", "found"), [("[1, 2]", "a list"), ('{"a": 1}', "an object"), ("null", "null")])
def test_jsonl_label_must_be_a_scalar(tmp_path: Path, label: str, found: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(f'{{"text": "fine", "label": 1}}\n{{"text": "bad", "label": {label}}}\n')
    with pytest.raises(ValueError, match=f"x.jsonl: line 2: label 'label' must be a string or a number, found {found}"):
        read_jsonl(path)


# ---------------------------------------------------------------------------------------- text I/O
def test_latin1_csv_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nfine,1\ncaf\u00e9 cr\u00e8me,0\n".encode("latin-1"))
    with pytest.raises(ValueError) as err:
        open_data(path, "sentiment")
    message = str(err.value)
    assert "latin.csv: line 3: not UTF-8 (byte 0xe9 at column 4)" in message and "iconv" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["bad.jsonl", "bad.txt", "bad.tsv"])
def test_invalid_utf8_gives_the_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    good = {"jsonl": '{"text": "ok", "label": 1}', "tsv": "sentence\tlabel", "txt": "ok"}[name.split(".")[1]]
    path.write_bytes(good.encode() + b"\n" + good.encode() + b"\nbad \xff\xfe\n")
    with pytest.raises(ValueError, match=f"{name}: line 3: not UTF-8"):
        if name.endswith(".txt"):
            read_text_file(path)
        else:
            read_jsonl(path) if name.endswith("jsonl") else open_data(path, "sentiment")


def test_fields_over_128_kib_are_read(tmp_path: Path) -> None:
    long = "word " * 60_000  # 300 KB in one quoted field
    path = tmp_path / "long.csv"
    path.write_text(f'text,label\n"{long}",pos\nshort,neg\n')
    parsed = read_table(path)
    assert len(parsed.examples[0].text) == len(long.strip())
    import csv

    assert csv.field_size_limit() == 131072  # restored


def test_blank_lines_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\nfine,pos\n\nbad,neg\n   \ngood,pos\n")
    with pytest.warns(UserWarning, match=r"gaps.csv: skipped 2 blank lines \(lines 3, 5\)"):
        parsed = read_table(path)
    assert [ex.text for ex in parsed.examples] == ["fine", "bad", "good"]
    jsonl = tmp_path / "gaps.jsonl"
    jsonl.write_text('{"text": "a", "label": 1}\n\n{"text": "b", "label": 0}\n')
    with pytest.warns(UserWarning, match=r"skipped 1 blank lines \(lines 2\)"):
        assert len(read_jsonl(jsonl).examples) == 2
    empty = tmp_path / "empty_text.csv"
    empty.write_text('text,label\n"",pos\nfine,neg\n')
    with pytest.warns(UserWarning, match=r"dropped 1 examples with empty text \(lines 2\)"):
        read_table(empty)


def test_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('text,label\n"a\nb",pos\nc,neg,extra\n')
    with pytest.raises(ValueError, match="ragged.csv: line 4: expected 2 fields, found 3"):
        read_table(path)


# ----------------------------------------------------------------------------------- parallel text
def test_line_aligned_parallel_files(tmp_path: Path) -> None:
    src, tgt = tmp_path / "train.fr", tmp_path / "train.en"
    fr = [f"phrase numéro {i}" for i in range(40)]
    en = [f"sentence number {i}" for i in range(40)]
    src.write_text("\n".join(fr) + "\n", encoding="utf-8")
    tgt.write_text("\r\n".join(en) + "\r\n", encoding="utf-8")
    data = open_data(src=src, tgt=tgt, seed=2)
    assert (data.src_lang, data.tgt_lang) == ("fr", "en") and sum(data.sizes().values()) == 40
    assert {(p.src, p.tgt) for s in ("train", "val", "test") for p in data.part(s)} == set(zip(fr, en, strict=True))
    assert data.split["files"] == {"src": str(src.resolve()), "tgt": str(tgt.resolve())}
    tgt.write_text("\n".join(en[:39]) + "\n")
    with pytest.raises(ValueError, match=r"train.fr has 40 lines but .*train.en has 39"):
        read_parallel_lines(src, tgt)


def test_parallel_tsv_and_blank_sides(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text("bonjour\thello\n\nmerci\t\nau revoir\tgoodbye\textra\n")
    with pytest.warns(UserWarning, match=r"skipped 2 pairs with an empty side \(lines 2, 3\)"):
        assert read_parallel_tsv(path) == [("bonjour", "hello"), ("au revoir", "goodbye")]
    path.write_text("".join(f"s{i} mot\tw{i} word\n" for i in range(30)))
    data = open_data(path, "translation", max_words=10)
    assert sum(data.sizes().values()) == 30 and data.src_lang == "src"
    path.write_text("no tab here\n")
    with pytest.raises(ValueError, match="pairs.tsv: line 1: expected 'source<TAB>target'"):
        read_parallel_tsv(path)


# ----------------------------------------------------------------------------------------- sources
def test_describe_sources_records_absolute_paths_and_sha256(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("data.csv").write_text("text,label\na,1\n")
    sources = describe_sources({"train": "data.csv", "val": None, "data": "rt-polarity"})
    assert list(sources) == ["train"]
    assert sources["train"]["path"] == str((tmp_path / "data.csv").resolve())
    assert sources["train"]["sha256"] == hashlib.sha256(b"text,label\na,1\n").hexdigest()
    folder = describe_source(FIXTURES / "aclImdb")
    assert folder["kind"] == "folder" and len(folder["sha256"]) == 64
    assert absolute_source("data.csv") == str((tmp_path / "data.csv").resolve())
    assert absolute_source("rt-polarity") == "rt-polarity" and absolute_source(None) is None
    from rnnkit.data.sources import absolute_options
    from rnnkit.tasks.lm import LMOptions

    assert absolute_options(LMOptions(data="data.csv")).data == str((tmp_path / "data.csv").resolve())
    assert absolute_options(LMOptions(data="austen")).data == "austen"
    assert check_sources(sources) == []
    Path("data.csv").write_text("text,label\na,2\n")
    assert "changed since training" in check_sources(sources)[0]
    os.remove("data.csv")
    assert "no longer exists" in check_sources(sources)[0]


# ---------------------------------------------------------------------------------- --tokenizer auto
def test_auto_level_is_word_for_word_level_text(tmp_path: Path) -> None:
    prose = "\n".join(f"the {w} of the {v} was {u} ." for w in WORDS for v in WORDS for u in WORDS[:3])
    path = tmp_path / "prose.txt"
    path.write_text(prose)
    assert open_data(path, "lm").level == "word"
    assert guess_level("".join(chr(0x4E00 + i % 50) for i in range(2000))) == "char"  # no spaces
    assert guess_level(" ".join(f"w{i}" for i in range(500))) == "char"  # every word a one-off
    assert read_text_file(path, level="char").level == "char"  # an explicit level is kept


# ---------------------------------------------------------------------------------- feature cache
def test_speech_feature_cache_keyed_by_content_and_verified(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    from rnnkit.features.audio import FeatureConfig
    from rnnkit.features.cache import cache_key, cached_features

    rate = 16_000
    wavs = [tmp_path / f"{i}.wav" for i in range(2)]
    for i, wav in enumerate(wavs):
        t = np.arange(rate // 4) / rate
        sf.write(wav, 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t), rate)
    cfg = FeatureConfig()
    logs: list[str] = []
    frames, offsets = cached_features(wavs, cfg, root=tmp_path / "cache", log=logs.append)
    assert offsets[0] == 0 and offsets[-1] == frames.shape[0] and frames.shape[1] == cfg.dim
    again, _ = cached_features(wavs, cfg, root=tmp_path / "cache", log=logs.append)
    assert np.array_equal(again, frames) and len(logs) == 1  # the second call read the cache
    key = cache_key(wavs, cfg)
    cache_file = tmp_path / "cache" / "speech" / "features" / f"{key}.npz"
    cache_file.write_bytes(cache_file.read_bytes()[:200])  # cut off
    rebuilt, _ = cached_features(wavs, cfg, root=tmp_path / "cache", log=logs.append)
    assert np.array_equal(rebuilt, frames) and "damaged feature cache" in logs[1]
    t = np.arange(rate // 4) / rate
    sf.write(wavs[1], 0.3 * np.sin(2 * np.pi * 900 * t), rate)  # new audio under the same name
    assert cache_key(wavs, cfg) != key
    changed, _ = cached_features(wavs, cfg, root=tmp_path / "cache", log=logs.append)
    assert not np.array_equal(changed, frames) and logs[-1].startswith("computing")


# ------------------------------------------------------------------------------ the CLI, end to end
def test_cli_trains_on_separate_files_and_evaluates_from_anywhere(tmp_path: Path, monkeypatch, capsys) -> None:
    from rnnkit.cli import main

    reviews = rows(40, labels=("negative", "positive"))
    train = write_csv(tmp_path / "train.csv", [(t, y) for t, y in reviews[:32]], header="review,mood")
    test = write_csv(tmp_path / "test.csv", [(t, y) for t, y in reviews[32:]], header="review,mood")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["train", "sentiment", "--train", "../train.csv", "--test", "../test.csv", "--text-col", "review",
                 "--label-col", "mood", "--model", "bow", "--min-freq", "1", "--epochs", "1", "--no-progress",
                 "--out", "run"]) == 0
    config = json.loads((work / "run" / "config.json").read_text())
    assert config["options"]["train"] == str(train.resolve()) and config["options"]["data"] is None
    assert config["sources"]["test"] == {"path": str(test.resolve()), "bytes": test.stat().st_size,
                                         "sha256": hashlib.sha256(test.read_bytes()).hexdigest()}
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    assert metrics["split"]["carved"] == {"val": 0.1} and len(metrics["split"]["keys"]["test"]) == 8
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(work / "run"), "--json"]) == 0  # the stored absolute paths still resolve
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    test.write_text(test.read_text().replace("number", "no."))
    with pytest.warns(UserWarning, match=r"training data test: .*test.csv changed since training"):
        assert main(["evaluate", str(work / "run"), "--json"]) == 0
    capsys.readouterr()
    shop = write_csv(tmp_path / "shop.csv", [(t, {"negative": "neg", "positive": "pos"}[y]) for t, y in reviews],
                     header="body,y")
    assert main(["evaluate", str(work / "run"), "--data", str(shop), "--text-col", "body", "--label-col", "y"]) == 1
    assert "map them with --label-map neg=LABEL" in capsys.readouterr().err
    assert main(["evaluate", str(work / "run"), "--data", str(shop), "--text-col", "body", "--label-col", "y",
                 "--label-map", "neg=negative,pos=positive", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["label_map"] == {"neg": "negative", "pos": "positive"}
    assert report["confusion"]["labels"] == ["negative", "positive"]


def test_cli_translates_plain_parallel_files(tmp_path: Path, capsys) -> None:
    from rnnkit.cli import main

    src, tgt = tmp_path / "corpus.de", tmp_path / "corpus.en"
    src.write_text("".join(f"das haus {i} ist gross\n" for i in range(60)), encoding="utf-8")
    tgt.write_text("".join(f"the house {i} is big\n" for i in range(59)), encoding="utf-8")
    flags = ["--epochs", "1", "--no-progress", "--embed-dim", "8", "--hidden-size", "8", "--src-bpe", "60",
             "--tgt-bpe", "60", "--batch-size", "8", "--beam", "1", "--out", str(tmp_path / "mt")]
    assert main(["train", "translate", "--src", str(src), "--tgt", str(tgt), *flags]) == 1
    assert "corpus.de has 60 lines but" in capsys.readouterr().err
    tgt.write_text("".join(f"the house {i} is big\n" for i in range(60)), encoding="utf-8")
    assert main(["train", "translate", "--src", str(src), "--tgt", str(tgt), *flags]) == 0
    config = json.loads((tmp_path / "mt" / "config.json").read_text())
    assert set(config["sources"]) == {"src", "tgt"} and config["options"]["data"] is None
    metrics = json.loads((tmp_path / "mt" / "metrics.json").read_text())
    assert metrics["data"]["direction"] == "de-en"
