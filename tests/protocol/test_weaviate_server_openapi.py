"""The protocol test server answers with the status codes and bodies Weaviate's OpenAPI spec defines.

Requests are made with plain `requests`, so this checks the server itself,
not what the v3 client tolerates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.weaviate_server import WeaviateTestServer

# Weaviate's own OpenAPI (swagger 2.0) spec, vendored from shared/weaviate/openapi.json.
SPEC = json.loads((Path(__file__).resolve().parents[1] / "weaviate_server" / "openapi.json").read_text())


def check(method: str, template: str, response: requests.Response) -> Any:
    """Assert the status is one the spec lists for this operation and the body matches its schema."""
    operation = SPEC["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template} answered {status}, not in the spec"
    schema = operation["responses"][status].get("schema")
    if schema is None:
        return None
    body = response.json()
    jsonschema.Draft4Validator({**schema, "definitions": SPEC["definitions"]}).validate(body)
    return body


CLASS_BODY = {
    "class": "Doc",
    "vectorizer": "none",
    "properties": [
        {"name": "title", "dataType": ["text"], "tokenization": "field"},
        {"name": "n", "dataType": ["int"]},
    ],
}


@pytest.fixture
def base(test_server: WeaviateTestServer) -> str:
    return test_server.url + "/v1"


def test_meta_and_readiness(base: str) -> None:
    body = check("GET", "/meta", requests.get(f"{base}/meta"))
    assert body["version"]
    check("GET", "/.well-known/ready", requests.get(f"{base}/.well-known/ready"))
    check("GET", "/nodes", requests.get(f"{base}/nodes"))


def test_schema_create_get_and_list(base: str) -> None:
    created = check("POST", "/schema", requests.post(f"{base}/schema", json=CLASS_BODY))
    assert created["class"] == "Doc"
    check("GET", "/schema/{className}", requests.get(f"{base}/schema/Doc"))
    listed = check("GET", "/schema", requests.get(f"{base}/schema"))
    assert [c["class"] for c in listed["classes"]] == ["Doc"]
    assert requests.get(f"{base}/schema/Nope").status_code == 404


def test_batch_objects_success_and_per_object_errors(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    reply = requests.post(
        f"{base}/batch/objects",
        json={
            "objects": [
                {"class": "Doc", "id": "00000000-0000-4000-8000-000000000001", "properties": {"title": "a", "n": 1}, "vector": [1, 0]},
                {"class": "Doc", "id": "00000000-0000-4000-8000-000000000002", "properties": {"title": 5}, "vector": [1, 0]},
                {"class": "Doc", "id": "00000000-0000-4000-8000-000000000003", "properties": {"color": "red"}, "vector": [1, 0]},
                {"class": "Doc", "id": "00000000-0000-4000-8000-000000000004", "properties": {"title": "b"}, "vector": [1, 0, 0]},
                {"class": "Nope", "id": "00000000-0000-4000-8000-000000000005", "properties": {}},
            ]
        },
    )
    items = check("POST", "/batch/objects", reply)
    errors = [((i.get("result") or {}).get("errors") or {}).get("error") for i in items]
    assert errors[0] is None
    assert errors[1][0]["message"] == "invalid text property 'title' on class 'Doc': not a string, but json.Number"
    assert errors[2][0]["message"].startswith("no such prop with name 'color' found in class 'Doc' in the schema")
    # The length was set by this same batch: Weaviate's HNSW distancer notices, as in test_parity's world.
    assert errors[3][0]["message"].endswith("vector lengths don't match: 2 vs 3")
    assert errors[4][0]["message"].startswith("no such class with name 'Nope' found in the schema")


def test_batch_delete_with_where_filter(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    objects = [{"class": "Doc", "properties": {"title": t, "n": i}} for i, t in enumerate(["x", "x", "y"])]
    requests.post(f"{base}/batch/objects", json={"objects": objects})
    where = {"path": ["title"], "operator": "Equal", "valueText": "x"}
    body = check("DELETE", "/batch/objects", requests.delete(f"{base}/batch/objects", json={"match": {"class": "Doc", "where": where}}))
    assert body["results"]["matches"] == 2 and body["results"]["successful"] == 2


def test_single_objects_create_get_replace_head_delete(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    oid = "00000000-0000-4000-8000-0000000000aa"
    obj = {"class": "Doc", "id": oid, "properties": {"title": "t", "n": 2}, "vector": [0.5, 0.5]}
    check("POST", "/objects", requests.post(f"{base}/objects", json=obj))
    again = check("POST", "/objects", requests.post(f"{base}/objects", json=obj))
    assert again["error"][0]["message"] == f"id '{oid}' already exists"
    got = check("GET", "/objects/{className}/{id}", requests.get(f"{base}/objects/Doc/{oid}", params={"include": "vector"}))
    assert got["vector"] == [0.5, 0.5]
    replaced = check("PUT", "/objects/{className}/{id}", requests.put(f"{base}/objects/Doc/{oid}", json={**obj, "properties": {"title": "u"}}))
    assert replaced["properties"] == {"title": "u"}
    check("HEAD", "/objects/{className}/{id}", requests.head(f"{base}/objects/Doc/{oid}"))
    check("DELETE", "/objects/{className}/{id}", requests.delete(f"{base}/objects/Doc/{oid}"))
    check("HEAD", "/objects/{className}/{id}", requests.head(f"{base}/objects/Doc/{oid}"))
    bad = check("POST", "/objects", requests.post(f"{base}/objects", json={"class": "Doc", "properties": {"n": "many"}}))
    assert bad["error"][0]["message"] == "invalid integer property 'n' on class 'Doc': requires an integer, the given value is 'many'"


def test_graphql_get_and_aggregate(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    objects = [{"class": "Doc", "properties": {"title": t, "n": i}, "vector": v} for i, (t, v) in enumerate([("x", [1, 0]), ("y", [0, 1])])]
    requests.post(f"{base}/batch/objects", json={"objects": objects})
    query = '{Get{Doc(nearVector: {vector: [1, 0.1]} limit: 1){title _additional{distance}}}}'
    body = check("POST", "/graphql", requests.post(f"{base}/graphql", json={"query": query}))
    assert body["data"]["Get"]["Doc"][0]["title"] == "x"
    query = '{Aggregate{Doc(where: {path: ["title"] operator: Equal valueText: "y"}){meta{count}}}}'
    body = check("POST", "/graphql", requests.post(f"{base}/graphql", json={"query": query}))
    assert body["data"]["Aggregate"]["Doc"][0]["meta"]["count"] == 1
    body = check("POST", "/graphql", requests.post(f"{base}/graphql", json={"query": "{Get{Missing{title}}}"}))
    assert body["errors"][0]["message"] == 'Cannot query field "Missing" on type "GetObjectsObj".'


def test_a_property_is_added_to_a_class_once(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    prop = {"name": "rank", "dataType": ["int"]}
    added = check("POST", "/schema/{className}/properties", requests.post(f"{base}/schema/Doc/properties", json=prop))
    assert (added["name"], added["dataType"], added["indexFilterable"]) == ("rank", ["int"], True)
    again = requests.post(f"{base}/schema/Doc/properties", json={"name": "Rank", "dataType": ["int"]})
    body = check("POST", "/schema/{className}/properties", again)
    assert body["error"][0]["message"] == 'class "Doc": conflict for property "Rank": already in use or provided multiple times'


def test_int_properties_aggregate_as_weaviate_reports_them(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    objects = [{"class": "Doc", "properties": {"title": t, "n": n}} for t, n in (("a", 1), ("a", 4), ("b", 4))]
    requests.post(f"{base}/batch/objects", json={"objects": objects})
    query = '{Aggregate{Doc(where: {path: ["n"] operator: Equal valueInt: 4}){meta{count} n{count sum mean minimum maximum median mode type}}}}'
    body = check("POST", "/graphql", requests.post(f"{base}/graphql", json={"query": query}))
    assert body["data"]["Aggregate"]["Doc"][0] == {
        "meta": {"count": 2}, "n": {"count": 2, "sum": 4 + 4, "mean": 4.0, "minimum": 4, "maximum": 4, "median": 4, "mode": 4, "type": "int"},
    }
    query = '{Aggregate{Doc(groupBy: ["title"]){groupedBy{value} n{sum}}}}'
    body = check("POST", "/graphql", requests.post(f"{base}/graphql", json={"query": query}))
    assert {g["groupedBy"]["value"]: g["n"]["sum"] for g in body["data"]["Aggregate"]["Doc"]} == {"a": 5, "b": 4}


def test_injected_server_error_uses_the_error_response_shape(test_server: WeaviateTestServer, base: str) -> None:
    test_server.faults.fail_requests(1, status=500, message="boom")
    body = check("POST", "/batch/objects", requests.post(f"{base}/batch/objects", json={"objects": []}))
    assert body == {"error": [{"message": "boom"}]}


def test_restart_keeps_the_data_and_the_port(test_server: WeaviateTestServer, base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    requests.post(f"{base}/batch/objects", json={"objects": [{"class": "Doc", "properties": {"title": "a"}}]})
    port = test_server.port
    test_server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/meta", timeout=2)
    test_server.start()
    assert test_server.port == port
    body = requests.get(f"{base}/objects", params={"class": "Doc"}).json()
    assert [o["properties"]["title"] for o in body["objects"]] == ["a"]


def test_vectors_are_stored_and_echoed_as_float32_in_their_shortest_form(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    reply = requests.post(
        f"{base}/batch/objects",
        json={"objects": [{"class": "Doc", "id": "00000000-0000-4000-8000-000000000001", "properties": {}, "vector": [0.1, 1 / 3]}]},
    )
    check("POST", "/batch/objects", reply)
    # Weaviate keeps []float32 and Go writes a float32 with the fewest digits that read back the same.
    assert b'"vector":[0.1,0.33333334]' in reply.content
    stored = requests.get(f"{base}/objects/Doc/00000000-0000-4000-8000-000000000001", params={"include": "vector"})
    assert check("GET", "/objects/{className}/{id}", stored)["vector"] == [0.1, 0.33333334]


@pytest.mark.parametrize(
    ("vector", "words"),
    [
        ([0.1, "x"], "cannot unmarshal string into Go struct field Object.objects.vector of type float32"),
        ([0.1, True], "cannot unmarshal bool into Go struct field Object.objects.vector of type float32"),
        ([1e39, 0.0], "cannot unmarshal number 1e+39 into Go struct field Object.objects.vector of type float32"),
        ("0.1", "cannot unmarshal string into Go struct field Object.objects.vector of type models.C11yVector"),
    ],
)
def test_a_vector_that_is_not_float32_fails_the_whole_request_as_a_body_parse_error(base: str, vector: object, words: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    good = {"class": "Doc", "properties": {}, "vector": [0.1, 0.2]}
    reply = requests.post(f"{base}/batch/objects", json={"objects": [good, {"class": "Doc", "properties": {}, "vector": vector}]})
    body = check("POST", "/batch/objects", reply)
    assert reply.status_code == 422 and body["code"] == 602
    assert words in body["message"]
    assert requests.get(f"{base}/objects", params={"class": "Doc"}).json()["objects"] == []


def test_a_null_in_a_vector_is_stored_as_zero_as_go_decodes_it(base: str) -> None:
    requests.post(f"{base}/schema", json=CLASS_BODY)
    body = {"class": "Doc", "id": "00000000-0000-4000-8000-000000000001", "properties": {}, "vector": [0.5, None]}
    check("POST", "/objects", requests.post(f"{base}/objects", json=body))
    stored = requests.get(f"{base}/objects/Doc/00000000-0000-4000-8000-000000000001", params={"include": "vector"})
    assert stored.json()["vector"] == [0.5, 0]
