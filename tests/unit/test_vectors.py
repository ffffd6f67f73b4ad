"""Vectors at float32 precision: what Weaviate stores, written short."""

import json
import math
import random

import numpy as np
import pytest

from acolyte_lsp.store import wire_json
from acolyte_lsp.vectors import Float32Vector, VectorError, to_float32


def _dense(n: int, dims: int = 768) -> list[list[float]]:
    rng = random.Random(3)
    return [[rng.gauss(0, 0.04) for _ in range(dims)] for _ in range(n)]


def test_the_array_holds_the_float32_weaviate_would_store() -> None:
    vectors = _dense(5)
    for original, converted in zip(vectors, to_float32(vectors)):
        assert converted.array.dtype == np.float32
        assert np.array_equal(converted.array, np.asarray(original, dtype=np.float32))


def test_a_float32_vector_is_the_given_list_to_code_that_reads_lists() -> None:
    [vector] = to_float32([[0.1, -0.25]])
    assert isinstance(vector, list)
    assert json.loads(json.dumps(vector)) == [0.1, -0.25]


def test_the_wire_encoder_writes_the_shortest_text_that_reads_back_as_the_same_float32() -> None:
    [vector] = to_float32([[0.1, 1e-3, -0.036]])
    assert wire_json.encode(vector) == b"[0.1,0.001,-0.036]"


def test_on_the_wire_a_dense_vector_is_much_shorter_and_loses_no_float32_value() -> None:
    vectors = to_float32(_dense(5))
    wire = wire_json.encode(vectors)
    assert len(wire) < 0.6 * len(json.dumps(vectors))
    assert np.array_equal(np.asarray(json.loads(wire), dtype=np.float32), np.asarray(vectors, dtype=np.float32))


def test_float32_vectors_pass_through_unchanged() -> None:
    [vector] = to_float32([[1.0, 2.0]])
    assert to_float32([vector])[0] is vector


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ([0.1, math.nan], "NaN or infinite"),
        ([math.inf, 0.0], "NaN or infinite"),
        ([1e39, 0.0], "beyond float32's range"),
        ([[0.1], [0.2]], "not a flat list"),
        (["a", 0.2], "not a list of numbers"),
    ],
)
def test_a_vector_float32_cannot_hold_is_refused_with_its_position(bad: list, words: str) -> None:
    with pytest.raises(VectorError, match=words) as caught:
        to_float32([[0.0, 0.0], bad])
    assert caught.value.index == 1


def test_numpy_rows_from_a_model_are_taken_as_they_are() -> None:
    rows = np.asarray([[0.25, 0.5]], dtype=np.float32)
    [vector] = to_float32(list(rows))
    assert isinstance(vector, Float32Vector) and vector == [0.25, 0.5]


def _reply(*objects: dict) -> bytes:
    return wire_json.encode([{**o, "result": {"status": "SUCCESS"}} for o in objects])


def test_a_batch_reply_is_decoded_without_the_echoed_vectors() -> None:
    reply = _reply(
        {"id": "a", "properties": {"content": 'say "vector":[1] here'}, "vector": to_float32([[0.1, -2e-7]])[0]},
        {"id": "b", "properties": {}, "vector": to_float32([[1.0, 2.0]])[0]},
    )
    decoded = wire_json.decode_batch_reply(reply)
    assert [o["vector"] for o in decoded] == [wire_json.VECTOR_NOT_DECODED] * 2
    assert decoded[0]["properties"]["content"] == 'say "vector":[1] here'
    assert [o["id"] for o in decoded] == ["a", "b"] and decoded[1]["result"] == {"status": "SUCCESS"}


@pytest.mark.parametrize("vector", [[[1.0], [2.0]], ["x]", 1], []])
def test_a_vector_key_holding_anything_but_numbers_is_decoded_as_it_is(vector: list) -> None:
    decoded = wire_json.decode_batch_reply(_reply({"id": "a", "properties": {"vector": vector}}))
    assert decoded[0]["properties"]["vector"] == vector


def test_a_batch_reply_without_vectors_is_decoded_whole() -> None:
    assert wire_json.decode_batch_reply(_reply({"id": "a", "properties": {}})) == [
        {"id": "a", "properties": {}, "result": {"status": "SUCCESS"}}
    ]
