"""Deletes, counts, listings and search on the chunk class."""

from __future__ import annotations

import asyncio

import pytest
import weaviate

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.identity import chunk_uuid
from acolyte_lsp.store import queries
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.schema import ADDED_LATER, _add_property, class_definition, ensure_schema

from .helpers import chunk_objects


def _insert(client: weaviate.Client, class_name: str, objects, vectors, uuids) -> None:  # type: ignore[no-untyped-def]
    inserter = WeaviateBatchInserter(client, batch_size=50, dynamic=False)
    result = asyncio.run(inserter.batch_insert(objects, vectors, class_name, uuids))
    assert result.failed == 0


def _seed(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    for path, workspace, file_hash, n in (
        ("src/a.py", "ws", "old", 3),
        ("src/a.py", "ws", "new", 2),
        ("src/b.py", "ws", "b1", 4),
        ("src/a.py", "other", "old", 5),
    ):
        objects, vectors, _ = chunk_objects(n, file_path=path, workspace=workspace)
        for o in objects:
            o["file_hash"] = file_hash
            o["content"] += file_hash
        uuids = [chunk_uuid(workspace, path, o["start_line"], o["end_line"], o["content"]) for o in objects]
        _insert(client, class_name, objects, vectors, uuids)


def test_delete_stale_keeps_only_the_current_hash_of_that_file(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    assert queries.delete_stale_chunks(client, class_name, "ws", "src/a.py", "new") == 3
    files = queries.indexed_files(client, class_name, "ws")
    assert files == {"src/a.py": {"new"}, "src/b.py": {"b1"}}
    assert queries.indexed_files(client, class_name, "other") == {"src/a.py": {"old"}}


def test_delete_file_removes_every_chunk_of_that_file_in_that_workspace(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    assert queries.delete_file_chunks(client, class_name, "ws", "src/a.py") == 5
    assert queries.count_chunks(client, class_name, "ws") == 4
    assert queries.count_chunks(client, class_name, "other") == 5


def test_indexed_files_comes_from_one_aggregation_grouped_by_file(client: weaviate.Client, class_name: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _seed(client, class_name)
    monkeypatch.setattr(queries, "_walked_files", lambda *args: pytest.fail("walked the class"))
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"old", "new"}, "src/b.py": {"b1"}}
    assert queries.indexed_files(client, class_name, "other") == {"src/a.py": {"old"}}


def test_a_file_with_more_versions_than_asked_for_falls_back_to_the_walk(client: weaviate.Client, class_name: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _seed(client, class_name)
    monkeypatch.setattr(queries, "_HASHES_PER_FILE", 1)
    monkeypatch.setattr(queries, "_PAGE_SIZE", 2)  # and the walk pages through the whole class
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"old", "new"}, "src/b.py": {"b1"}}


def test_count_of_an_unknown_workspace_is_zero(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    assert queries.count_chunks(client, class_name, "nobody") == 0


def test_near_vector_search_ranks_by_distance_within_the_workspace(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    _, vectors, _ = chunk_objects(4, file_path="src/b.py")
    hits = queries.search_chunks(client, class_name, "ws", 3, vector=vectors[2])
    assert len(hits) == 3
    assert hits[0].file_path in {"src/a.py", "src/b.py"}
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].score > 1 - 1e-6


def test_search_filters_by_path_prefix(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    _, vectors, _ = chunk_objects(1)
    hits = queries.search_chunks(client, class_name, "ws", 20, vector=vectors[0], path_prefix="src/b")
    assert {h.file_path for h in hits} == {"src/b.py"}


def _seed_folders(client: weaviate.Client, class_name: str, folders: list[str]) -> None:
    ensure_schema(client, class_name)
    for folder in folders:
        objects, vectors, uuids = chunk_objects(2, file_path=f"{folder}/m.py")
        _insert(client, class_name, objects, vectors, uuids)


def test_deleting_a_folder_named_with_wildcards_leaves_its_neighbours(client: weaviate.Client, class_name: str) -> None:
    _seed_folders(client, class_name, ["a*", "ab", "a?", "ax", "a*/deep", "a*b"])
    assert queries.delete_path_chunks(client, class_name, "ws", "a*") == 4
    assert set(queries.indexed_files(client, class_name, "ws")) == {"ab/m.py", "a?/m.py", "ax/m.py", "a*b/m.py"}
    assert queries.delete_path_chunks(client, class_name, "ws", "a?/") == 2
    assert set(queries.indexed_files(client, class_name, "ws")) == {"ab/m.py", "ax/m.py", "a*b/m.py"}


def test_deleting_a_plain_folder_removes_exactly_what_is_under_it(client: weaviate.Client, class_name: str) -> None:
    _seed_folders(client, class_name, ["src", "src2", "src/x"])
    assert queries.delete_path_chunks(client, class_name, "ws", "src") == 4
    assert set(queries.indexed_files(client, class_name, "ws")) == {"src2/m.py"}


def test_search_path_prefix_with_wildcards_is_exact(client: weaviate.Client, class_name: str) -> None:
    _seed_folders(client, class_name, ["a*", "ab"])
    _, vectors, _ = chunk_objects(1)
    hits = queries.search_chunks(client, class_name, "ws", 10, vector=vectors[0], path_prefix="a*/")
    assert {h.file_path for h in hits} == {"a*/m.py"}


def test_like_treats_only_star_and_question_mark_as_wildcards(client: weaviate.Client, class_name: str) -> None:
    _seed_folders(client, class_name, ["glob[x]", "globx", "glob[y]"])
    where = {"path": ["file_path"], "operator": "Like", "valueText": "glob[x]/*"}
    reply = client.query.get(class_name, ["file_path"]).with_where(where).with_limit(50).do()
    assert {o["file_path"] for o in reply["data"]["Get"][class_name]} == {"glob[x]/m.py"}


def test_an_overwritten_object_is_found_by_its_new_values_only(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(1, workspace="first")
    _insert(client, class_name, objects, vectors, uuids)
    objects[0]["workspace"] = "second"
    _insert(client, class_name, objects, vectors, uuids)  # same id: an overwrite
    assert queries.count_chunks(client, class_name, "first") == 0
    assert queries.count_chunks(client, class_name, "second") == 1
    client.data_object.delete(uuids[0], class_name=class_name)
    assert queries.count_chunks(client, class_name, "second") == 0


def test_the_cursor_cannot_be_combined_with_a_filter(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    reply = (
        client.query.get(class_name, ["file_path"]).with_where(queries._equal("workspace", "ws"))  # noqa: SLF001
        .with_after("00000000-0000-0000-0000-000000000000").with_limit(10).do()
    )
    assert "where cannot be set with after" in str(reply.get("errors"))


def _seed_files(client: weaviate.Client, class_name: str, files: dict[str, tuple[str, int]], heads: bool = True) -> None:
    """Chunks of whole files as the indexer writes them: the first carries the file's chunk count."""
    ensure_schema(client, class_name)
    for path, (file_hash, n) in files.items():
        objects, vectors, _ = chunk_objects(n, file_path=path, workspace="ws")
        for index, o in enumerate(objects):
            o.update(file_hash=file_hash, content=o["content"] + file_hash)
            if heads:
                o.update(chunk_index=index, file_chunks=n)
        uuids = [chunk_uuid("ws", path, o["start_line"], o["end_line"], o["content"]) for o in objects]
        _insert(client, class_name, objects, vectors, uuids)


def _graphql_queries(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.graphql for r in server.requests_to("POST", "/v1/graphql")]


def test_indexed_files_reads_one_first_chunk_per_file_when_their_counts_add_up(recorded_weaviate, class_name) -> None:  # type: ignore[no-untyped-def]
    client = connect(WeaviateSettings(url=recorded_weaviate.url))
    _seed_files(client, class_name, {"src/a.py": ("a1", 3), "src/b.py": ("b1", 4), "c.md": ("c1", 1)})
    before = len(_graphql_queries(recorded_weaviate))
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"a1"}, "src/b.py": {"b1"}, "c.md": {"c1"}}
    asked = _graphql_queries(recorded_weaviate)[before:]
    assert len(asked) == 2 and "chunk_index" in asked[1], "listed from every chunk although the first chunks add up"


def test_two_versions_of_a_file_at_once_are_listed_from_every_chunk(client: weaviate.Client, class_name: str) -> None:
    _seed_files(client, class_name, {"src/a.py": ("old", 3), "src/b.py": ("b1", 2)})
    _seed_files(client, class_name, {"src/a.py": ("new", 2)})  # an update interrupted before its delete
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"old", "new"}, "src/b.py": {"b1"}}


def test_stale_chunks_behind_an_overwritten_first_chunk_are_found_by_the_count(client: weaviate.Client, class_name: str) -> None:
    _seed_files(client, class_name, {"src/a.py": ("old", 4)})
    objects, vectors, _ = chunk_objects(4, file_path="src/a.py", workspace="ws")
    head = objects[0]
    head.update(file_hash="new", content=head["content"] + "old", chunk_index=0, file_chunks=1)  # same id, new hash
    _insert(client, class_name, [head], vectors[:1], [chunk_uuid("ws", "src/a.py", head["start_line"], head["end_line"], head["content"])])
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"old", "new"}}


def test_lost_chunks_are_found_by_the_count(client: weaviate.Client, class_name: str) -> None:
    _seed_files(client, class_name, {"src/a.py": ("a1", 3), "src/b.py": ("b1", 2)})
    client.batch.delete_objects(class_name, where={"path": ["chunk_index"], "operator": "Equal", "valueInt": 2})
    # a.py now holds 2 of its 3 chunks; only reading every chunk tells the truth (which the indexer then repairs)
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"a1"}, "src/b.py": {"b1"}}
    assert queries.count_chunks(client, class_name, "ws") == 4


def test_chunks_written_before_first_chunks_carried_counts_are_still_listed(client: weaviate.Client, class_name: str) -> None:
    _seed_files(client, class_name, {"src/a.py": ("a1", 3)}, heads=False)
    _seed_files(client, class_name, {"src/b.py": ("b1", 2)})
    assert queries.indexed_files(client, class_name, "ws") == {"src/a.py": {"a1"}, "src/b.py": {"b1"}}


def test_a_class_made_before_first_chunks_carried_counts_gets_the_properties_added(client: weaviate.Client, class_name: str) -> None:
    old = class_definition(class_name)
    old["properties"] = [p for p in old["properties"] if p["name"] not in ADDED_LATER]
    client.schema.create_class(old)
    assert ensure_schema(client, class_name) is False
    assert ensure_schema(client, class_name) is False  # idempotent
    have = {p["name"]: p["dataType"] for p in client.schema.get(class_name)["properties"]}
    assert have["chunk_index"] == ["int"] and have["file_chunks"] == ["int"]


def test_a_property_another_server_added_first_is_no_error(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    _add_property(client, class_name, {"name": "chunk_index", "dataType": ["int"]})  # lost the race: already there
    assert [p["name"] for p in client.schema.get(class_name)["properties"]].count("chunk_index") == 1


def test_hybrid_search_finds_a_chunk_by_its_name_and_keeps_the_filters(client: weaviate.Client, class_name: str) -> None:
    _seed(client, class_name)
    objects, vectors, _ = chunk_objects(3, file_path="src/c.py", workspace="ws")
    objects[1].update(chunk_name="compute_invoice_total", content="def compute_invoice_total(items): ...")
    uuids = [chunk_uuid("ws", "src/c.py", o["start_line"], o["end_line"], o["content"]) for o in objects]
    _insert(client, class_name, objects, vectors, uuids)
    far = [-v for v in vectors[0]]  # a vector pointing away from everything: keywords must carry it
    hits = queries.search_chunks(client, class_name, "ws", 3, vector=far, text="invoice total", alpha=0.5)
    assert hits[0].chunk_name == "compute_invoice_total"
    assert 0.0 <= hits[-1].score <= hits[0].score <= 1.0
    other = queries.search_chunks(client, class_name, "other", 3, vector=far, text="invoice total", alpha=0.5)
    assert all(h.chunk_name != "compute_invoice_total" for h in other)
    only_b = queries.search_chunks(client, class_name, "ws", 5, vector=far, text="invoice total", path_prefix="src/b", alpha=0.5)
    assert only_b and all(h.file_path == "src/b.py" for h in only_b)


def test_a_definitions_name_weighs_double_in_keyword_search(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, _ = chunk_objects(2)
    objects[0].update(content="def render(page):\n    return draw(page, 'invoice', 'invoice', 'invoice')\n", chunk_name="render")
    objects[1].update(content="def compute(lines):\n    return sum(line.amount for line in lines)\n", chunk_name="invoice_total")
    uuids = [chunk_uuid("ws", "src/a.py", o["start_line"], o["end_line"], o["content"]) for o in objects]
    _insert(client, class_name, objects, vectors, uuids)
    # Once in a name (boost 2) outranks three times in another chunk's text; unboosted it would not.
    hits = queries.search_chunks(client, class_name, "ws", 2, vectors[0], "invoice", alpha=0.0)  # keywords alone
    assert [h.chunk_name for h in hits] == ["invoice_total", "render"]
