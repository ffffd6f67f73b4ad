"""Weaviate's release binaries for Embedded: the archive URL, the download, its checksum, the cache.

Binaries are fetched and cached exactly as the v3 client does (same URL rules,
same file names under the same folder), so a binary either of them downloaded
serves both. Where a release cannot be downloaded but Go is here, it is built
from Weaviate's Go module instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..downloads import content_length, save_response
from .errors import EmbeddedWeaviateError
from .weaviate_build import BuildError, Step, build_weaviate, go_command

GITHUB_RELEASES = "https://github.com/weaviate/weaviate/releases/download/"
# A mirror of those downloads (the user's environment, never a workspace's settings).
RELEASES_ENV = "ACOLYTE_WEAVIATE_RELEASES"
BUILD_ENV = "ACOLYTE_WEAVIATE_BUILD"  # "0": never build Weaviate from its Go module
_VERSION = re.compile(r"^\d\.\d{1,2}\.\d{1,2}(-rc\.\d{1,2}|-beta\.\d{1,2}|-alpha\.\d{1,2})?$")
DOWNLOAD_CHUNK = 1 << 16
DOWNLOAD_TIMEOUT_S = 20.0  # per read: a stalled download fails rather than hangs

# (bytes so far, total bytes or None when the server does not say)
DownloadProgress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class EmbeddedOptions:
    """Where Weaviate Embedded comes from, where it keeps data, and the port it answers on."""

    version: str
    port: int
    binary_dir: Path
    data_dir: Path
    state_dir: Path  # leases, pid file and log of the instance on `port`
    hostname: str = "127.0.0.1"
    memory_limit: str = ""  # GOMEMLIMIT for the process started (empty: none)


# SHA-256 of Weaviate's release archives, by file name, checked before anything is extracted.
# Fill from the release pages; none is pinned yet: the machines this was written on cannot
# reach GitHub to read them, so every archive is trusted on first use instead (see `_verify`).
RELEASE_SHA256: dict[str, str] = {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(DOWNLOAD_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    partial.replace(path)


def download_url(version: str) -> str:
    """The release archive for a version number, or `version` itself when it is an archive URL."""
    if version.startswith(("http://", "https://")):
        if not version.endswith((".tar.gz", ".zip")):
            raise EmbeddedWeaviateError(version, "", "a version URL must name a .tar.gz or .zip archive")
        return version
    if not _VERSION.match(version):
        raise EmbeddedWeaviateError(
            version, "", "weaviate.embedded_version must be a version number such as 1.25.4, or the URL of a release archive"
        )
    tag = f"v{version}"
    releases = os.environ.get(RELEASES_ENV, "").rstrip("/") + "/" if os.environ.get(RELEASES_ENV) else GITHUB_RELEASES
    if platform.system() == "Darwin":
        return f"{releases}{tag}/weaviate-{tag}-Darwin-all.zip"
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{releases}{tag}/weaviate-{tag}-{platform.system()}-{machine}.tar.gz"


def _client_version_tag(version: str) -> str:
    """The version part of the client's binary file name (empty for URLs it cannot read one from)."""
    if version.startswith(GITHUB_RELEASES):
        return version[len(GITHUB_RELEASES):].split("/")[0]
    return "" if version.startswith(("http://", "https://")) else f"v{version}"


class WeaviateRelease:
    """The Weaviate binary of one version: downloaded (or built from its Go module) once, cached by name."""

    def __init__(self, options: EmbeddedOptions) -> None:
        self.options = options

    @property
    def binary(self) -> Path:
        """The cached binary, named as the v3 client names it."""
        version = self.options.version
        digest = hashlib.sha256(version.encode("utf-8")).hexdigest()
        return self.options.binary_dir / f"weaviate-{_client_version_tag(version)}-{digest}"

    def is_cached(self) -> bool:
        return self.binary.is_file()

    def fetch(self, progress: DownloadProgress | None = None, step: Step | None = None) -> Path:
        """The binary, downloaded first when it is not cached yet (one download even with many windows).

        Where the release cannot be downloaded but Go is here, it is built from
        Weaviate's Go module instead (`step` hears how that goes).
        """
        if self.is_cached():
            return self.binary
        with instance_lock(self.options.state_dir):
            if not self.is_cached():
                try:
                    self._download(progress or (lambda done, total: None))
                except EmbeddedWeaviateError as err:
                    if not self._can_build():
                        raise
                    self._build(err, step or (lambda message: None))
        return self.binary

    def _can_build(self) -> bool:
        if os.environ.get(BUILD_ENV, "1") == "0":
            return False
        return bool(_VERSION.match(self.options.version)) and go_command() is not None

    def _build(self, failed: EmbeddedWeaviateError, step: Step) -> None:
        step(f"Weaviate {self.options.version} cannot be downloaded ({failed.detail}); Go is here, so it is built instead")
        try:
            build_weaviate(self.options.version, self.binary, step)
        except (BuildError, OSError, subprocess.SubprocessError) as err:
            raise EmbeddedWeaviateError(
                self.options.version, str(self.binary), f"{failed.detail}; building it from its Go module failed too: {err}"
            ) from err

    def _download(self, progress: DownloadProgress) -> None:
        url = download_url(self.options.version)
        self.options.binary_dir.mkdir(parents=True, exist_ok=True)
        archive = self.options.binary_dir / f".acolyte-download-{os.getpid()}{'.zip' if url.endswith('.zip') else '.tar.gz'}"
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as reply:
                total = content_length(reply.headers.get("Content-Length"))
                progress(0, total)
                done = save_response(reply, total, archive, progress, DOWNLOAD_CHUNK)
            if total is not None and done != total:
                raise EmbeddedWeaviateError(self.options.version, str(self.binary),
                                            f"the download of {url} ended after {done:,} of {total:,} bytes")
            self._verify(url, archive)
            self._extract(archive)
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", None) or err
            raise EmbeddedWeaviateError(
                self.options.version, str(self.binary), f"cannot download {url}: {reason}"
            ) from err
        except (tarfile.TarError, zipfile.BadZipFile, KeyError) as err:
            raise EmbeddedWeaviateError(
                self.options.version, str(self.binary), f"{url} is not a Weaviate release archive ({err})"
            ) from err
        finally:
            archive.unlink(missing_ok=True)

    def _verify(self, url: str, archive: Path) -> None:
        """Refuse an archive whose SHA-256 is not the one pinned for it, or not the one seen the first time.

        Releases with a pinned checksum (`RELEASE_SHA256`) must match it. Any other
        archive (another version, a URL the user chose) is trusted on first use: its
        checksum is kept in the state folder, and a later download of the same URL
        that differs (a replaced release, a tampering mirror) is refused, not run.
        """
        actual = _sha256(archive)
        name = url.rsplit("/", 1)[-1]
        pinned = RELEASE_SHA256.get(name) if _VERSION.match(self.options.version) else None
        seen_path = self.options.state_dir.parent / "release-checksums.json"
        seen = _read_json(seen_path)
        expected = pinned or seen.get(url)
        if expected is not None and expected != actual:
            raise EmbeddedWeaviateError(
                self.options.version, str(self.binary),
                f"the archive downloaded from {url} has SHA-256 {actual}, not the {'pinned' if pinned else 'earlier'} "
                f"{expected}; it was not run (a replaced release or a tampered download)",
            )
        if expected is None:
            seen[url] = actual
            _write_json(seen_path, seen)

    def _extract(self, archive: Path) -> None:
        partial = self.binary.with_name(self.binary.name + ".partial")
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle, bundle.open("weaviate") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, DOWNLOAD_CHUNK)
        else:
            with tarfile.open(archive) as tarball:
                member = tarball.extractfile("weaviate")
                if member is None:
                    raise KeyError("its 'weaviate' entry is not a file")
                with member, partial.open("wb") as dst:
                    shutil.copyfileobj(member, dst, DOWNLOAD_CHUNK)
        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        partial.replace(self.binary)  # atomic: nobody ever runs half a binary


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """One process at a time downloads, starts or stops the instance whose state is in `state_dir`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
