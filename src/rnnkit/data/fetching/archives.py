"""Reading one member out of the archives registry packages come in: wheels/zips, tarballs, .debs.

A member may sit inside an archive inside the package (``path = (outer member, inner member)``), as
VADER's ``hutto_ICWSM_2014.tar.gz`` does inside its sdist. A ``.deb`` is an ``ar`` archive whose
``data.tar.{xz,gz,bz2,zst}`` holds the files; zstd is read with the stdlib (Python ≥ 3.14), else
``dpkg-deb --fsys-tarfile``, else the ``zstd`` tool. Nothing is ever extracted by the archive's own
paths: the caller names the destination file; :func:`iter_archive_files` walks every regular file so
:func:`rnnkit.data.fetching.cache.fetch_members` can pick those matching a glob.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO


def open_in_archive(archive: IO[bytes], archive_name: str, member: str) -> IO[bytes]:
    """Open ``member`` inside an archive given as a binary file object; the kind follows its name."""
    name = archive_name.lower()
    if name.endswith((".whl", ".zip")):
        zf = zipfile.ZipFile(archive)
        try:
            return zf.open(member)
        except KeyError:
            raise FileNotFoundError(f"{member!r} not found in {archive_name}") from None
    if name.endswith(".deb"):
        data_name, data = _deb_data_tar(archive, archive_name)
        return open_in_archive(io.BytesIO(data), data_name, member)
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        tf = tarfile.open(fileobj=archive, mode="r:*")
        for candidate in (member, f"./{member}", member.removeprefix("./")):
            try:
                info = tf.getmember(candidate)
            except KeyError:
                continue
            handle = tf.extractfile(info) if info.isfile() else None
            if handle is None:
                raise FileNotFoundError(f"{member!r} in {archive_name} is not a regular file")
            return handle
        raise FileNotFoundError(f"{member!r} not found in {archive_name}")
    raise ValueError(f"cannot open archive {archive_name!r}: unknown archive type")


def extract_member_to(archive: Path, path: tuple[str, ...], dest: Path) -> str:
    """Stream the member at ``path`` (nested archives allowed) into ``dest``; return its sha256."""
    h = hashlib.sha256()
    with open(archive, "rb") as outer:
        handle: IO[bytes] = outer
        name = archive.name
        for depth, part in enumerate(path):
            handle = open_in_archive(handle, name, part)
            name = part
            if depth < len(path) - 1:  # a nested archive: tarfile/zipfile need a seekable object
                handle = io.BytesIO(handle.read())
        with open(dest, "wb") as f:
            while block := handle.read(1 << 20):
                h.update(block)
                f.write(block)
    return h.hexdigest()


def iter_archive_files(archive: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """Yield ``(name, handle)`` for every regular file of a wheel/zip, tarball or .deb (its data.tar).

    Names are POSIX paths without a leading ``./``; each handle is valid until the next iteration.
    """
    name = archive.name.lower()
    with open(archive, "rb") as f:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(f) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        with zf.open(info) as handle:
                            yield info.filename.removeprefix("./"), handle
            return
        if name.endswith(".deb"):
            data_name, data = _deb_data_tar(f, archive.name)
            tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
            tf = tarfile.open(fileobj=f, mode="r:*")
        else:
            raise ValueError(f"cannot open archive {archive.name!r}: unknown archive type")
        with tf:
            for info in tf:
                handle = tf.extractfile(info) if info.isfile() else None
                if handle is not None:
                    yield info.name.removeprefix("./"), handle


@lru_cache(maxsize=64)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a POSIX glob: ``*`` and ``?`` stay within one path segment, ``**/`` spans folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _deb_data_tar(archive: IO[bytes], archive_name: str) -> tuple[str, bytes]:
    """The ``data.tar.*`` member of a .deb (an ``ar`` archive), decompressed to a plain tar if zstd."""
    if archive.read(8) != b"!<arch>\n":
        raise ValueError(f"{archive_name} is not a Debian package (no ar header)")
    while len(header := archive.read(60)) == 60:
        member = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        if member.startswith("data.tar"):
            data = archive.read(size)
            if len(data) != size:
                raise ValueError(f"{archive_name}: truncated {member}")
            if member.endswith(".zst"):
                deb_path = getattr(archive, "name", None)
                return "data.tar", _unzstd(data, archive_name, deb_path if isinstance(deb_path, str) else None)
            return member, data
        archive.seek(size + (size & 1), os.SEEK_CUR)
    raise ValueError(f"{archive_name}: no data.tar member")


def _unzstd(data: bytes, archive_name: str, deb_path: str | None) -> bytes:
    """Decompress a zstd ``data.tar.zst``: stdlib (3.14+), else ``dpkg-deb``, else the ``zstd`` tool."""
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return bytes(zstd.decompress(data))
    except ImportError:
        pass
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is not None and deb_path is not None:
        return subprocess.run([dpkg_deb, "--fsys-tarfile", deb_path], capture_output=True, check=True).stdout
    zstd_bin = shutil.which("zstd")
    if zstd_bin is not None:
        return subprocess.run([zstd_bin, "-dc"], input=data, capture_output=True, check=True).stdout
    raise RuntimeError(f"{archive_name} is zstd-compressed: install dpkg-deb or zstd (or use Python >= 3.14)")
