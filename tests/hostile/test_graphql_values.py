"""Any text stored over REST is found again through GraphQL with that same text: no value bends a query.

Runs on the stand-in, and on a real Weaviate when WEAVIATE_URL is set.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
import weaviate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acolyte_lsp.store import graphql, queries
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter
from acolyte_lsp.store.queries import QueryError
from acolyte_lsp.store.schema import ensure_schema
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
