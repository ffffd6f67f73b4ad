"""Asking the editor's user whether Weaviate Embedded should stand in, and opening the settings instead."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from ..settings import CONFIG_FILE_NAME
from ..embedded_choice import Answer, remember_answer, remembered_answer

SETTINGS_TEMPLATE = """\
# acolyte-lsp settings (all keys: `acolyte-lsp schema`). Where Weaviate is:
weaviate:
  # url: http://localhost:8080   # a Weaviate server you run (or set WEAVIATE_URL)
  # embedded: true               # or Weaviate Embedded, run on this machine for every window
"""


async def ask_embedded(ls: LanguageServer, reason: str, first_folder: Path | None) -> Answer | None:
    """Ask once whether to start Weaviate Embedded; a remembered answer is not asked again."""
    answer = remembered_answer()
    if answer is not None:
        return answer
    reply = await ls.window_show_message_request_async(
        types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=(
                f"acolyte-lsp: {reason} Start Weaviate Embedded? It runs on this machine for all your "
                "editor windows and keeps the index between sessions (downloaded once). Or open settings "
                "to point weaviate.url at your Weaviate."
            ),
            actions=[types.MessageActionItem(title=choice.value) for choice in Answer],
        )
    )
    answer = None if reply is None else Answer.of(reply.title)
    if answer is not None:
        remember_answer(answer)
    if answer == Answer.SETTINGS and first_folder is not None:
        await open_settings(ls, first_folder)
    return answer


async def open_settings(ls: LanguageServer, folder: Path) -> None:
    """Show the folder's `.acolyte` in the editor, written from a template when there is none."""
    path = folder / CONFIG_FILE_NAME
    if not path.exists():
        await asyncio.to_thread(path.write_text, SETTINGS_TEMPLATE)
    await ls.window_show_document_async(types.ShowDocumentParams(uri=from_fs_path(str(path)) or path.as_uri()))
