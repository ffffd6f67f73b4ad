"""WeaviateBatchInserter against Weaviate's wire protocol, faults included."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import threading

import pytest
import weaviate

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.store.batch_inserter import MIN_SPLIT_OBJECTS, WeaviateBatchInserter
from acolyte_lsp.store.batch_result import ErrorType
from acolyte_lsp.store.batch_tuning import BatchSizeTuner
from acolyte_lsp.store.failures import backoff_delay, is_transient
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.schema import ensure_schema
from tests.recording_proxy import RecordingProxy
from tests.weaviate_server import WeaviateTestServer

Recorded = WeaviateTestServer | RecordingProxy  # the stand-in, or a recording proxy before a real Weaviate

from .helpers import chunk_objects

CLASS = "CodeChunk"


def _inserter(client: weaviate.Client, **kwargs: object) -> WeaviateBatchInserter:
    options: dict[str, object] = dict(batch_size=10, num_workers=1, dynamic=False, timeout_retries=0, connection_error_retries=0)
    options.update(kwargs)
    return WeaviateBatchInserter(client, **options)  # type: ignore[arg-type]


@pytest.fixture
def fault_client(test_server: WeaviateTestServer) -> weaviate.Client:
    client = connect(WeaviateSettings(url=test_server.url, read_timeout_s=1.0))
    ensure_schema(client, CLASS)
    return client


def _count(client: weaviate.Client, class_name: str) -> int:
    reply = client.query.aggregate(class_name).with_meta_count().do()
    return reply["data"]["Aggregate"][class_name][0]["meta"]["count"]


async def test_all_objects_are_stored(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(25)
    result = await _inserter(client).batch_insert(objects, vectors, class_name, uuids)
    assert (result.successful, result.failed, result.errors) == (25, 0, ())
    assert _count(client, class_name) == 25


async def test_dynamic_batching_with_workers_stores_everything(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(57)
    inserter = _inserter(client, dynamic=True, num_workers=2, batch_size=8)
    result = await inserter.batch_insert(objects, vectors, class_name, uuids)
    assert (result.successful, result.failed) == (57, 0)
    assert _count(client, class_name) == 57


async def test_sending_the_same_ids_again_overwrites_instead_of_duplicating(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(12)
    for batch_size in (10, 1):
        result = await _inserter(client, batch_size=batch_size).batch_insert(objects, vectors, class_name, uuids)
        assert result.failed == 0
    assert _count(client, class_name) == 12


async def test_rejected_objects_are_reported_exactly_and_the_rest_stored(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(20)
    objects[3]["start_line"] = "three"  # Weaviate refuses a string for an int property …
    objects[11]["file_chunks"] = "many"  # … whether auto-schema is on (its default) or off
    result = await _inserter(client).batch_insert(objects, vectors, class_name, uuids)
    assert (result.successful, result.failed) == (18, 2)
    by_index = {e.index: e for e in result.errors}
    assert set(by_index) == {3, 11}
    assert by_index[3].file_path == "src/a.py"
    assert by_index[3].error_type == ErrorType.REJECTED
    assert "start_line" in by_index[3].message
    assert "file_chunks" in by_index[11].message
    assert _count(client, class_name) == 18


async def test_vector_of_the_wrong_length_is_rejected(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(5)
    vectors[4] = vectors[4][:3]
    result = await _inserter(client).batch_insert(objects, vectors, class_name, uuids)
    [error] = result.errors
    assert error.index == 4
    # The class had no vectors before this batch: Weaviate's HNSW index notices, not its validation
    # ("…: vector lengths don't match: 16 vs 3" in 1.25, "…: 16 vs 3: vector lengths don't match" in 1.35).
    assert "vector lengths don't match" in error.message and "16 vs 3" in error.message
    objects, vectors, uuids = chunk_objects(3, file_path="b.py")
    vectors[1] = vectors[1][:3]
    [error] = (await _inserter(client).batch_insert(objects, vectors, class_name, uuids)).errors
    assert error.index == 1
    assert "new node has a vector with length 3. Existing nodes have vectors with length 16" in error.message


@pytest.mark.parametrize("batch_size", [10, 1])
async def test_a_vector_float32_cannot_hold_fails_its_object_and_never_reaches_weaviate(
    client: weaviate.Client, class_name: str, batch_size: int
) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(4)
    vectors[2] = [math.nan] * len(vectors[2])  # JSON has no NaN; sent as null, Weaviate would store zeros
    result = await _inserter(client, batch_size=batch_size).batch_insert(objects, vectors, class_name, uuids)
    [error] = result.errors
    assert (error.index, error.error_type) == (2, ErrorType.INVALID_OBJECT)
    assert "NaN" in error.message
    assert result.successful == 3
    assert _count(client, class_name) == 3


async def test_a_property_json_cannot_hold_fails_only_its_object(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(6)
    objects[4]["chunk_name"] = {1, 2}  # a set: no JSON form
    inserter = _inserter(client)
    result = await inserter.batch_insert(objects, vectors, class_name, uuids)
    [error] = result.errors
    assert (error.index, error.error_type) == (4, ErrorType.INVALID_OBJECT)
    assert "not JSON serializable" in error.message
    assert result.successful == 5 and _count(client, class_name) == 5
    objects[4]["chunk_name"] = "fixed"
    again = await inserter.batch_insert(objects, vectors, class_name, uuids)
    assert (again.successful, again.failed) == (6, 0), "the failed batch left nothing behind"


async def test_individual_mode_uses_one_request_per_object(recorded_weaviate: Recorded, class_name: str) -> None:
    client = connect(WeaviateSettings(url=recorded_weaviate.url))
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(6)
    objects[2]["start_line"] = "x"
    result = await _inserter(client, batch_size=1).batch_insert(objects, vectors, class_name, uuids)
    assert (result.successful, result.failed) == (5, 1)
    assert result.errors[0].index == 2
    assert recorded_weaviate.requests_to("POST", "/v1/batch/objects") == []
    assert len(recorded_weaviate.requests_to("POST", "/v1/objects")) == 6


async def test_client_side_refusal_is_an_invalid_object_error(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(4)
    uuids[1] = "not-a-uuid"
    result = await _inserter(client).batch_insert(objects, vectors, class_name, uuids)
    assert result.errors[0].index == 1
    assert result.errors[0].error_type == ErrorType.INVALID_OBJECT
    assert result.successful == 3


@pytest.mark.parametrize("fault", ["status_500", "slow_reply", "dropped_connection"])
async def test_whole_batch_failure_falls_back_to_individual_inserts(
    test_server: WeaviateTestServer, fault_client: weaviate.Client, fault: str
) -> None:
    if fault == "status_500":
        test_server.faults.fail_requests(1, status=500)
    elif fault == "slow_reply":
        test_server.faults.delay_requests(3.0, 1)  # the client's read timeout is 1 s
    else:
        test_server.faults.drop_requests(1)
    objects, vectors, uuids = chunk_objects(10)
    inserter = _inserter(fault_client)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert (result.successful, result.failed, result.fell_back) == (10, 0, True)
    assert len(test_server.state.all_objects(CLASS)) == 10
    assert inserter.metrics.get("weaviate.batch.total_failures") == 1


async def test_fallback_reports_what_still_fails(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    test_server.faults.fail_requests(None, status=503, message="overloaded", path="/v1/")
    objects, vectors, uuids = chunk_objects(3)
    result = await _inserter(fault_client).batch_insert(objects, vectors, CLASS, uuids)
    assert result.failed == 3
    assert {e.error_type for e in result.errors} == {ErrorType.SERVER_ERROR}
    assert all("overloaded" in e.message and "503" in e.message for e in result.errors)


async def test_next_batch_after_a_failed_one_starts_clean(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    test_server.faults.fail_requests(1, status=500)
    inserter = _inserter(fault_client)
    first = chunk_objects(10, file_path="a.py")
    second = chunk_objects(10, file_path="b.py")
    await inserter.batch_insert(first[0], first[1], CLASS, first[2])
    result = await inserter.batch_insert(second[0], second[1], CLASS, second[2])
    assert (result.successful, result.fell_back) == (10, False)


async def test_concurrent_calls_are_serialised_by_the_lock(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    test_server.faults.latency_s = 0.02
    inserter = _inserter(fault_client, batch_size=5)
    active = 0
    overlap = 0
    threads = set()
    guard = threading.Lock()
    original = fault_client.batch.add_data_object

    def tracking_add(*args: object, **kwargs: object) -> str:
        with guard:
            threads.add(threading.get_ident())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    original_configure = fault_client.batch.configure

    def tracking_configure(*args: object, **kwargs: object) -> object:
        nonlocal active, overlap
        with guard:
            active += 1
            overlap = max(overlap, active)
        return original_configure(*args, **kwargs)

    original_flush = fault_client.batch.flush

    def tracking_flush() -> None:  # a batch runs from configure to its flush
        nonlocal active
        try:
            original_flush()
        finally:
            with guard:
                active -= 1

    fault_client.batch.add_data_object = tracking_add  # type: ignore[method-assign]
    fault_client.batch.configure = tracking_configure  # type: ignore[method-assign]
    fault_client.batch.flush = tracking_flush  # type: ignore[method-assign]
    a = chunk_objects(20, file_path="a.py")
    b = chunk_objects(20, file_path="b.py")
    results = await asyncio.gather(
        inserter.batch_insert(a[0], a[1], CLASS, a[2]), inserter.batch_insert(b[0], b[1], CLASS, b[2])
    )
    assert [r.successful for r in results] == [20, 20]
    assert len(threads) == 2, "both calls ran on executor threads"
    assert overlap == 1, "two threads were inside one client's batch at once"
    assert len(test_server.state.all_objects(CLASS)) == 40


async def test_event_loop_keeps_running_while_a_slow_batch_is_in_flight(
    test_server: WeaviateTestServer, fault_client: weaviate.Client
) -> None:
    test_server.faults.delay_requests(0.5, 1)
    objects, vectors, uuids = chunk_objects(5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    result = await _inserter(fault_client).batch_insert(objects, vectors, CLASS, uuids)
    task.cancel()
    assert result.successful == 5
    assert ticks >= 5, "the loop was blocked while the batch waited for Weaviate"


async def test_metrics_count_objects_batches_and_time(client: weaviate.Client, class_name: str) -> None:
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(12)
    objects[0]["start_line"] = "bad"
    inserter = _inserter(client)
    await inserter.batch_insert(objects, vectors, class_name, uuids)
    assert inserter.metrics.get("weaviate.batch.successful") == 11
    assert inserter.metrics.get("weaviate.batch.failed") == 1
    assert inserter.metrics.get("weaviate.batch.last_size") == 12
    assert inserter.metrics.get("weaviate.batch.total_failures") == 0
    assert inserter.metrics.timer_stats("indexing_weaviate_batch_insert").count == 1


async def test_mismatched_lengths_are_refused_before_sending(client: weaviate.Client) -> None:
    objects, vectors, uuids = chunk_objects(3)
    with pytest.raises(ValueError, match="3 objects but 2 vectors"):
        await _inserter(client).batch_insert(objects, vectors[:2], CLASS, uuids)


def _flaky(message: str, failures: int, seen: dict[str, int]):  # type: ignore[no-untyped-def]
    """A rejecter failing each object whose content ends with '!' `failures` times, counting attempts."""

    def reject(obj: dict[str, object]) -> str | None:
        content = str((obj.get("properties") or {}).get("content", ""))  # type: ignore[union-attr]
        if not content.endswith("!"):
            return None
        seen[content] = seen.get(content, 0) + 1
        return message if seen[content] <= failures else None

    return reject


async def test_transient_object_errors_succeed_on_retry(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    seen: dict[str, int] = {}
    test_server.faults.reject_objects(_flaky("context deadline exceeded", 2, seen))
    objects, vectors, uuids = chunk_objects(10)
    objects[4]["content"] += "!"
    inserter = _inserter(fault_client, retry_backoff_s=0.01)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert (result.successful, result.failed) == (10, 0)
    assert seen == {objects[4]["content"]: 3}
    assert inserter.metrics.get("weaviate.batch.retries") == 2
    assert test_server.requests_to("POST", "/v1/objects") == [], "retried as a batch, not one by one"


async def test_validation_errors_are_never_retried(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    seen: dict[str, int] = {}
    test_server.faults.reject_objects(_flaky("invalid text property 'content' on class 'CodeChunk': nope", 99, seen))
    objects, vectors, uuids = chunk_objects(3)
    objects[1]["content"] += "!"
    inserter = _inserter(fault_client, retry_backoff_s=0.01)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert [e.index for e in result.errors] == [1]
    assert seen == {objects[1]["content"]: 1}
    assert inserter.metrics.get("weaviate.batch.retries") == 0


async def test_transient_errors_that_persist_are_reported_once_after_the_last_retry(
    test_server: WeaviateTestServer, fault_client: weaviate.Client
) -> None:
    seen: dict[str, int] = {}
    test_server.faults.reject_objects(_flaky("context deadline exceeded", 99, seen))
    objects, vectors, uuids = chunk_objects(2)
    objects[0]["content"] += "!"
    result = await _inserter(fault_client, max_retries=2, retry_backoff_s=0.01).batch_insert(objects, vectors, CLASS, uuids)
    [error] = result.errors
    assert error.index == 0 and "deadline exceeded" in error.message
    assert seen[objects[0]["content"]] == 3, "the first try and 2 retries"


@pytest.mark.parametrize("status", [429, 503])
async def test_a_busy_answer_to_the_whole_batch_is_retried_as_a_batch(
    test_server: WeaviateTestServer, fault_client: weaviate.Client, status: int
) -> None:
    test_server.faults.fail_requests(2, status=status, message="slow down")
    objects, vectors, uuids = chunk_objects(10)
    inserter = _inserter(fault_client, retry_backoff_s=0.01)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert (result.successful, result.failed) == (10, 0)
    assert test_server.requests_to("POST", "/v1/objects") == []
    assert inserter.metrics.get("weaviate.batch.retries") == 20


def test_backoff_grows_exponentially_within_bounds_with_jitter() -> None:
    rng = random.Random(1)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        delays = [backoff_delay(attempt, 0.5, 8.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10, "no jitter"


def test_transient_and_permanent_errors_are_told_apart() -> None:
    assert is_transient("context deadline exceeded", ErrorType.REJECTED)
    assert is_transient("connection to Weaviate failed", ErrorType.CONNECTION)
    assert is_transient("slow down (HTTP 429)", ErrorType.REJECTED)
    assert not is_transient("invalid integer property 'n' on class 'C': requires an integer", ErrorType.REJECTED)
    assert not is_transient("new node has a vector with length 3. Existing nodes have vectors with length 2", ErrorType.REJECTED)
    assert not is_transient("timeout in the uuid", ErrorType.INVALID_OBJECT)


def test_tuner_grows_under_the_target_and_shrinks_above_it_within_bounds() -> None:
    tuner = BatchSizeTuner(100, min_size=10, max_size=400, target_s=1.0)
    assert tuner.observe(100, 0.2, busy=False) == 151
    assert tuner.observe(151, 0.3, busy=False) == 227
    assert tuner.observe(227, 0.3, busy=False) == 341
    assert tuner.observe(341, 0.3, busy=False) == 400, "capped at max_size"
    assert tuner.observe(400, 2.0, busy=False) == 200, "twice the target halves it"
    assert tuner.observe(200, 0.1, busy=True) == 100, "a busy answer halves it"
    for _ in range(10):
        tuner.observe(10, 0.1, busy=True)
    assert tuner.size == 10, "never below min_size"
    assert tuner.observe(3, 0.01, busy=False) == 10, "a partial batch says nothing about the size"


async def test_batch_size_adapts_to_injected_latency(test_server: WeaviateTestServer, fault_client: weaviate.Client) -> None:
    test_server.faults.latency_s = 0.05
    inserter = _inserter(fault_client, dynamic=True, batch_size=10)
    inserter.reconfigure(dataclasses.replace(inserter.config, min_batch_size=5, max_batch_size=200, target_batch_s=0.2))
    objects, vectors, uuids = chunk_objects(300)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert result.successful == 300
    sizes = [size for _, _, _, size in inserter.tuner.trace]
    assert sizes[0] > 10 and max(sizes) > 40, "fast answers should grow the batch"
    assert inserter.metrics.get("weaviate.batch.size") == inserter.tuner.size
    test_server.faults.latency_s = 0.6  # now every request is slower than the 0.2 s target
    grown = inserter.tuner.size
    more = chunk_objects(60, file_path="b.py")
    await inserter.batch_insert(more[0], more[1], CLASS, more[2])
    assert inserter.tuner.size < grown


@pytest.mark.parametrize("status", [429, 503])
async def test_batch_size_shrinks_on_busy_answers(test_server: WeaviateTestServer, fault_client: weaviate.Client, status: int) -> None:
    inserter = _inserter(fault_client, dynamic=True, batch_size=80, retry_backoff_s=0.01)
    test_server.faults.fail_requests(1, status=status, message="busy")
    objects, vectors, uuids = chunk_objects(80)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert result.successful == 80
    assert inserter.tuner.trace[0][2] is True and inserter.tuner.size == 40


async def test_parallel_clients_overlap_without_losing_or_duplicating_objects(test_server: WeaviateTestServer) -> None:
    test_server.faults.latency_s = 0.2  # each request is held long enough for others to arrive
    clients = [connect(WeaviateSettings(url=test_server.url)) for _ in range(3)]
    ensure_schema(clients[0], CLASS)
    batch_threads: dict[int, set[int]] = {}
    guard = threading.Lock()

    def tracked(client: weaviate.Client) -> None:
        original = client.batch.add_data_object

        def add(*args: object, **kwargs: object) -> str:
            with guard:
                batch_threads.setdefault(id(client), set()).add(threading.get_ident())
            return original(*args, **kwargs)  # type: ignore[arg-type]

        client.batch.add_data_object = add  # type: ignore[method-assign]

    for client in clients:
        tracked(client)
    test_server.peak_in_flight = 0
    inserter = WeaviateBatchInserter(clients, batch_size=20, dynamic=False, timeout_retries=0, connection_error_retries=0)
    objects, vectors, uuids = chunk_objects(200)
    result = await inserter.batch_insert(objects, vectors, CLASS, uuids)
    assert (result.successful, result.failed) == (200, 0)
    assert test_server.peak_in_flight >= 2, "batches on different clients should be in flight together"
    assert test_server.peak_in_flight <= 3, "never more batches at once than clients"
    assert len(batch_threads) == 3, "every client carried batches"
    stored = test_server.state.all_objects(CLASS)
    assert len(stored) == 200 and len({o.id for o in stored}) == 200


async def test_a_call_shorter_than_a_batch_per_client_is_spread_over_every_client(
    recorded_weaviate: Recorded, class_name: str
) -> None:
    clients = [connect(WeaviateSettings(url=recorded_weaviate.url)) for _ in range(2)]
    ensure_schema(clients[0], class_name)
    inserter = WeaviateBatchInserter(clients, batch_size=100, dynamic=False)
    objects, vectors, uuids = chunk_objects(61)
    result = await inserter.batch_insert(objects, vectors, class_name, uuids)
    assert (result.successful, result.failed) == (61, 0)
    assert sorted(r.objects for r in recorded_weaviate.requests_to("POST", "/v1/batch/objects")) == [30, 31]


async def test_a_call_too_short_to_be_worth_two_requests_goes_to_one_client(recorded_weaviate: Recorded, class_name: str) -> None:
    clients = [connect(WeaviateSettings(url=recorded_weaviate.url)) for _ in range(2)]
    ensure_schema(clients[0], class_name)
    inserter = WeaviateBatchInserter(clients, batch_size=100, dynamic=False)
    objects, vectors, uuids = chunk_objects(MIN_SPLIT_OBJECTS + 5)
    result = await inserter.batch_insert(objects, vectors, class_name, uuids)
    assert result.successful == MIN_SPLIT_OBJECTS + 5
    assert [r.objects for r in recorded_weaviate.requests_to("POST", "/v1/batch/objects")] == [MIN_SPLIT_OBJECTS + 5]


async def test_batch_size_one_means_individual_inserts_even_with_dynamic_batching(
    recorded_weaviate: Recorded, class_name: str
) -> None:
    client = connect(WeaviateSettings(url=recorded_weaviate.url))
    ensure_schema(client, class_name)
    objects, vectors, uuids = chunk_objects(4)
    result = await _inserter(client, batch_size=1, dynamic=True).batch_insert(objects, vectors, class_name, uuids)
    assert result.successful == 4
    assert recorded_weaviate.requests_to("POST", "/v1/batch/objects") == []
    assert len(recorded_weaviate.requests_to("POST", "/v1/objects")) == 4
