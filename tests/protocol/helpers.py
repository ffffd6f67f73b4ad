"""Building chunk objects for protocol tests."""

from __future__ import annotations

from typing import Any

from acolyte_lsp.identity import chunk_uuid

DIMS = 16


def chunk_objects(n: int, file_path: str = "src/a.py", workspace: str = "ws") -> tuple[list[dict[str, Any]], list[list[float]], list[str]]:
    objects = [
        {
            "content": f"def f{i}(): return {i}",
            "file_path": file_path,
            "workspace": workspace,
            "language": "python",
            "chunk_type": "WINDOW",
            "chunk_name": f"lines {i * 10 + 1}-{i * 10 + 10}",
            "start_line": i * 10 + 1,
            "end_line": i * 10 + 10,
            "file_hash": "h1",
            "indexed_at": "2026-11-28T00:00:00Z",
        }
        for i in range(n)
    ]
    vectors = [[float((i + j) % 7) + 1.0 for j in range(DIMS)] for i in range(n)]
    uuids = [chunk_uuid(workspace, file_path, o["start_line"], o["end_line"], o["content"]) for o in objects]
    return objects, vectors, uuids
