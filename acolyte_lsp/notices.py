"""What the indexing session tells the user, for the server (LSP messages, progress) or the CLI to show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """Something to tell the user once (the server shows it as a message)."""

    level: str  # "error" | "warning" | "info"
    message: str
    once: bool = False  # shown once per server process, however many sessions repeat it


@dataclass(frozen=True)
class SetupStep:
    """How getting something ready goes (Weaviate Embedded, the embedding model), for the user to watch."""

    message: str
    percentage: int | None = None
    done: bool = False
    title: str = "Weaviate Embedded"


NoticeSink = Callable[[Notice], None]
SetupSink = Callable[[SetupStep], None]
