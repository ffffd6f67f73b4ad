"""Stable identifiers: a workspace id per root and a deterministic UUID per chunk.

Re-sending the same chunk of the same file overwrites its object instead of
adding a duplicate, so a retried or repeated batch is harmless.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

# A fixed namespace so ids are the same on every machine and every run.
CHUNK_NAMESPACE = uuid.UUID("6f1d1a3e-5c4b-4d7a-9a43-8b1f4e0c2a71")


def workspace_id(root: Path) -> str:
    """A short stable id for a workspace root: its folder name plus a hash of its absolute path."""
    resolved = root.resolve()
    digest = hashlib.sha256(resolved.as_posix().encode("utf-8")).hexdigest()[:12]
    return f"{resolved.name or 'root'}-{digest}"


def root_name(workspace: str) -> str:
    """The folder name inside a path-derived workspace id; a shared id is its own name."""
    match = re.fullmatch(r"(.+)-[0-9a-f]{12}", workspace)
    return match.group(1) if match else workspace


def chunk_uuid(workspace: str, file_path: str, start_line: int, end_line: int, content: str) -> str:
    """uuid5 over the workspace, the file's relative path, the chunk's position and its text."""
    content_digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    name = f"{workspace}\x00{file_path}\x00{start_line}:{end_line}\x00{content_digest}"
    return str(uuid.uuid5(CHUNK_NAMESPACE, name))
