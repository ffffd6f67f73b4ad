"""File-system events of workspace folders, without an editor. No LSP here.

The MCP server has no editor to tell it what changed, so it asks the kernel
(inotify, FSEvents, ReadDirectoryChangesW through `watchfiles`). Events go
into the same `ChangeQueue` the language server fills from editor events, so a
branch switch of thousands of files becomes one batch there. Only paths the
workspace's ignore rules would index are passed on as changes; deletions are
passed on as they come (a deleted folder cannot be asked what it held).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles

from .changes import ChangeKind
from .workspace.discovery import IgnoreRules, relative_posix

STEP_MS = 50  # how often the watcher looks for more events of a burst
DEBOUNCE_MS = 200  # longest a burst is held before its events are handed over (the queue debounces too)
POLL_MS = 1000  # how often a polling watcher walks the tree

ChangeSink = Callable[[Path, ChangeKind], None]


class WorkspaceFilter(watchfiles.DefaultFilter):
    """watchfiles' filter (VCS folders, caches, editor swap files) and then the workspace's own ignore rules."""

    def __init__(self, roots: Sequence[Path], exclude: Sequence[str], include: Sequence[str]) -> None:
        super().__init__()
        self._rules = [(root, IgnoreRules(root, exclude, include)) for root in roots]

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        if change == watchfiles.Change.deleted:
            return True
        for root, rules in self._rules:
            rel = relative_posix(root, Path(path))
            if rel is not None and rel != ".":
                return Path(path).is_dir() or rules.allows_file(rel)
        return False


async def watch_folders(
    roots: Sequence[Path],
    exclude: Sequence[str],
    include: Sequence[str],
    on_change: ChangeSink,
    stop: asyncio.Event,
    polling: bool = False,
) -> None:
    """Hand every change under `roots` to `on_change` until `stop` is set (blocking the caller's task only).

    `polling` looks at the tree every `POLL_MS` instead of asking the kernel: for when the kernel
    refuses more watches (inotify's `max_user_watches`) or the folder is on a network file system.
    Raises OSError when the kernel refuses to watch.
    """
    watch_filter = WorkspaceFilter(roots, exclude, include)
    async for changes in watchfiles.awatch(
        *roots, watch_filter=watch_filter, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
        ignore_permission_denied=True, force_polling=polling, poll_delay_ms=POLL_MS,
    ):
        for change, path in changes:
            on_change(Path(path), ChangeKind.DELETED if change == watchfiles.Change.deleted else ChangeKind.CHANGED)
