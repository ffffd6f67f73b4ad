"""Weaviate Embedded, run for every editor window of a user: one process per port, shared.

The v3 client's own Embedded mode ties Weaviate to the Python process that
started it (it stops Weaviate when its client is collected), so a window
closing would pull Weaviate from under another. Here Weaviate runs in its own
session (an editor killing its language server's process group does not reach
it), each user of it holds a lease (a file naming its process), and the last
lease released stops it. Whoever finds it not answering starts it again, under
a file lock, so two windows never start two.
The binary itself comes from `embedded_release.py`.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path

from ..settings import WeaviateSettings
from .embedded_release import DownloadProgress, EmbeddedOptions, WeaviateRelease, instance_lock
from .errors import EmbeddedWeaviateError
from .weaviate_build import Step

START_TIMEOUT_S = 60.0  # Weaviate loads its data before it answers
STOP_TIMEOUT_S = 10.0
DEFAULT_EMBEDDED_PORT = 8079  # weaviate.embedded_port's default


class EmbeddedWeaviate:
    """One user's Weaviate Embedded on one port: fetched once, started once, shared, stopped by the last user."""

    def __init__(self, options: EmbeddedOptions) -> None:
        self.options = options
        self.program = WeaviateRelease(options)  # the binary this instance runs
        self._lease: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.options.hostname}:{self.options.port}"

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
        self.program.fetch(progress, step)
        with instance_lock(self.options.state_dir):
            if self.answering():
                return False  # another window started it while we waited for the lock
            if self._port_taken():
                if self._wait_answering(START_TIMEOUT_S):  # a Weaviate still loading its data
                    return False
                raise EmbeddedWeaviateError(
                    self.options.version, str(self.program.binary),
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
        if options.memory_limit:
            env["GOMEMLIMIT"] = options.memory_limit  # Go collects harder as the heap nears it
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.program.binary), "--host", options.hostname, "--port", str(options.port), "--scheme", "http"],
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
                options.version, str(self.program.binary), f"Weaviate {how}; its log ({log_path}) ends: {tail}"
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
        with instance_lock(self.options.state_dir):
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
            memory_limit=settings.embedded_memory_limit,
        )
    )
