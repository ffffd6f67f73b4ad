"""The bounded-queue plumbing that runs discover → prepare → send overlapping, with flat memory.

Discovery walks the tree in a worker thread; groups with files to read wait at
most `QUEUE_GROUPS` deep before preparing, and prepared groups as deep before
sending. Groups with nothing to read (the hash cache settles them whole) are
light, paths only, and may run `SETTLED_GROUPS_AHEAD` deep, so discovery
finishes while Weaviate is still answering what it holds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from ..store.errors import StoreError

QUEUE_GROUPS = 2  # groups waiting between two stages
SETTLED_GROUPS_AHEAD = 64  # groups the hash cache settles whole, queued while Weaviate answers

G = TypeVar("G")
P = TypeVar("P")


class Stages(Protocol[G, P]):
    """What one run does at each stage; `stream` only moves groups between them."""

    @property
    def cancelled(self) -> bool: ...

    def discover(self) -> Iterator[G]:
        """The run's groups of files (blocking: iterated in a worker thread)."""
        ...

    def has_work(self, group: G) -> bool:
        """Whether the group holds files to read (it then waits in the short queue)."""
        ...

    async def ready(self) -> None:
        """Awaited before the first group is prepared (what Weaviate holds is known then)."""
        ...

    async def prepare(self, group: G) -> P | None:
        """The group made ready to send, or None when nothing of it needs sending."""
        ...

    async def send(self, prepared: P) -> None:
        """Send a prepared group."""
        ...

    def discard(self, prepared: P) -> None:
        """Let go of a prepared group that will never be sent (cancelled, or a stage failed)."""
        ...


class _Discovery(Generic[G]):
    """The worker thread's side: hands groups to the loop, waiting for room in their queue."""

    def __init__(self, stages: Stages[G, P], loop: asyncio.AbstractEventLoop) -> None:
        self.stages = stages
        self.loop = loop
        self.groups: asyncio.Queue[G | None] = asyncio.Queue()
        self.room = {True: threading.Semaphore(QUEUE_GROUPS), False: threading.Semaphore(SETTLED_GROUPS_AHEAD)}
        self.stop = threading.Event()

    def run(self) -> None:
        for group in self.stages.discover():
            if not self._put(group):
                return
        self._put(None)

    def _put(self, group: G | None) -> bool:
        if self.stop.is_set():
            return False
        if group is not None:
            while not self.room[self.stages.has_work(group)].acquire(timeout=0.1):
                if self.stop.is_set():
                    return False
        self.loop.call_soon_threadsafe(self.groups.put_nowait, group)
        return True

    async def get(self) -> G | None:
        group = await self.groups.get()
        if group is not None:
            self.room[self.stages.has_work(group)].release()
        return group


async def stream(stages: Stages[G, P]) -> None:
    """Run every group of `stages` through discover → prepare → send, at most a few groups apart.

    A `StoreError` from any stage stops the others and is raised as itself.
    """
    discovery: _Discovery[G] = _Discovery(stages, asyncio.get_running_loop())
    prepared: asyncio.Queue[P | None] = asyncio.Queue(QUEUE_GROUPS)

    async def prepare() -> None:
        await stages.ready()
        while (group := await discovery.get()) is not None:
            if stages.cancelled:
                discovery.stop.set()  # discovery stops at its next put
                break
            ready = await stages.prepare(group)
            if ready is not None:
                try:
                    await prepared.put(ready)
                except BaseException:
                    stages.discard(ready)
                    raise
        await prepared.put(None)

    async def send() -> None:
        while (ready := await prepared.get()) is not None:
            await stages.send(ready)

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(asyncio.to_thread(discovery.run))
            tasks.create_task(prepare())
            tasks.create_task(send())
    except BaseExceptionGroup as group_error:
        discovery.stop.set()
        store_errors = [e for e in group_error.exceptions if isinstance(e, StoreError)]
        if store_errors:
            raise store_errors[0] from None
        raise
    finally:
        discovery.stop.set()
        while not prepared.empty():
            if (ready := prepared.get_nowait()) is not None:
                stages.discard(ready)
