"""Debounced, coalesced file changes (saves, watched files, file operations). No LSP here.

A burst of events (a branch switch touching 2,000 files, a formatter over the
tree, five saves of one file) becomes one batch: the queue waits until events
stop for `debounce_s` (or `max_wait_s` after the first one) and hands over the
last kind seen for each path. One batch is processed at a time.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)


class ChangeKind(enum.Enum):
    CHANGED = "changed"  # created or modified: index what is on disk
    DELETED = "deleted"  # gone: drop its chunks (a folder drops everything under it)


Batch = dict[Path, ChangeKind]


class ChangeQueue:
    """Collects changes and flushes them in batches through `handler`."""

    def __init__(
        self, handler: Callable[[Batch], Awaitable[None]], debounce_s: float = 0.3, max_wait_s: float = 2.0
    ) -> None:
        self._handler = handler
        self._debounce_s = debounce_s
        self._max_wait_s = max_wait_s
        self._pending: Batch = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Paths waiting for the next batch."""
        return len(self._pending)

    def add(self, path: Path, kind: ChangeKind) -> None:
        """Record a change; the latest kind for a path wins."""
        self._pending.pop(path, None)  # re-insert so batches keep event order
        self._pending[path] = kind
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def wait_idle(self) -> None:
        """Return once every change added so far has been handled."""
        await self._idle.wait()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            first = loop.time()
            while True:  # wait for a quiet moment, but not forever
                self._wake.clear()
                remaining = self._max_wait_s - (loop.time() - first)
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), min(self._debounce_s, remaining))
                except asyncio.TimeoutError:
                    break
            batch, self._pending = self._pending, {}
            try:
                await self._handler(batch)
            except Exception:  # noqa: BLE001 - one bad batch must not stop later ones
                log.exception("handling %d file changes failed", len(batch))
        self._idle.set()
