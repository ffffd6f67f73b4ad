"""Getting Weaviate Embedded or the embedding model ready, shown as one work-done progress per thing."""

from __future__ import annotations

import asyncio

from pygls.lsp.server import LanguageServer

from ..notices import SetupStep
from .progress import ProgressReporter


class SetupProgress:
    """Turns `SetupStep`s into progress: steps are shown in order, from the first one to the one marked done."""

    def __init__(self, ls: LanguageServer) -> None:
        self._ls = ls
        self._steps: asyncio.Queue[SetupStep] = asyncio.Queue()
        self._shown: asyncio.Task[None] | None = None
        self._reporter: ProgressReporter | None = None

    def __call__(self, step: SetupStep) -> None:
        self._steps.put_nowait(step)
        if self._shown is None or self._shown.done():
            self._shown = asyncio.ensure_future(self._show_steps())

    async def _show_steps(self) -> None:
        while not self._steps.empty():
            step = self._steps.get_nowait()
            if self._reporter is None:
                self._reporter = ProgressReporter(self._ls, step.title, asyncio.Event(), cancellable=False)
                await self._reporter.begin(step.message)
            if step.done:
                self._reporter.end(step.message)
                self._reporter = None
            else:
                self._reporter.report_message(step.message, step.percentage)
