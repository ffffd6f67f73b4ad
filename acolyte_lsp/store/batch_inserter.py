"""Batch insertion through weaviate-client 3.26.7, safely from asyncio.

The v3 client is synchronous and its `Batch` is not thread-safe, so every
`batch_insert` runs in an executor thread while holding one `threading.Lock`:
concurrent callers are serialised and the event loop never blocks.

Per-object outcomes come from the batch callback (Weaviate answers each object
with `result.errors.error[].message`) and from `add_data_object` raising. When
the batch fails whole (connection error or timeout after the client's own
retries, or a non-200 status), the objects Weaviate never confirmed are
inserted one by one and whatever still fails is reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
import time
import uuid as uuid_lib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
import weaviate
from weaviate.exceptions import ObjectAlreadyExistsException, UnexpectedStatusCodeException, WeaviateBaseError

from ..metrics import Metrics
from ..vectors import Float32Vector, VectorError, to_float32
from .client_compat import FlatProperties, reset_after_failure, use_fast_json, weaviate_error_messages

BATCH_TIMER = "indexing_weaviate_batch_insert"
METRIC_SUCCESSFUL = "weaviate.batch.successful"
METRIC_FAILED = "weaviate.batch.failed"
METRIC_LAST_SIZE = "weaviate.batch.last_size"
METRIC_TOTAL_FAILURES = "weaviate.batch.total_failures"
METRIC_RETRIES = "weaviate.batch.retries"
METRIC_BATCH_SIZE = "weaviate.batch.size"
METRIC_OBJECTS_PER_SECOND = "weaviate.batch.objects_per_second"

# Per-object messages that mean "try again later", not "this object is wrong".
_TRANSIENT_MARKERS = (
    "context deadline exceeded",
    "deadline exceeded",
    "timeout",
    "timed out",
    "temporarily unavailable",
    "unavailable",
    "connection refused",
    "connection reset",
    "too many requests",
    "try again",
    "eof",
)
_RNG = random.Random()
# Below this many objects a part is not worth a request of its own (measured in BENCHMARKS.md).
MIN_SPLIT_OBJECTS = 25


class ErrorType:
    """Values of an object error's `error_type` (also the diagnostic `code`)."""

    REJECTED = "rejected"  # Weaviate refused this object (validation, vector length, …)
    INVALID_OBJECT = "invalid_object"  # the client refused it before sending
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"  # a non-200 answer to the single-object request


@dataclass(frozen=True)
class BatchResult:
    """Outcome of one `batch_insert` call.

    `errors` holds one dict per failed object:
    `{"index", "error", "file_path", "error_type"}`, `index` being the object's
    position in the call's input.
    """

    successful: int
    failed: int
    errors: tuple[dict[str, Any], ...] = ()
    fell_back: bool = False


@dataclass
class _Outcome:
    """Mutable per-call bookkeeping, filled from the client's worker threads."""

    total: int
    index_of: dict[str, int]
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_results(self, results: Any) -> None:
        # A reply of another shape confirms nothing: those objects are then sent one by one.
        for item in results if isinstance(results, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("result") or {}, dict):
                continue
            index = self.index_of.get(str(item.get("id")))
            if index is None:
                continue
            errors = (item.get("result") or {}).get("errors") or {}
            listed = errors.get("error") if isinstance(errors, dict) else None
            messages = [
                str(e.get("message", "")) if isinstance(e, dict) else str(e)
                for e in (listed if isinstance(listed, list) else [])
            ]
            with self.lock:
                self.confirmed.add(index)
                if messages:
                    self.errors[index] = ("; ".join(messages), ErrorType.REJECTED)
                else:
                    self.errors.pop(index, None)

    def forget(self, indices: Sequence[int]) -> None:
        """Make these objects pending again (they are being retried)."""
        with self.lock:
            for index in indices:
                self.confirmed.discard(index)
                self.errors.pop(index, None)

    def fail(self, index: int, message: str, error_type: str) -> None:
        with self.lock:
            self.confirmed.add(index)
            self.errors[index] = (message, error_type)


@dataclass(frozen=True)
class BatchConfig:
    """How the v3 client's batch is configured; swapped whole, read once per batch."""

    batch_size: int = 100
    num_workers: int = 1
    dynamic: bool = False
    timeout_retries: int = 3
    connection_error_retries: int = 3
    consistency_level: str | None = None
    max_retries: int = 3  # our retries of transient failures, after the client's own
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 8.0
    min_batch_size: int = 10  # bounds and target of the batch-size tuner (dynamic)
    max_batch_size: int = 1000
    target_batch_s: float = 1.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    @property
    def tuned(self) -> bool:
        """Whether the tuner sizes batches (`batch_size: 1` always means one object per request)."""
        return self.dynamic and self.batch_size > 1


@dataclass
class BatchSizeTuner:
    """Adapts the batch size to what Weaviate handles: grow while requests stay under a target
    time, shrink in proportion when they take longer, halve on timeouts and busy answers."""

    size: int
    min_size: int = 10
    max_size: int = 1000
    target_s: float = 1.0
    trace: list[tuple[int, float, bool, int]] = field(default_factory=list)  # sent, seconds, busy, next size

    def bound(self, min_size: int, max_size: int, target_s: float) -> None:
        self.min_size, self.max_size, self.target_s = min_size, max(min_size, max_size), target_s
        self.size = max(self.min_size, min(self.max_size, self.size))

    def observe(self, sent: int, seconds: float, busy: bool) -> int:
        if busy:
            size = self.size // 2
        elif seconds > self.target_s:
            size = int(self.size * self.target_s / seconds)
        elif sent >= self.size:  # only a full batch says how big a batch can be
            size = int(self.size * 1.5) + 1
        else:
            size = self.size
        self.size = max(self.min_size, min(self.max_size, size))
        self.trace.append((sent, seconds, busy, self.size))
        return self.size


@dataclass
class _Lane:
    """One client and the lock that keeps its (not thread-safe) batch to one thread."""

    client: weaviate.Client
    lock: threading.Lock = field(default_factory=threading.Lock)


StreamItem = tuple[dict[str, Any], Sequence[float] | None, str | None]


class WeaviateBatchInserter:
    """Inserts objects in batches through one or more clients ("lanes"), each with its own lock.

    With one client every batch is serialised by its lock. With several
    (`weaviate.parallel_clients`), up to that many batches are in flight at
    once, never two on one client; ids are deterministic, so the order in
    which batches complete does not matter.
    """

    def __init__(
        self,
        client: weaviate.Client | Sequence[weaviate.Client],
        *,
        batch_size: int = 100,
        num_workers: int = 1,
        dynamic: bool = False,
        timeout_retries: int = 3,
        connection_error_retries: int = 3,
        consistency_level: str | None = None,
        max_retries: int = 3,
        retry_backoff_s: float = 0.5,
        metrics: Metrics | None = None,
        fast_wire: bool = True,
    ) -> None:
        clients = [client] if isinstance(client, weaviate.Client) else list(client)
        if not clients:
            raise ValueError("the inserter needs at least one client")
        if fast_wire:
            # A plain `weaviate.Client` gets the same wire as one from `connect()`;
            # `fast_wire=False` keeps the client's own JSON (the benchmarks' baseline).
            for each in clients:
                use_fast_json(each)
        self._lanes = [_Lane(c) for c in clients]
        self.config = BatchConfig(
            batch_size,
            num_workers,
            dynamic,
            timeout_retries,
            connection_error_retries,
            consistency_level,
            max_retries,
            retry_backoff_s,
        )
        self.tuner = BatchSizeTuner(batch_size)
        self.tuner.bound(self.config.min_batch_size, self.config.max_batch_size, self.config.target_batch_s)
        self.metrics = metrics or Metrics()
        # A private pool keeps slow batches from starving the loop's default
        # executor; it has more threads than lanes, so the locks are what serialise.
        self._executor = ThreadPoolExecutor(max_workers=len(self._lanes) + 3, thread_name_prefix="weaviate-batch")

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    def reconfigure(self, config: BatchConfig) -> None:
        """Settings for the next batch; the batch in flight keeps the ones it started with."""
        if config.batch_size != self.config.batch_size:
            self.tuner.size = config.batch_size
        self.tuner.bound(config.min_batch_size, config.max_batch_size, config.target_batch_s)
        self.config = config  # one attribute swap: no lock needed, none taken on the event loop

    async def batch_insert(
        self,
        data_objects: Sequence[dict[str, Any]] | AsyncIterable[StreamItem],
        vectors: Sequence[Sequence[float]] | None,
        class_name: str,
        uuids: Sequence[str] | None = None,
    ) -> BatchResult:
        """Insert objects into `class_name`: lists (with their `vectors` and `uuids`, when given), or an
        async iterable of `(properties, vector, uuid)` consumed as batches are sent (back-pressure:
        the next batch is pulled only when a lane is free). Error indices count from the first object.
        """
        if isinstance(data_objects, AsyncIterable):
            if vectors is not None or uuids is not None:
                raise ValueError("a stream carries its vectors and uuids in its items")
            chunks = self._stream_chunks(data_objects)
        else:
            if vectors is not None and len(vectors) != len(data_objects):
                raise ValueError(f"got {len(data_objects)} objects but {len(vectors)} vectors")
            if uuids is not None and len(uuids) != len(data_objects):
                raise ValueError(f"got {len(data_objects)} objects but {len(uuids)} uuids")
            chunks = self._list_chunks(list(data_objects), vectors, uuids)
        free: asyncio.Queue[_Lane] = asyncio.Queue()
        for lane in self._lanes:
            free.put_nowait(lane)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()

        async def send(lane: _Lane, offset: int, objs: list[dict[str, Any]], vecs: list[Any] | None, ids: list[str]) -> tuple[int, BatchResult]:
            try:
                result = await loop.run_in_executor(self._executor, self._insert_locked, lane, objs, vecs, class_name, ids)
                return offset, result
            finally:
                free.put_nowait(lane)

        tasks: list[asyncio.Task[tuple[int, BatchResult]]] = []
        try:
            async for offset, objs, vecs, ids in chunks:
                lane = await free.get()
                tasks.append(asyncio.create_task(send(lane, offset, objs, vecs, ids)))
            done = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        total = sum(r.successful + r.failed for _, r in done)
        if total:
            self.metrics.set_gauge(METRIC_OBJECTS_PER_SECOND, round(total / max(time.perf_counter() - started, 1e-9), 1))
        return _merge(done)

    def _chunk_size(self, total: int | None) -> int:
        """Objects per chunk handed to a lane; `total` is the call's size (None for a stream)."""
        if self.config.tuned:
            return self.tuner.size
        per_request = self.config.batch_size * max(self.config.num_workers, 1)
        if total is None:
            return per_request
        if len(self._lanes) == 1:
            return max(total, 1)  # one lane: the client splits by batch_size itself
        # A call shorter than a batch per lane is spread over the lanes (while Weaviate works
        # on one part, the next is encoded), but not into parts so small that the cost of a
        # request outweighs the overlap.
        parts = max(1, min(len(self._lanes), total // MIN_SPLIT_OBJECTS))
        return max(1, min(per_request, -(-total // parts)))

    async def _list_chunks(
        self, objects: list[dict[str, Any]], vectors: Sequence[Sequence[float]] | None, uuids: Sequence[str] | None
    ) -> AsyncIterator[tuple[int, list[dict[str, Any]], list[Any] | None, list[str]]]:
        ids = [str(u) for u in uuids] if uuids is not None else [str(uuid_lib.uuid4()) for _ in objects]
        offset = 0
        while offset < len(objects):
            end = offset + self._chunk_size(len(objects))
            yield offset, objects[offset:end], None if vectors is None else list(vectors[offset:end]), ids[offset:end]
            offset = end

    async def _stream_chunks(
        self, items: AsyncIterable[StreamItem]
    ) -> AsyncIterator[tuple[int, list[dict[str, Any]], list[Any] | None, list[str]]]:
        offset = 0
        objs: list[dict[str, Any]] = []
        vecs: list[Any] = []
        ids: list[str] = []
        async for properties, vector, uuid in items:
            objs.append(properties)
            vecs.append(vector)
            ids.append(str(uuid) if uuid is not None else str(uuid_lib.uuid4()))
            if len(objs) >= self._chunk_size(None):
                yield offset, objs, _vectors_or_none(vecs), ids
                offset += len(objs)
                objs, vecs, ids = [], [], []
        if objs:
            yield offset, objs, _vectors_or_none(vecs), ids

    def close(self) -> None:
        """Wait for the batches in flight, then stop the executor and each client's batch thread."""
        self._executor.shutdown(wait=True)
        for lane in self._lanes:
            with lane.lock:
                lane.client.batch.shutdown()

    def _insert_locked(
        self,
        lane: _Lane,
        data_objects: list[dict[str, Any]],
        vectors: Sequence[Sequence[float]] | None,
        class_name: str,
        ids: list[str],
    ) -> BatchResult:
        with lane.lock, self.metrics.timer(BATCH_TIMER):
            config = self.config
            tuned = config.tuned
            if tuned:
                # The tuner decides the size; the client sends each chunk as one request.
                config = dataclasses.replace(config, batch_size=max(len(data_objects), 2), dynamic=False)
            started = time.perf_counter()
            outcome = _Outcome(len(data_objects), {u: i for i, u in enumerate(ids)})
            wire_vectors = _float32_vectors(outcome, vectors)
            fell_back = False
            if config.batch_size == 1:
                for i in range(len(data_objects)):
                    if i in outcome.confirmed:  # refused before sending
                        continue
                    self._insert_one(lane.client, config, outcome, i, data_objects, wire_vectors, class_name, ids)
            else:
                fell_back = not self._insert_batched(
                    lane.client, config, outcome, data_objects, wire_vectors, class_name, ids
                )
            result = self._result(outcome, data_objects, fell_back)
            if tuned:
                busy = fell_back or any(_is_busy_answer(e["error"], e["error_type"]) for e in result.errors)
                self.tuner.observe(len(data_objects), time.perf_counter() - started, busy)
            self.metrics.increment(METRIC_SUCCESSFUL, result.successful)
            self.metrics.increment(METRIC_FAILED, result.failed)
            self.metrics.set_gauge(METRIC_LAST_SIZE, len(data_objects))
            self.metrics.set_gauge(METRIC_BATCH_SIZE, self.tuner.size if tuned else config.batch_size)
            if fell_back:
                self.metrics.increment(METRIC_TOTAL_FAILURES)
            return result

    def _insert_batched(
        self,
        client: weaviate.Client,
        config: BatchConfig,
        outcome: _Outcome,
        data_objects: list[dict[str, Any]],
        vectors: Sequence[Float32Vector | None] | None,
        class_name: str,
        ids: list[str],
    ) -> bool:
        """Send through the client's batch, retry what failed for transient reasons, then insert
        one by one what Weaviate never confirmed. True if the batch never failed whole.

        The v3 client retries a whole batch on timeouts and connection errors
        (linearly, no jitter) and can resend objects with Weaviate errors
        (`WeaviateErrorRetryConf`, but immediately, with no backoff). Transient
        per-object errors ("context deadline exceeded", an unavailable module)
        usually need the server to breathe first, so after the client gives up
        we retry only the transient failures, with exponential backoff and
        jitter, a bounded number of times. Validation errors are never retried.
        """
        pending = [i for i in range(len(data_objects)) if i not in outcome.confirmed]
        never_failed_whole = True
        batch_error: tuple[str, str] | None = None
        for attempt in range(config.max_retries + 1):
            batch_error = self._send_batch(client, config, outcome, pending, data_objects, vectors, class_name, ids)
            never_failed_whole = never_failed_whole and batch_error is None
            # The client already retried connection errors and timeouts of the
            # whole batch; an HTTP answer (5xx, 429) it does not retry.
            answered_busy = batch_error is not None and _is_busy_answer(*batch_error)
            retry = [
                i
                for i in pending
                if (i in outcome.errors and is_transient(*outcome.errors[i]))
                or (i not in outcome.confirmed and answered_busy)
            ]
            if not retry or attempt == config.max_retries:
                break
            self.metrics.increment(METRIC_RETRIES, len(retry))
            time.sleep(backoff_delay(attempt, config.retry_backoff_s, config.retry_backoff_max_s))
            outcome.forget(retry)
            pending = retry
        # Objects Weaviate never answered for: the batch failed before sending
        # them, or a timeout retry found them stored without a reply. Inserting
        # them one by one is idempotent (same ids) and loses nothing.
        for i in range(len(data_objects)):
            if i not in outcome.confirmed:
                self._insert_one(client, config, outcome, i, data_objects, vectors, class_name, ids, batch_error)
        return never_failed_whole

    def _send_batch(
        self,
        client: weaviate.Client,
        config: BatchConfig,
        outcome: _Outcome,
        indices: list[int],
        data_objects: list[dict[str, Any]],
        vectors: Sequence[Float32Vector | None] | None,
        class_name: str,
        ids: list[str],
    ) -> tuple[str, str] | None:
        """One pass of the client's batch over `indices`; the whole-batch failure, if any."""
        batch = client.batch
        batch.configure(
            batch_size=config.batch_size,
            dynamic=config.dynamic,
            num_workers=config.num_workers,
            timeout_retries=config.timeout_retries,
            connection_error_retries=config.connection_error_retries,
            callback=outcome.on_results,
            consistency_level=config.consistency_level,
        )
        try:
            # Not `with batch:`, which stops the batch's worker thread on exit: starting
            # one again costs about a millisecond a batch. `close()` stops it.
            batch.start()
            for i in indices:
                try:
                    batch.add_data_object(
                        FlatProperties(data_objects[i]),
                        class_name,
                        uuid=ids[i],
                        vector=vectors[i] if vectors is not None else None,
                    )
                except (TypeError, ValueError) as err:
                    outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
            batch.flush()
        except (requests.exceptions.RequestException, WeaviateBaseError, TypeError) as err:
            # TypeError: a property JSON cannot hold; one by one, only its object fails.
            reset_after_failure(batch)
            return _describe_failure(err)
        except BaseException:
            reset_after_failure(batch)  # nothing of this batch may ride along with the next one
            raise
        return None

    def _insert_one(
        self,
        client: weaviate.Client,
        config: BatchConfig,
        outcome: _Outcome,
        i: int,
        data_objects: list[dict[str, Any]],
        vectors: Sequence[Float32Vector | None] | None,
        class_name: str,
        ids: list[str],
        batch_error: tuple[str, str] | None = None,
    ) -> None:
        """Create one object, replacing it when its id already exists."""
        vector = vectors[i] if vectors is not None else None
        data = client.data_object
        try:
            try:
                data.create(
                    data_objects[i], class_name, uuid=ids[i], vector=vector, consistency_level=config.consistency_level
                )
            except ObjectAlreadyExistsException:
                data.replace(
                    data_objects[i], class_name, uuid=ids[i], vector=vector, consistency_level=config.consistency_level
                )
        except (TypeError, ValueError) as err:
            outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
        except UnexpectedStatusCodeException as err:
            error_type = ErrorType.SERVER_ERROR if err.status_code >= 500 else ErrorType.REJECTED
            outcome.fail(i, _weaviate_message(err), error_type)
        except (requests.exceptions.RequestException, WeaviateBaseError) as err:
            message, error_type = _describe_failure(err)
            if batch_error is not None:
                message = f"{message} (after the batch failed: {batch_error[0]})"
            outcome.fail(i, message, error_type)
        else:
            with outcome.lock:
                outcome.confirmed.add(i)
                outcome.errors.pop(i, None)

    @staticmethod
    def _result(outcome: _Outcome, data_objects: list[dict[str, Any]], fell_back: bool) -> BatchResult:
        errors = tuple(
            {
                "index": i,
                "error": message,
                "file_path": data_objects[i].get("file_path"),
                "error_type": error_type,
            }
            for i, (message, error_type) in sorted(outcome.errors.items())
        )
        return BatchResult(outcome.total - len(errors), len(errors), errors, fell_back)


def _float32_vectors(outcome: _Outcome, vectors: Sequence[Sequence[float] | None] | None) -> list[Float32Vector | None] | None:
    """Each vector at float32 precision (what Weaviate stores, and short on the wire); a vector
    float32 cannot hold (NaN, infinity) fails its object here rather than reaching Weaviate as `null`."""
    if vectors is None:
        return None
    out: list[Float32Vector | None] = []
    for i, vector in enumerate(vectors):
        try:
            out.append(None if vector is None else to_float32([vector])[0])
        except VectorError as err:
            outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
            out.append(None)
    return out


def _vectors_or_none(vectors: list[Any]) -> list[Any] | None:
    return None if all(v is None for v in vectors) else vectors


def _merge(parts: Sequence[tuple[int, BatchResult]]) -> BatchResult:
    """One result for a call from its chunks' results, error indices made absolute."""
    errors = tuple(
        {**error, "index": offset + error["index"]}
        for offset, result in sorted(parts, key=lambda p: p[0])
        for error in result.errors
    )
    successful = sum(r.successful for _, r in parts)
    return BatchResult(successful, len(errors), errors, any(r.fell_back for _, r in parts))


def _weaviate_message(err: UnexpectedStatusCodeException) -> str:
    """Weaviate's own error text from a non-200 answer, else the exception text."""
    messages = weaviate_error_messages(err)
    if not messages:
        return str(err)
    return f"{'; '.join(messages)} (HTTP {err.status_code})"


def _describe_failure(err: BaseException) -> tuple[str, str]:
    if isinstance(err, requests.exceptions.Timeout):
        return (f"Weaviate did not answer in time: {err}", ErrorType.TIMEOUT)
    if isinstance(err, requests.exceptions.ConnectionError):
        return (f"connection to Weaviate failed: {err}", ErrorType.CONNECTION)
    if isinstance(err, UnexpectedStatusCodeException):
        error_type = ErrorType.SERVER_ERROR if err.status_code >= 500 else ErrorType.REJECTED
        return (_weaviate_message(err), error_type)
    if isinstance(err, TypeError):
        return (f"cannot be sent as JSON: {err}", ErrorType.INVALID_OBJECT)
    return (str(err), ErrorType.SERVER_ERROR)


def is_transient(message: str, error_type: str) -> bool:
    """Whether a failure may succeed if tried again later (never true for validation errors)."""
    if error_type in (ErrorType.TIMEOUT, ErrorType.CONNECTION, ErrorType.SERVER_ERROR):
        return True
    if error_type == ErrorType.INVALID_OBJECT:
        return False
    lowered = message.lower()
    if "(http 429)" in lowered:
        return True
    return any(marker in lowered for marker in _TRANSIENT_MARKERS)


def _is_busy_answer(message: str, error_type: str) -> bool:
    return error_type == ErrorType.SERVER_ERROR or "(http 429)" in message.lower()


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random = _RNG) -> float:
    """Seconds before retry `attempt` (0-based): exponential, capped, with "equal jitter" in [d/2, d]."""
    delay = min(cap_s, base_s * (2**attempt))
    return delay / 2 + rng.uniform(0, delay / 2)
