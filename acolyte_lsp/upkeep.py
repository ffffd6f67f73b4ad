"""Keeping a session's index converged for as long as it runs: after connecting, after each outage,
every `indexing.resync_minutes`, and when another process that indexed a folder stops. No LSP here.

The language server and the MCP server run the same loop; each wraps a run its
own way (work-done progress in an editor, quietly for an agent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .controller import Controller
from .indexer.events import WorkspaceRoot
from .store.errors import StoreError

IndexEverything = Callable[[], Awaitable[object]]
IndexFreed = Callable[[list[WorkspaceRoot]], Awaitable[object]]


async def keep_index_converged(controller: Controller, index_everything: IndexEverything, index_freed: IndexFreed) -> None:
    """Connect, then index whenever a connection comes up: at start and after every outage (runs until cancelled).

    Each run converges to what is on disk, so whatever changed while Weaviate
    was away, or while another process held a folder's lease, is picked up.
    """
    await controller.connection.connect()
    take_over = asyncio.ensure_future(_take_over_when_free(controller, index_freed))
    try:
        while True:
            await controller.connection.wait_connected()
            await index_everything()
            resync_s = controller.settings.indexing.resync_minutes * 60 or None
            while controller.connected:
                try:
                    await asyncio.wait_for(controller.connection.wait_disconnected(), resync_s)
                except asyncio.TimeoutError:
                    await controller.index_all()  # quiet: a no-change run sends nothing
    finally:
        take_over.cancel()


async def _take_over_when_free(controller: Controller, index_freed: IndexFreed) -> None:
    if controller.leases is None:
        return
    while True:
        freed = await controller.leases.wait_freed(controller.roots)
        await controller.connection.wait_connected()
        try:
            await index_freed(freed)
        except StoreError:
            pass  # the connection is lost: the run after reconnecting indexes every root this one holds
