"""Which process indexes a workspace: the one holding its lease. No LSP here.

An editor's language server and an agent's MCP server may serve one workspace
at once; both indexing would send every change twice. The lease is an
exclusive `flock` on a file named after the Weaviate endpoint, class and
workspace: the kernel drops it when its holder exits in any way (`kill -9`
included), so a follower that finds it free takes it and runs one incremental
index, which converges to what is on disk whatever the other left undone.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .indexer.events import WorkspaceRoot
from .notices import Notice, NoticeSink

TAKE_OVER_POLL_S = 0.5  # how often a follower tries the lease (a non-blocking flock: nothing to wait on)


def leases_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/acolyte-lsp/index-leases` (else `~/.local/state/…`)."""
    env = os.environ if env is None else env
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "acolyte-lsp" / "index-leases"


class IndexingLease:
    """The right to index one workspace of one Weaviate class, held by at most one process."""

    def __init__(self, path: Path, holder_name: str) -> None:
        self.path = path
        self._holder_name = holder_name
        self._fd: int | None = None

    @classmethod
    def for_workspace(cls, endpoint: str, class_name: str, workspace_id: str, folder: Path, holder_name: str) -> IndexingLease:
        """The lease of `folder`, indexed as `workspace_id` in `class_name` on the Weaviate at `endpoint`.

        The folder is part of it: two clones sharing a workspace id are two
        sources of truth (the last to index wins), not one.
        """
        key = hashlib.sha256(f"{endpoint}\n{class_name.lower()}\n{workspace_id}\n{folder}".encode()).hexdigest()[:24]
        return cls(leases_dir() / f"{key}.lock", holder_name)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_take(self) -> bool:
        """Take the lease if no other process holds it (never waits); True when this process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self._holder_name}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """Who holds the lease, as its holder wrote it ("12345 language server"); "" when unknown."""
        try:
            return self.path.read_text(encoding="utf-8", errors="replace").strip()[:200]
        except OSError:
            return ""

    def release(self) -> None:
        """Give the lease up (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WorkspaceLeases:
    """This process's leases on the folders it serves: it indexes those it holds and only searches the others."""

    def __init__(self, holder_name: str, on_notice: NoticeSink, where: Callable[[], tuple[str, str]]) -> None:
        """`where()` names the Weaviate endpoint and class in use now (they key the leases)."""
        self._holder_name = holder_name
        self._where = where
        self._notify = on_notice
        self._leases: dict[Path, IndexingLease] = {}
        self._told: set[Path] = set()  # folders whose follower notice was shown

    def ours(self, roots: Sequence[WorkspaceRoot]) -> list[WorkspaceRoot]:
        """The roots this process may index now (taking their leases where free); tells once of each other one."""
        endpoint, class_name = self._where()
        mine = []
        for root in roots:
            lease = self._leases.get(root.path)
            if lease is None:
                lease = IndexingLease.for_workspace(endpoint, class_name, root.workspace_id, root.path, self._holder_name)
                self._leases[root.path] = lease
            if lease.try_take():
                mine.append(root)
                self._told.discard(root.path)
            elif root.path not in self._told:
                self._told.add(root.path)
                self._notify(Notice("info", f"Another acolyte-lsp process ({lease.holder() or 'pid unknown'}) keeps "
                                            f"{root.path} indexed; this one searches it and takes over if that one stops."))
        return mine

    def indexed_by(self, root: WorkspaceRoot) -> str:
        """Who keeps `root` indexed: "this process", or the other acolyte-lsp process holding its lease."""
        lease = self._leases.get(root.path)
        if lease is None:
            return "not known yet (connecting to Weaviate)"
        return "this process" if lease.held else lease.holder() or "another acolyte-lsp process"

    def held_elsewhere(self, root: WorkspaceRoot) -> bool:
        """Whether another process holds `root`'s lease (as this one last found it)."""
        lease = self._leases.get(root.path)
        return lease is not None and not lease.held

    async def wait_freed(self, roots: Sequence[WorkspaceRoot]) -> list[WorkspaceRoot]:
        """Return the roots whose lease another process held, once this one has taken them over."""
        while True:
            waiting = [r for r in roots if self.held_elsewhere(r)]
            freed = self.ours(waiting) if waiting else []
            if freed:
                return freed
            await asyncio.sleep(TAKE_OVER_POLL_S)

    def keep_only(self, roots: Sequence[WorkspaceRoot]) -> None:
        """Give up the leases of folders no longer served."""
        kept = {r.path for r in roots}
        for path in [p for p in self._leases if p not in kept]:
            self._leases.pop(path).release()

    def release_all(self) -> None:
        self.keep_only([])
