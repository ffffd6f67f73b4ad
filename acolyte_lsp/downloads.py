"""Streaming a download to a file with progress, and saying how far it got.

Weaviate Embedded's release archive (`store/embedded.py`) and a model's files
(`models/acquire.py`) are fetched the same way; each caller words its own errors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def content_length(header: str | None) -> int | None:
    """The size a reply announces (None: not said, or not a number)."""
    return int(header) if header and header.isdigit() else None


def save_response(
    reply: BinaryIO, total: int | None, destination: Path, progress: Callable[[int, int | None], None], block: int
) -> int:
    """Write `reply` to `destination` in blocks, telling `progress(done, total)` after each; the bytes written.

    Fewer than `total` bytes means the download stopped short: the caller says what that means.
    """
    done = 0
    with destination.open("wb") as out:
        while data := reply.read(block):
            out.write(data)
            done += len(data)
            progress(done, total)
    return done


def progress_text(done: int, total: int | None) -> tuple[int | None, str]:
    """(percentage or None, "12.3 of 90.9 MB") for a download so far."""
    if not total:
        return None, f"{done / 1e6:.1f} MB"
    return min(100, done * 100 // total), f"{done / 1e6:.1f} of {total / 1e6:.1f} MB"
