"""Files whose chunks Weaviate refused, and when to try them again.

A refusal may be passing (an overloaded node, a class lost in a restart) and
nothing else would resend those files, so they are retried on their own, with a
growing pause while refusals go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from .indexer.events import FileFailed, FileIndexed, FileNotIndexed, FileRemoved, IndexEvent

RETRY_INITIAL_S = 15.0
RETRY_MAX_S = 600.0


class RefusedFiles:
    """The set of absolute paths whose last attempt left chunks unstored, with the retry pause."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._delay = RETRY_INITIAL_S

    def __len__(self) -> int:
        return len(self._paths)

    def __iter__(self) -> Iterator[Path]:
        return iter(sorted(self._paths))

    def note(self, event: IndexEvent) -> None:
        """Follow one indexing event: a refused file is added, a stored or removed one leaves."""
        if isinstance(event, FileFailed):
            self._paths.add(event.root.path / event.rel_path)
        elif isinstance(event, (FileIndexed, FileNotIndexed)):
            self._paths.discard(event.root.path / event.rel_path)
        elif isinstance(event, FileRemoved):
            gone = event.root.path / event.rel_path
            self._paths = {p for p in self._paths if p != gone and not p.is_relative_to(gone)}

    def keep_only(self, wanted: Callable[[Path], bool]) -> None:
        """Forget the files `wanted` refuses (those of folders no longer open)."""
        self._paths = {p for p in self._paths if wanted(p)}

    def next_delay(self) -> float:
        """The pause before the next retry; each call while refusals go on doubles the one after it."""
        delay = self._delay
        self._delay = min(delay * 2, RETRY_MAX_S)
        return delay

    def settled(self) -> None:
        """Every file went in: the next refusal is retried soon again."""
        self._delay = RETRY_INITIAL_S
