"""Writing small workspaces for tests."""

from __future__ import annotations

from pathlib import Path


def write(root: Path, files: dict[str, str]) -> None:
    """Create each file (and its folders) under `root` with the given text."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def lines(prefix: str, n: int) -> str:
    """`n` numbered lines starting with `prefix`."""
    return "".join(f"{prefix} line {i}\n" for i in range(1, n + 1))
