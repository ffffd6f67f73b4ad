"""Reads and deletes on the chunk class (synchronous; callers run them off the event loop)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..display import brief

import weaviate

from . import graphql
from .graphql import Hybrid

QUERY_MAXIMUM_RESULTS = 10_000  # Weaviate's default cap on limit + offset of a query
_KEYS_PER_QUERY = 400  # Equal filters in one Or: a GraphQL query of some 40 KB
# Weaviate caps one batch delete at QUERY_MAXIMUM_RESULTS too;
# we repeat the delete until a round removes nothing more.
_MAX_DELETE_ROUNDS = 1000
_PAGE_SIZE = 2000
_MAX_FILE_GROUPS = 1_000_000  # files in one workspace, asked in one aggregation
# Keyword search reads the chunk's text and its definition's name, the name weighing double
# (BM25F boost; measured in BENCHMARKS.md, as was the file path as words, which ranked worse).
HYBRID_PROPERTIES = ("content", "chunk_name^2")
_HASHES_PER_FILE = 8  # distinct versions of one file at once (normally 1; 2 mid-update)


@dataclass(frozen=True)
class SearchHit:
    """One search result; `score` is higher for better matches (1 - distance, or the hybrid score)."""

    file_path: str
    start_line: int
    end_line: int
    chunk_name: str
    chunk_type: str
    language: str
    score: float
    content: str
    file_hash: str = ""  # what the file was indexed from (`indexer.planning.stored_file_hash`)

    @classmethod
    def of(cls, item: dict[str, Any], score: float) -> SearchHit:
        """A hit read from one object of a GraphQL `Get` reply."""
        return cls(
            file_path=item["file_path"],
            start_line=int(item["start_line"]),
            end_line=int(item["end_line"]),
            chunk_name=item.get("chunk_name") or "",
            chunk_type=item.get("chunk_type") or "",
            language=item.get("language") or "",
            score=score,
            content=item.get("content") or "",
            file_hash=item.get("file_hash") or "",
        )


def _equal(prop: str, value: str) -> dict[str, Any]:
    return {"path": [prop], "operator": "Equal", "valueText": value}


def _and(*operands: dict[str, Any]) -> dict[str, Any]:
    return {"operator": "And", "operands": list(operands)}


def _delete_where(client: weaviate.Client, class_name: str, where: dict[str, Any]) -> int:
    deleted = 0
    for _ in range(_MAX_DELETE_ROUNDS):
        reply = client.batch.delete_objects(class_name=class_name, where=where, output="minimal")
        results = reply.get("results") or {}
        successful = int(results.get("successful") or 0)
        deleted += successful
        if successful == 0 or int(results.get("matches") or 0) < int(results.get("limit") or 10000):
            return deleted
    return deleted


def delete_stale_chunks(client: weaviate.Client, class_name: str, workspace: str, file_path: str, keep_hash: str) -> int:
    """Delete a file's chunks whose `file_hash` is not `keep_hash`; return how many went."""
    where = _and(
        _equal("workspace", workspace),
        _equal("file_path", file_path),
        {"path": ["file_hash"], "operator": "NotEqual", "valueText": keep_hash},
    )
    return _delete_where(client, class_name, where)


def delete_file_chunks(client: weaviate.Client, class_name: str, workspace: str, file_path: str) -> int:
    """Delete every chunk of one file."""
    return _delete_where(client, class_name, _and(_equal("workspace", workspace), _equal("file_path", file_path)))


# Weaviate's `Like` reads `*` and `?` as wildcards and has no escape for them.
_LIKE_WILDCARDS = frozenset("*?")


def delete_path_chunks(client: weaviate.Client, class_name: str, workspace: str, path: str) -> int:
    """Delete the chunks of a file, or of every file under a folder, at exactly `path`."""
    folder = path.rstrip("/")
    if _LIKE_WILDCARDS.isdisjoint(folder):
        under = {"path": ["file_path"], "operator": "Like", "valueText": folder + "/*"}
        either = {"operator": "Or", "operands": [_equal("file_path", folder), under]}
        return _delete_where(client, class_name, _and(_equal("workspace", workspace), either))
    # A name holding a wildcard would also match its neighbours (`a*/` matches `ab/`):
    # find the exact files, then delete each by equality.
    deleted = 0
    for file_path in indexed_files(client, class_name, workspace):
        if file_path == folder or file_path.startswith(folder + "/"):
            deleted += delete_file_chunks(client, class_name, workspace, file_path)
    return deleted


def vector_size(client: weaviate.Client, class_name: str) -> int | None:
    """Length of the vectors the class already holds (None when it holds none)."""
    reply = _ask(client, graphql.get(class_name, ["file_path"], limit=1, additional=["vector"]))
    items = ((reply.get("data") or {}).get("Get") or {}).get(class_name) or []
    vector = (items[0].get("_additional") or {}).get("vector") if items else None
    return len(vector) if vector else None


def count_chunks(client: weaviate.Client, class_name: str, workspace: str) -> int:
    """How many chunks of `workspace` Weaviate holds."""
    reply = _ask(client, graphql.aggregate(class_name, "meta { count }", where_filter=_equal("workspace", workspace)))
    groups = ((reply.get("data") or {}).get("Aggregate") or {}).get(class_name) or []
    return int(groups[0]["meta"]["count"]) if groups else 0


def _walk_class(client: weaviate.Client, class_name: str, properties: list[str]) -> Iterator[dict[str, Any]]:
    """Every object of the class with `properties`, page by page through the cursor API (`after`)."""
    after: str | None = None
    while True:
        reply = _ask(client, graphql.get(class_name, properties, limit=_PAGE_SIZE, after=after, additional=["id"]))
        page = ((reply.get("data") or {}).get("Get") or {}).get(class_name) or []
        yield from page
        if len(page) < _PAGE_SIZE:
            return
        after = page[-1]["_additional"]["id"]


def indexed_files(client: weaviate.Client, class_name: str, workspace: str) -> dict[str, set[str]]:
    """Each indexed file of `workspace` with the content hashes its chunks carry.

    First from the files' first chunks alone (one object per file, found through
    the inverted index): trusted when every file has exactly one and the chunk
    counts they carry add up to what the workspace holds. Otherwise (chunks left
    from an interrupted update, lost chunks, chunks written before first chunks
    carried counts) from every chunk, grouped by file; and when even that does
    not account for every chunk, by walking the class.
    """
    total = count_chunks(client, class_name, workspace)
    heads = _files_from_heads(client, class_name, workspace, total)
    return heads if heads is not None else _files_from_chunks(client, class_name, workspace, total)


def _files_from_heads(client: weaviate.Client, class_name: str, workspace: str, total: int) -> dict[str, set[str]] | None:
    where = {
        "operator": "And",
        "operands": [_equal("workspace", workspace), {"path": ["chunk_index"], "operator": "Equal", "valueInt": 0}],
    }
    groups = _grouped_by_file(
        client, class_name, where,
        "groupedBy { value } meta { count } file_hash { topOccurrences(limit: 2) { value occurs } } file_chunks { sum }",
    )
    files: dict[str, set[str]] = {}
    chunks = 0
    for group in groups:
        top = (group.get("file_hash") or {}).get("topOccurrences") or []
        path = str((group.get("groupedBy") or {}).get("value") or "")
        if int((group.get("meta") or {}).get("count") or 0) != 1 or len(top) != 1 or not path:
            return None  # two versions of a file at once: the chunks say which parts are stale
        chunks += int((group.get("file_chunks") or {}).get("sum") or 0)
        files[path] = {str(top[0].get("value") or "")}
    return files if chunks == total else None


def _files_from_chunks(client: weaviate.Client, class_name: str, workspace: str, total: int) -> dict[str, set[str]]:
    groups = _grouped_by_file(
        client, class_name, _equal("workspace", workspace),
        f"groupedBy {{ value }} meta {{ count }} file_hash {{ topOccurrences(limit: {_HASHES_PER_FILE}) {{ value occurs }} }}",
    )
    files: dict[str, set[str]] = {}
    accounted = 0
    for group in groups:
        count = int((group.get("meta") or {}).get("count") or 0)
        top = (group.get("file_hash") or {}).get("topOccurrences") or []
        if sum(int(t.get("occurs") or 0) for t in top) != count:
            return _walked_files(client, class_name, workspace)
        path = str((group.get("groupedBy") or {}).get("value") or "")
        if path:
            files.setdefault(path, set()).update(str(t.get("value") or "") for t in top)
        accounted += count
    if accounted != total:
        return _walked_files(client, class_name, workspace)
    return files


def _grouped_by_file(client: weaviate.Client, class_name: str, where: dict[str, Any], fields: str) -> list[dict[str, Any]]:
    """One Aggregate over the chunks matching `where`, a group per file."""
    query = graphql.aggregate(class_name, fields, where_filter=where, group_by="file_path", limit=_MAX_FILE_GROUPS)
    reply = _ask(client, query)
    return list(((reply.get("data") or {}).get("Aggregate") or {}).get(class_name) or [])


def _walked_files(client: weaviate.Client, class_name: str, workspace: str) -> dict[str, set[str]]:
    """`indexed_files` by walking the whole class with the cursor API (which cannot be filtered)."""
    files: dict[str, set[str]] = {}
    for item in _walk_class(client, class_name, ["file_path", "file_hash", "workspace"]):
        if item.get("workspace") == workspace and item.get("file_path"):
            files.setdefault(item["file_path"], set()).add(item.get("file_hash") or "")
    return files


@dataclass(frozen=True)
class WorkspaceSummary:
    """What the class holds for one workspace."""

    workspace: str
    files: int
    chunks: int
    last_indexed: str  # the newest `indexed_at` (RFC 3339), "" when none carries one


def workspace_summaries(client: weaviate.Client, class_name: str) -> list[WorkspaceSummary]:
    """Every workspace in the class with its files, chunks and last indexing time (walks the class)."""
    files: dict[str, set[str]] = {}
    chunks: dict[str, int] = {}
    newest: dict[str, str] = {}
    for item in _walk_class(client, class_name, ["workspace", "file_path", "indexed_at"]):
        workspace = str(item.get("workspace") or "")
        files.setdefault(workspace, set()).add(str(item.get("file_path") or ""))
        chunks[workspace] = chunks.get(workspace, 0) + 1
        newest[workspace] = max(newest.get(workspace, ""), str(item.get("indexed_at") or ""))
    return [WorkspaceSummary(w, len(files[w]), chunks[w], newest[w]) for w in sorted(files)]


def delete_workspace(client: weaviate.Client, class_name: str, workspace: str) -> int:
    """Delete every chunk of one workspace; return how many went."""
    return _delete_where(client, class_name, _equal("workspace", workspace))


def search_chunks(
    client: weaviate.Client,
    class_name: str,
    workspace: str,
    limit: int,
    vector: list[float] | None = None,
    text: str | None = None,
    path_prefix: str | None = None,
    language: str | None = None,
    alpha: float | None = None,
) -> list[SearchHit]:
    """The `limit` best chunks of `workspace` for a query.

    With `alpha` and `text`: Weaviate's hybrid search, BM25F over `content` and
    `chunk_name` fused with vector similarity to `vector` (or to `text` embedded by
    Weaviate's module when `vector` is None), weighted 1 - alpha and alpha.
    Without `alpha`: the chunks nearest to `vector` (or to `text`, embedded by the module).
    """
    where, exact_prefix = _search_filter(workspace, path_prefix, language)
    query_limit = limit if exact_prefix is None else limit * 4  # the filter over-matches: ask for more
    properties = ["file_path", "start_line", "end_line", "chunk_name", "chunk_type", "language", "content", "file_hash"]
    shape: dict[str, Any] = {}
    if alpha is not None and text:
        shape["hybrid"] = Hybrid(query=text, alpha=alpha, properties=HYBRID_PROPERTIES, vector=vector)
        additional = "score"
    elif vector is not None:
        shape["near_vector"] = vector
        additional = "distance"
    elif text is not None:
        shape["near_text"] = text
        additional = "distance"
    else:
        raise ValueError("search needs a vector or a text")
    reply = _ask(
        client,
        graphql.get(class_name, properties, where_filter=where, limit=query_limit, additional=[additional], **shape),
    )
    hits: list[SearchHit] = []
    for item in ((reply.get("data") or {}).get("Get") or {}).get(class_name) or []:
        if exact_prefix is not None and not str(item.get("file_path", "")).startswith(exact_prefix):
            continue
        measure = float((item.get("_additional") or {}).get(additional) or 0.0)  # hybrid scores come as strings
        hits.append(SearchHit.of(item, measure if additional == "score" else 1.0 - measure))
    return hits[:limit]


def _search_filter(workspace: str, path_prefix: str | None, language: str | None) -> tuple[dict[str, Any], str | None]:
    """The where filter of a search, and the exact path prefix to keep when `Like` over-matches it."""
    filters = [_equal("workspace", workspace)]
    exact_prefix = None
    if path_prefix:
        prefix = path_prefix.rstrip("*")
        filters.append({"path": ["file_path"], "operator": "Like", "valueText": prefix + "*"})
        if not _LIKE_WILDCARDS.isdisjoint(prefix):
            exact_prefix = prefix  # `Like` reads its wildcards in the prefix too
    if language:
        filters.append(_equal("language", language))
    return (filters[0] if len(filters) == 1 else _and(*filters)), exact_prefix


def vectors_by_key(client: weaviate.Client, class_name: str, workspace: str, keys: Sequence[str]) -> dict[str, list[float]]:
    """The vectors `workspace`'s chunks hold under these `vector_key`s (one per key found)."""
    found: dict[str, list[float]] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        batch = keys[start : start + _KEYS_PER_QUERY]
        wanted = {"operator": "Or", "operands": [_equal("vector_key", key) for key in batch]}
        query = graphql.get(
            class_name,
            ["vector_key"],
            where_filter=_and(_equal("workspace", workspace), wanted),
            limit=min(QUERY_MAXIMUM_RESULTS, 2 * len(batch)),  # a text may sit in several chunks
            additional=["vector"],
        )
        reply = _ask(client, query)
        for item in ((reply.get("data") or {}).get("Get") or {}).get(class_name) or []:
            vector = (item.get("_additional") or {}).get("vector")
            if item.get("vector_key") and vector:
                found.setdefault(item["vector_key"], vector)
    return found


class QueryError(Exception):
    """Weaviate answered a GraphQL query with errors (their messages, never the query)."""


# Weaviate rebuilds its GraphQL schema a moment after a class is created (by us, or by another
# server starting at the same time): until then a query on it answers "Cannot query field".
_CLASS_NOT_IN_GRAPHQL_YET = re.compile(r'Cannot query field "\w+" on type "(Get|Aggregate)ObjectsObj"')
_GRAPHQL_SCHEMA_WAITS_S = (0.1, 0.2, 0.4, 0.8, 1.5)


def _ask(client: weaviate.Client, query: str) -> dict[str, Any]:
    """Send one GraphQL query; Weaviate's errors become a `QueryError`."""
    waits = iter(_GRAPHQL_SCHEMA_WAITS_S)
    while True:
        reply = client.query.raw(query)
        if not isinstance(reply, dict):
            raise QueryError("Weaviate's GraphQL reply is not an object")
        errors = reply.get("errors")
        if not errors:
            return reply
        text = graphql_error_text(errors)
        wait = next(waits, None)
        if wait is None or not _CLASS_NOT_IN_GRAPHQL_YET.search(text):
            raise QueryError(text)
        time.sleep(wait)


def graphql_error_text(errors: Any) -> str:
    """Weaviate's GraphQL errors as one short line each.

    A syntax error's message goes on with the query's text under a caret (the whole
    query, vectors included); only its first line says what went wrong.
    """
    items = errors if isinstance(errors, list) else [errors]
    lines = []
    for error in items[:3]:
        message = error.get("message", error) if isinstance(error, dict) else error
        lines.append(brief(str(message).strip().split("\n", 1)[0]))
    more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
    return "; ".join(lines) + more
