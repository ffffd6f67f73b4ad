"""Work-done progress for long runs, or log lines for clients without progress support."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ..indexer.events import IndexProgress


class ProgressReporter:
    """One server-created work-done progress (begin → report… → end), owned by one run.

    A cancellable one hears the client's cancel button through pygls's own future
    for its token (`work_done_progress.tokens`), which sets `cancel`: the run
    stops at its next clean point.
    """

    def __init__(self, ls: LanguageServer, title: str, cancel: asyncio.Event, cancellable: bool = True) -> None:
        self._ls = ls
        self._title = title
        self.cancel = cancel
        self._cancellable = cancellable
        self.token = f"acolyte-{uuid.uuid4()}"
        self._use_progress = bool(
            ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress
        )
        self._last_percentage = -1

    async def begin(self, message: str) -> None:
        if self._use_progress:
            try:
                await self._ls.work_done_progress.create_async(self.token)
            except Exception:  # noqa: BLE001 - a client may refuse; fall back to log lines
                self._use_progress = False
        if self._use_progress:
            self._ls.work_done_progress.begin(
                self.token,
                types.WorkDoneProgressBegin(title=self._title, message=message, percentage=0, cancellable=self._cancellable),
            )
            token_future = self._ls.work_done_progress.tokens.get(self.token)
            if self._cancellable and token_future is not None:
                loop = asyncio.get_running_loop()
                token_future.add_done_callback(lambda done: self._client_cancelled(loop, done))
        else:
            self._log(f"{self._title}: {message}")

    def _client_cancelled(self, loop: asyncio.AbstractEventLoop, token_future: Future[Any]) -> None:
        if token_future.cancelled():
            loop.call_soon_threadsafe(self.cancel.set)

    def report(self, progress: IndexProgress) -> None:
        self.report_message(*progress.describe())

    def report_message(self, message: str, percentage: int | None) -> None:
        if self._use_progress:
            self._ls.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )
        elif percentage is not None and percentage // 10 != self._last_percentage // 10:  # a log line every 10%
            self._log(f"{self._title}: {message}")
        if percentage is not None:
            self._last_percentage = percentage

    def end(self, message: str) -> None:
        if self._use_progress:
            self._ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self._ls.work_done_progress.tokens.pop(self.token, None)  # pygls keeps every token otherwise
        else:
            self._log(f"{self._title}: {message}")

    def _log(self, message: str) -> None:
        self._ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=message))
