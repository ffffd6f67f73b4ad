"""Weaviate Embedded, run for every editor window of a user: one process per port, shared.

The v3 client's own Embedded mode ties Weaviate to the Python process that
started it (it stops Weaviate when its client is collected), so a window
closing would pull Weaviate from under another. Here Weaviate runs in its own
session (an editor killing its language server's process group does not reach
it), each user of it holds a lease (a file naming its process), and the last
lease released stops it. Whoever finds it not answering starts it again, under
a file lock, so two windows never start two.

Binaries are fetched and cached exactly as the v3 client does (same URL rules,
same file names under the same folder), so a binary either of them downloaded
serves both.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import stat
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import WeaviateSettings
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
START_TIMEOUT_S = 60.0  # Weaviate loads its data before it answers
STOP_TIMEOUT_S = 10.0
DEFAULT_EMBEDDED_PORT = 8079  # weaviate.embedded_port's default

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


class EmbeddedWeaviate:
    """One user's Weaviate Embedded on one port: fetched once, started once, shared, stopped by the last user."""

    def __init__(self, options: EmbeddedOptions) -> None:
        self.options = options
        self._lease: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.options.hostname}:{self.options.port}"

    @property
    def binary(self) -> Path:
        """The cached binary, named as the v3 client names it."""
        version = self.options.version
        digest = hashlib.sha256(version.encode("utf-8")).hexdigest()
        return self.options.binary_dir / f"weaviate-{_client_version_tag(version)}-{digest}"

    def is_cached(self) -> bool:
        return self.binary.is_file()

    # -- fetching ------------------------------------------------------------------

    def fetch(self, progress: DownloadProgress | None = None, step: Step | None = None) -> Path:
        """The binary, downloaded first when it is not cached yet (one download even with many windows).

        Where the release cannot be downloaded but Go is here, it is built from
        Weaviate's Go module instead (`step` hears how that goes).
        """
        if self.is_cached():
            return self.binary
        with self._locked():
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
            with tarfile.open(archive) as bundle:
                member = bundle.extractfile("weaviate")
                if member is None:
                    raise KeyError("its 'weaviate' entry is not a file")
                with member, partial.open("wb") as dst:
                    shutil.copyfileobj(member, dst, DOWNLOAD_CHUNK)
        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        partial.replace(self.binary)  # atomic: nobody ever runs half a binary

    # -- running ---------------------------------------------------------------------

    def answering(self) -> bool:
        """Weaviate on the port says it is ready."""
        try:
            with urllib.request.urlopen(f"{self.url}/v1/.well-known/ready", timeout=2.0) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _port_taken(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            return probe.connect_ex((self.options.hostname, self.options.port)) == 0

    def ensure_running(self, progress: DownloadProgress | None = None, step: Step | None = None) -> bool:
        """Make Weaviate answer on the port and hold a lease on it; True when this call started it.

        A Weaviate already answering there (another window's) is shared, not
        started again; one that crashed is started again on the same data.
        """
        if self._lease is None:
            self._lease = self._take_lease()
        if self.answering():
            return False
        self.fetch(progress, step)
        with self._locked():
            if self.answering():
                return False  # another window started it while we waited for the lock
            if self._port_taken():
                if self._wait_answering(START_TIMEOUT_S):  # a Weaviate still loading its data
                    return False
                raise EmbeddedWeaviateError(
                    self.options.version, str(self.binary),
                    f"port {self.options.port} is taken by a program that is not a Weaviate that answers; "
                    "set weaviate.embedded_port to a free port",
                )
            self._start()
        return True

    def _start(self) -> None:
        options = self.options
        options.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = options.state_dir / "weaviate.log"
        # One fixed node name per port: Weaviate keeps its data under the node's name.
        env = dict(os.environ) | loopback_node_env(f"Embedded_at_{options.port}", options.data_dir)
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.binary), "--host", options.hostname, "--port", str(options.port), "--scheme", "http"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not in the editor's process group: closing a window leaves it running
            )
        (options.state_dir / "weaviate.pid").write_text(str(self._process.pid))
        if not self._wait_answering(START_TIMEOUT_S):
            exited = self._process.poll()
            tail = _tail(log_path)
            self._process.kill()
            how = f"exited with code {exited}" if exited is not None else f"did not answer within {START_TIMEOUT_S:.0f} s"
            raise EmbeddedWeaviateError(
                options.version, str(self.binary), f"Weaviate {how}; its log ({log_path}) ends: {tail}"
            )

    def _wait_answering(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.answering():
                return True
            if self._process is not None and self._process.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    # -- sharing ---------------------------------------------------------------------

    def users(self) -> list[int]:
        """Processes holding a lease (leases of processes that died are dropped)."""
        alive = []
        for lease in self._leases_dir().glob("*"):
            pid = _lease_pid(lease)
            if pid is not None and _alive(pid):
                alive.append(pid)
            else:
                lease.unlink(missing_ok=True)
        return sorted(alive)

    def release(self) -> bool:
        """Give up this user's lease; the last user stops Weaviate. True when it was stopped."""
        if self._lease is None:
            return False
        lease, self._lease = self._lease, None
        with self._locked():
            lease.unlink(missing_ok=True)
            if self.users():
                return False
            return self.stop()

    def stop(self) -> bool:
        """Stop the Weaviate on the port (SIGTERM, so it flushes; SIGKILL if it will not go)."""
        pid_file = self.options.state_dir / "weaviate.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return False
        if not _alive(pid):
            pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self._reap()
        pid_file.unlink(missing_ok=True)
        return True

    def _reap(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None

    def _take_lease(self) -> Path:
        leases = self._leases_dir()
        leases.mkdir(parents=True, exist_ok=True)
        lease = leases / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        lease.touch()
        return lease

    def _leases_dir(self) -> Path:
        return self.options.state_dir / "users"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One process at a time downloads, starts or stops the instance on this port."""
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.options.state_dir / "lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def loopback_node_env(node: str, data_dir: Path) -> dict[str, str]:
    """The environment of a single-node Weaviate on loopback that shares the machine with others.

    Weaviate wants its cluster data port one above the gossip port (the v3 client
    sets only the gossip port for that reason); it advertises an address read from
    the machine's interfaces unless told (which fails where those have no name);
    and its Raft ports default to 8300/8301, so a second Weaviate on the machine
    collides. Every port here is free when chosen; the node joins only itself.
    """
    gossip = _free_port_pair()
    return {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "true",
        "QUERY_DEFAULTS_LIMIT": "20",
        "PERSISTENCE_DATA_PATH": str(data_dir),
        "DEFAULT_VECTORIZER_MODULE": "none",
        "ENABLE_MODULES": "",
        # Newer versions load their API-based modules (text2vec-openai, generative-*, …) unless told:
        # none of them, so no class here can hand text to a hosted service.
        "API_BASED_MODULES_DISABLED": "true",
        "DISABLE_TELEMETRY": "true",  # nothing leaves the machine
        "GO_PROFILING_DISABLE": "true",  # else a listener on :6060, which the first Weaviate on the machine takes
        "CLUSTER_HOSTNAME": node,
        "CLUSTER_ADVERTISE_ADDR": "127.0.0.1",
        "CLUSTER_GOSSIP_BIND_PORT": str(gossip),
        # Weaviate reaches a node (itself too, for writes at a consistency level) at its advertised
        # gossip port + 1; unset, that is memberlist's default 7946, whoever listens there.
        "CLUSTER_ADVERTISE_PORT": str(gossip),
        "CLUSTER_DATA_BIND_PORT": str(gossip + 1),
        "RAFT_PORT": str(_free_port()),
        "RAFT_INTERNAL_RPC_PORT": str(_free_port()),
        "RAFT_JOIN": node,
        "RAFT_BOOTSTRAP_EXPECT": "1",
        "GRPC_PORT": str(_free_port()),
    }


def _free_port_pair() -> int:
    """A free port whose next port is free too."""
    for _ in range(100):
        port = _free_port()
        if port < 65535:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise OSError("no two free neighbouring ports on 127.0.0.1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lease_pid(lease: Path) -> int | None:
    head = lease.name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as proc:
            return proc.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _tail(log_path: Path, lines: int = 5) -> str:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(text)[-600:] or "(empty)"


def _data_folder(port: int) -> str:
    """The default data folder: the v3 client's on the default port; one per port besides (two
    Weaviates cannot share one data folder: the second waits for the first's locks forever)."""
    return "weaviate" if port == DEFAULT_EMBEDDED_PORT else f"weaviate-{port}"


def embedded_for(settings: WeaviateSettings, env: Mapping[str, str] | None = None) -> EmbeddedWeaviate:
    """The Weaviate Embedded that `settings` describe, with the XDG folders as defaults."""
    env = os.environ if env is None else env
    home = Path.home()
    cache = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    state = Path(env.get("XDG_STATE_HOME") or home / ".local" / "state")
    return EmbeddedWeaviate(
        EmbeddedOptions(
            version=settings.embedded_version,
            port=settings.embedded_port,
            binary_dir=Path(settings.embedded_binary_path or cache / "weaviate-embedded").expanduser(),
            data_dir=Path(settings.embedded_persistence_path or data / _data_folder(settings.embedded_port)).expanduser(),
            state_dir=state / "acolyte-lsp" / f"embedded-{settings.embedded_port}",
        )
    )
