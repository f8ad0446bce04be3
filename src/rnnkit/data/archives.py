"""Reading one member out of the archives registry packages come in: wheels/zips, tarballs, .debs.

A member may sit inside an archive inside the package (``path = (outer member, inner member)``), as
VADER's ``hutto_ICWSM_2014.tar.gz`` does inside its sdist. A ``.deb`` is an ``ar`` archive whose
``data.tar.{xz,gz,bz2,zst}`` holds the files; zstd is read with the stdlib (Python ≥ 3.14), else
``dpkg-deb --fsys-tarfile``, else the ``zstd`` tool. Nothing is ever extracted by the archive's own
paths: the caller names the destination file.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
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
