"""Batch insertion through weaviate-client 3.26.7, safely from asyncio: lane scheduling.

The v3 client is synchronous and its `Batch` is not thread-safe, so every
part of a call runs in an executor thread while holding its lane's
`threading.Lock`: concurrent callers are serialised and the event loop never
blocks. What one lane does with its part is `lane_send.LaneSend`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid as uuid_lib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import weaviate

from ..metrics import Metrics
from .batch_result import BatchResult, merge_results
from .batch_tuning import BatchConfig, BatchSizeTuner
from .client_compat import use_fast_json
from .failures import is_busy_answer
from .lane_send import Lane, LaneSend

BATCH_TIMER = "indexing_weaviate_batch_insert"
METRIC_SUCCESSFUL = "weaviate.batch.successful"
METRIC_FAILED = "weaviate.batch.failed"
METRIC_LAST_SIZE = "weaviate.batch.last_size"
METRIC_TOTAL_FAILURES = "weaviate.batch.total_failures"
METRIC_BATCH_SIZE = "weaviate.batch.size"
METRIC_OBJECTS_PER_SECOND = "weaviate.batch.objects_per_second"
# Below this many objects a part is not worth a request of its own (measured in BENCHMARKS.md).
MIN_SPLIT_OBJECTS = 25

_Part = tuple[int, list[dict[str, Any]], list[Any] | None, list[str]]  # offset, objects, vectors, ids


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
        self._lanes = [Lane(c) for c in clients]
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
        data_objects: Sequence[dict[str, Any]],
        vectors: Sequence[Sequence[float]] | None,
        class_name: str,
        uuids: Sequence[str] | None = None,
    ) -> BatchResult:
        """Insert objects into `class_name` with their `vectors` and `uuids`, when given.

        The call is cut into parts, each sent by the next free lane; error indices
        count from the call's first object.
        """
        if vectors is not None and len(vectors) != len(data_objects):
            raise ValueError(f"got {len(data_objects)} objects but {len(vectors)} vectors")
        if uuids is not None and len(uuids) != len(data_objects):
            raise ValueError(f"got {len(data_objects)} objects but {len(uuids)} uuids")
        free: asyncio.Queue[Lane] = asyncio.Queue()
        for lane in self._lanes:
            free.put_nowait(lane)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()

        async def send(lane: Lane, part: _Part) -> tuple[int, BatchResult]:
            try:
                return part[0], await loop.run_in_executor(self._executor, self._send_locked, lane, part, class_name)
            finally:
                free.put_nowait(lane)

        tasks: list[asyncio.Task[tuple[int, BatchResult]]] = []
        try:
            for part in self._parts(list(data_objects), vectors, uuids):
                lane = await free.get()
                tasks.append(asyncio.create_task(send(lane, part)))
            done = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        total = sum(r.successful + r.failed for _, r in done)
        if total:
            self.metrics.set_gauge(METRIC_OBJECTS_PER_SECOND, round(total / max(time.perf_counter() - started, 1e-9), 1))
        return merge_results(done)

    def _part_size(self, total: int) -> int:
        """Objects per part handed to a lane; `total` is the call's size."""
        if self.config.tuned:
            return self.tuner.size
        if len(self._lanes) == 1:
            return max(total, 1)  # one lane: the client splits by batch_size itself
        # A call shorter than a batch per lane is spread over the lanes (while Weaviate works
        # on one part, the next is encoded), but not into parts so small that the cost of a
        # request outweighs the overlap.
        per_request = self.config.batch_size * max(self.config.num_workers, 1)
        parts = max(1, min(len(self._lanes), total // MIN_SPLIT_OBJECTS))
        return max(1, min(per_request, -(-total // parts)))

    def _parts(
        self, objects: list[dict[str, Any]], vectors: Sequence[Sequence[float]] | None, uuids: Sequence[str] | None
    ) -> Iterator[_Part]:
        ids = [str(u) for u in uuids] if uuids is not None else [str(uuid_lib.uuid4()) for _ in objects]
        offset = 0
        while offset < len(objects):
            end = offset + self._part_size(len(objects))
            yield offset, objects[offset:end], None if vectors is None else list(vectors[offset:end]), ids[offset:end]
            offset = end

    def close(self) -> None:
        """Wait for the batches in flight, then stop the executor and each client's batch thread."""
        self._executor.shutdown(wait=True)
        for lane in self._lanes:
            with lane.lock:
                lane.client.batch.shutdown()

    def _send_locked(self, lane: Lane, part: _Part, class_name: str) -> BatchResult:
        _, objects, vectors, ids = part
        with lane.lock, self.metrics.timer(BATCH_TIMER):
            config = self.config
            tuned = config.tuned
            if tuned:
                # The tuner decides the size; the client sends each part as one request.
                config = dataclasses.replace(config, batch_size=max(len(objects), 2), dynamic=False)
            started = time.perf_counter()
            result = LaneSend(lane.client, config, class_name, objects, vectors, ids, self.metrics).run()
            if tuned:
                busy = result.fell_back or any(is_busy_answer(e.message, e.error_type) for e in result.errors)
                self.tuner.observe(len(objects), time.perf_counter() - started, busy)
            self.metrics.increment(METRIC_SUCCESSFUL, result.successful)
            self.metrics.increment(METRIC_FAILED, result.failed)
            self.metrics.set_gauge(METRIC_LAST_SIZE, len(objects))
            self.metrics.set_gauge(METRIC_BATCH_SIZE, self.tuner.size if tuned else config.batch_size)
            if result.fell_back:
                self.metrics.increment(METRIC_TOTAL_FAILURES)
            return result
