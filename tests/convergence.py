"""The convergence invariant: what Weaviate holds for a workspace equals a fresh index of its files.

`expected_chunks` computes, from the files on disk alone, the chunks a fresh
index would store (ids, paths, line ranges, hashes); `stored_chunks` reads what
Weaviate holds for the workspace; `convergence_problems` lists every difference:
a lost file or chunk, a stale chunk, a duplicate, a chunk without its vector.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import weaviate

from acolyte_lsp.settings import EmbeddingSettings, Settings
from acolyte_lsp.embedding import load_embedder
from acolyte_lsp.identity import chunk_uuid
from acolyte_lsp.indexer.events import WorkspaceRoot
from acolyte_lsp.indexer.planning import chunking_options, stored_file_hash
from acolyte_lsp.workspace.chunking import chunk_file
from acolyte_lsp.workspace.discovery import FileSkipped, discover_files, read_source
from acolyte_lsp.workspace.secrets import find_secrets, redact_secrets

PAGE = 500


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as the invariant compares it."""

    file_path: str
    start_line: int
    end_line: int
    file_hash: str
    has_vector: bool = True


@functools.lru_cache(maxsize=8)
def _embedder_identity(embeddings: EmbeddingSettings) -> str | None:
    """What the server embeds with under these settings (the model, or hashing standing in)."""
    return load_embedder(embeddings).embedder.identity


def expected_chunks(root: WorkspaceRoot, settings: Settings) -> dict[str, ChunkRecord]:
    """The chunks (by id) a fresh index of the files under `root` would store."""
    indexing = settings.indexing
    options = chunking_options(indexing)
    out: dict[str, ChunkRecord] = {}
    for source in discover_files(root.path, indexing.exclude, indexing.include):
        try:
            text = read_source(source, indexing.max_file_size_kb * 1024)
        except FileSkipped:
            continue
        content = text.text
        if find_secrets(content):
            if not indexing.redact_secrets:
                continue
            content = redact_secrets(content)
        file_hash = stored_file_hash(text.file_hash, options, indexing.redact_secrets, _embedder_identity(settings.embeddings))
        for chunk in chunk_file(source.rel_path, content, options):
            uid = chunk_uuid(root.workspace_id, source.rel_path, chunk.start_line, chunk.end_line, chunk.content)
            out[uid] = ChunkRecord(source.rel_path, chunk.start_line, chunk.end_line, file_hash)
    return out


def stored_chunks(client: weaviate.Client, class_name: str, workspace: str) -> dict[str, ChunkRecord]:
    """Every chunk Weaviate holds for `workspace`, by id (the class is walked with the cursor)."""
    out: dict[str, ChunkRecord] = {}
    if not client.schema.exists(class_name):
        return out
    after: str | None = None
    while True:
        query = (
            client.query.get(class_name, ["file_path", "workspace", "start_line", "end_line", "file_hash"])
            .with_additional(["id", "vector"])
            .with_limit(PAGE)
        )
        if after is not None:
            query = query.with_after(after)
        reply = query.do()
        assert not reply.get("errors"), reply["errors"]
        page = reply["data"]["Get"][class_name] or []
        for item in page:
            if item["workspace"] == workspace:
                extra = item["_additional"]
                out[extra["id"]] = ChunkRecord(
                    item["file_path"], int(item["start_line"]), int(item["end_line"]), item["file_hash"], bool(extra.get("vector"))
                )
        if len(page) < PAGE:
            return out
        after = page[-1]["_additional"]["id"]


def convergence_problems(client: weaviate.Client, class_name: str, root: WorkspaceRoot, settings: Settings) -> list[str]:
    """Every way Weaviate differs from a fresh index of the files on disk (empty: converged)."""
    want = expected_chunks(root, settings)
    have = stored_chunks(client, class_name, root.workspace_id)
    problems = []
    for uid in sorted(set(want) - set(have)):
        problems.append(f"missing: {want[uid]}")
    for uid in sorted(set(have) - set(want)):
        problems.append(f"stale or duplicate: {have[uid]}")
    for uid in sorted(set(want) & set(have)):
        if have[uid] != want[uid]:
            problems.append(f"differs: stored {have[uid]}, expected {want[uid]}")
    return problems


def assert_converged(client: weaviate.Client, class_name: str, root: Path | WorkspaceRoot, settings: Settings) -> None:
    """Fail with the list of differences unless Weaviate matches the files under `root`."""
    root = root if isinstance(root, WorkspaceRoot) else WorkspaceRoot.at(root, settings.indexing.workspace_id)
    problems = convergence_problems(client, class_name, root, settings)
    assert not problems, f"{len(problems)} difference(s):\n" + "\n".join(problems[:30])
