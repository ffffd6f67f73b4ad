"""One asyncio lock per file, so a save and a workspace run that touch the same file take turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileLocks:
    """Locks created on demand and dropped when nobody holds or waits for them.

    Whichever holder runs last reads the file from disk last, so the index ends
    up with what is on disk.
    """

    locks: dict[tuple[Path, str], asyncio.Lock] = field(default_factory=dict)
    users: dict[tuple[Path, str], int] = field(default_factory=dict)

    async def acquire(self, root: Path, rel_paths: Sequence[str]) -> None:
        """Take the locks of these files (in sorted order: two holders of several can never deadlock)."""
        keys = sorted({(root, p) for p in rel_paths})
        for key in keys:
            self.users[key] = self.users.get(key, 0) + 1
            self.locks.setdefault(key, asyncio.Lock())
        acquired = 0
        try:
            for key in keys:
                await self.locks[key].acquire()
                acquired += 1
        except BaseException:
            for n, key in enumerate(keys):
                self._done(key, held=n < acquired)
            raise

    def release(self, root: Path, rel_paths: Sequence[str]) -> None:
        """Give back locks `acquire` took."""
        for key in sorted({(root, p) for p in rel_paths}):
            self._done(key, held=True)

    def _done(self, key: tuple[Path, str], held: bool) -> None:
        if held:
            self.locks[key].release()
        self.users[key] -= 1
        if self.users[key] == 0:
            del self.users[key], self.locks[key]

    @asynccontextmanager
    async def hold(self, root: Path, rel_paths: Sequence[str]) -> AsyncIterator[None]:
        """The locks of these files for the body of a `with`."""
        await self.acquire(root, rel_paths)
        try:
            yield
        finally:
            self.release(root, rel_paths)
