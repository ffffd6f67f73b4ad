"""Any text stored over REST is found again through GraphQL with that same text: no value bends a query.

Runs on the stand-in, and on a real Weaviate when WEAVIATE_URL is set.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import weaviate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acolyte_lsp.identity import workspace_id
from acolyte_lsp.store import graphql, queries
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter
from acolyte_lsp.store.queries import QueryError
from acolyte_lsp.store.schema import class_definition, ensure_schema
from tests.protocol.helpers import DIMS, chunk_objects

_counter = itertools.count()
# Text a repository, a search box or a client can hold: backslashes, quotes, control
# characters, NUL, separators, emoji; not lone surrogates, which no UTF-8 request can carry.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('\\"\x00\x07\x1b\r\n\t\u2028\u2029\u0085\ufeff\u202e{}()[]#$*?/ 😀'),
        st.characters(blacklist_categories=("Cs",)),
    ),
    min_size=1,
    max_size=40,
).filter(lambda text: text.strip() != "")  # field tokenization keeps nothing of blank text
HOSTILE = [
    "ws\\back",
    "ws\\",
    'x\\"',
    "}]}) {file_path} Other(limit: 1) { nosuchfield } } } #",
    "alpha\r\nfunc",
    "nul\x00here",
    "line\u2028sep",
    "next\u0085line",
]


def _store(client: weaviate.Client, class_name: str, workspace: str, folder: str) -> None:
    objects, vectors, uuids = chunk_objects(2, file_path=f"{folder}/x.py", workspace=workspace)
    inserter = WeaviateBatchInserter(client, batch_size=10, dynamic=False)
    result = asyncio.run(inserter.batch_insert(objects, vectors, class_name, uuids))
    assert result.failed == 0, result.errors


def _found_again(client: weaviate.Client, class_name: str, value: str) -> None:
    workspace = f"{value}-{next(_counter)}"
    _store(client, class_name, workspace, value)
    assert queries.count_chunks(client, class_name, workspace) == 2
    assert set(queries.indexed_files(client, class_name, workspace)) == {f"{value}/x.py"}
    hits = queries.search_chunks(client, class_name, workspace, 5, vector=[1.0] * DIMS, path_prefix=value)
    assert {hit.file_path for hit in hits} == {f"{value}/x.py"}
    hits = queries.search_chunks(
        client, class_name, workspace, 5, vector=[1.0] * DIMS, text=value, language=value, alpha=0.5
    )
    assert hits == []  # the language filter matched nothing, and the query text broke nothing


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_stored_over_rest_is_found_by_equal_and_prefix(
    client: weaviate.Client, class_name: str, value: str
) -> None:
    ensure_schema(client, class_name)
    _found_again(client, class_name, value)


def test_any_text_stored_over_rest_is_found_by_equal_and_prefix(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=TEXT)
    def found(value: str) -> None:
        _found_again(client, class_name, value)

    found()


def test_a_query_that_weaviate_refuses_comes_back_as_its_first_line_not_the_query(
    client: weaviate.Client, class_name: str
) -> None:
    ensure_schema(client, class_name)
    query = graphql.get(class_name, ["file_path"], near_vector=[0.5] * 384) + " trailing"
    with pytest.raises(QueryError) as raised:
        queries._ask(client, query)  # noqa: SLF001 - the one place replies are read
    message = str(raised.value)
    assert "0.5, 0.5" not in message and len(message) <= 250
    assert "Syntax Error" in message or "Unexpected" in message


@pytest.mark.parametrize("bad", ["Code(limit: 1)", "a b", "", "9x", "x\n"])
def test_a_class_or_property_that_is_not_a_graphql_name_is_refused_before_sending(bad: str) -> None:
    with pytest.raises(graphql.QueryBuildError):
        graphql.get(bad, ["file_path"])
    with pytest.raises(graphql.QueryBuildError):
        graphql.get("Code", [bad])


def test_strings_are_escaped_as_graphql_reads_them() -> None:
    assert graphql.string('a"b\\c\nd\x00\u2028😀') == '"a\\"b\\\\c\\nd\\u0000\\u2028😀"'


@pytest.mark.parametrize(
    "literal, description",
    [
        ('"a\\qb"', "Invalid character escape sequence: \\\\q."),
        ('"nul\x00"', 'Invalid character within String: "\\\\u0000".'),
        ('"open', "Unterminated string."),
        ('"line\nbreak"', "Unterminated string."),
    ],
)
def test_a_string_weaviate_cannot_read_is_refused_with_its_syntax_error(
    client: weaviate.Client, class_name: str, literal: str, description: str
) -> None:
    ensure_schema(client, class_name)
    query = f'{{Get {{{class_name}(where: {{path: ["file_path"] operator: Equal valueText: {literal}}}) {{file_path}}}}}}'
    reply = client.query.raw(query)
    [error] = reply["errors"]
    assert error["message"].startswith("Syntax Error GraphQL request (")
    assert description in error["message"].split("\n", 1)[0]


@pytest.mark.parametrize("folder", ["ws\\back", "ws\\", 'q"uote'])
def test_a_folder_whose_name_holds_a_backslash_indexes_searches_and_removes_deleted_files(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path, folder: str
) -> None:
    root = tmp_path / folder
    root.mkdir()
    (root / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\nembeddings:\n  provider: hash\n")
    (root / "x.py").write_text("def removed_later():\n    return 1\n")
    (root / "y.py").write_text("def stays():\n    return 2\n")
    run = [sys.executable, "-m", "acolyte_lsp", "index", str(root), "--url", weaviate_url, "--trust"]
    first = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (root / "x.py").unlink()
    second = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "1 unchanged" in second.stdout and "1 removed" in second.stdout
    assert set(queries.indexed_files(client, class_name, workspace_id(root))) == {"y.py"}
    found = subprocess.run([*run[:3], "search", "stays", "--path", str(root), "--url", weaviate_url, "--trust"],
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0 and "y.py:1-2" in found.stdout, found.stderr


@pytest.mark.parametrize("name", ["a", "in", "the", " if "])
def test_a_file_named_like_an_english_stopword_is_listed_and_removed(
    client: weaviate.Client, class_name: str, name: str
) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(2, file_path=name, workspace="ws")
    asyncio.run(WeaviateBatchInserter(client, batch_size=10, dynamic=False).batch_insert(objects, vectors, class_name, uuids))
    assert set(queries.indexed_files(client, class_name, "ws")) == {name}
    assert queries.delete_file_chunks(client, class_name, "ws", name) == 2


def test_weaviate_1_25_refuses_a_filter_value_made_only_of_english_stopwords(client: weaviate.Client, class_name: str) -> None:
    """Why our classes keep no stopwords: on Weaviate 1.25 (Embedded's default) a file named `a` could be
    neither listed nor removed. (1.35 no longer applies stopwords to field-tokenized values.)"""
    version = client.get_meta()["version"]
    if tuple(int(p) for p in version.split(".")[:2]) > (1, 25):
        pytest.skip(f"Weaviate {version} keeps stopwords out of field-tokenized filters")
    body = class_definition(class_name)
    body["invertedIndexConfig"] = {"stopwords": {"preset": "en"}}
    client.schema.create_class(body)
    with pytest.raises(QueryError, match="only stopwords provided"):
        queries.count_chunks(client, class_name, "a")
    assert queries.count_chunks(client, class_name, "a-1") == 0
