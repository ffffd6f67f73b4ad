"""Workspace trust in the editor: whether `.acolyte` may have what it asks for, asked once per content."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ..settings import WithheldSettings
from ..notices import Notice
from ..trust import ANSWERS as TRUST_ANSWERS
from ..trust import TRUST, TrustAnswers, digest, ignored_warning, question

log = logging.getLogger(__name__)


class TrustDialog:
    """The client's Workspace Trust when it tells (VS Code does), else the user's answer, asked once and kept."""

    def __init__(
        self,
        ls: LanguageServer,
        show: Callable[[Notice], None],
        spawn: Callable[[Awaitable[Any]], None],
        on_trusted: Callable[[], Awaitable[None]],
    ) -> None:
        self._ls = ls
        self._show = show
        self._spawn = spawn
        self._on_trusted = on_trusted  # reloads the settings, now with what was withheld
        self.client_trust: bool | None = None
        self.answers = TrustAnswers()
        self._trusted_now: set[str] = set()  # trusted in this session (kept even if the answer cannot be saved)
        self._handled: set[str] = set()

    def is_trusted(self, asked: WithheldSettings) -> bool:
        """The client's word when it gave one, else the user's remembered answer."""
        if self.client_trust is not None:
            return self.client_trust
        return digest(asked) in self._trusted_now or self.answers.trusted(asked)

    def withheld(self, asked: WithheldSettings) -> None:
        """Say (once per content) that `.acolyte` settings are ignored, and ask when nobody has answered yet."""
        key = digest(asked)
        if key in self._handled:
            return
        self._handled.add(key)
        if self.client_trust is False:
            self._show(Notice("warning", ignored_warning(asked, "Trust the workspace (VS Code: Manage Workspace Trust) to use them.")))
        elif self.answers.answer(asked) is None:
            self._spawn(self.ask(asked))
        else:  # declined before: no question, only a line in the log
            self._ls.window_log_message(types.LogMessageParams(
                type=types.MessageType.Info, message=ignored_warning(asked, "You chose to keep ignoring them.")
            ))

    async def ask(self, asked: WithheldSettings) -> None:
        """Ask whether to trust what `.acolyte` asks for; a yes restarts the session with those settings."""
        try:
            reply = await self._ls.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Warning,
                    message=question(asked),
                    actions=[types.MessageActionItem(title=title) for title in TRUST_ANSWERS],
                )
            )
        except Exception as err:  # noqa: BLE001 - a client that cannot ask: the safe defaults stay
            log.info("the workspace trust question failed: %s", err)
            return
        if reply is None or reply.title not in TRUST_ANSWERS:
            return  # dismissed: asked again next time
        trusted = reply.title == TRUST
        self.answers.remember(asked, trusted)
        if trusted:
            self._trusted_now.add(digest(asked))
            await self._on_trusted()
