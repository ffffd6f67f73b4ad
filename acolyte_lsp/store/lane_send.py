"""One lane's send: a part of a call through one client's batch, retries, then one by one.

Per-object outcomes come from the batch callback (Weaviate answers each object
with `result.errors.error[].message`) and from `add_data_object` raising. When
the batch fails whole (connection error or timeout after the client's own
retries, or a non-200 status), the objects Weaviate never confirmed are
inserted one by one and whatever still fails is reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
import weaviate
from weaviate.exceptions import ObjectAlreadyExistsException, UnexpectedStatusCodeException, WeaviateBaseError

from ..metrics import Metrics
from ..vectors import Float32Vector, VectorError, to_float32
from .batch_result import BatchResult, ErrorType, ObjectError
from .batch_tuning import BatchConfig
from .client_compat import FlatProperties, reset_after_failure
from .failures import backoff_delay, describe_failure, is_busy_answer, is_transient, status_error_type, weaviate_message

METRIC_RETRIES = "weaviate.batch.retries"


@dataclass
class Lane:
    """One client and the lock that keeps its (not thread-safe) batch to one thread."""

    client: weaviate.Client
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Outcome:
    """Mutable per-call bookkeeping, filled from the client's worker threads."""

    index_of: dict[str, int]
    errors: dict[int, tuple[str, ErrorType]] = field(default_factory=dict)
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

    def fail(self, index: int, message: str, error_type: ErrorType) -> None:
        with self.lock:
            self.confirmed.add(index)
            self.errors[index] = (message, error_type)

    def succeed(self, index: int) -> None:
        with self.lock:
            self.confirmed.add(index)
            self.errors.pop(index, None)


class LaneSend:
    """One part of a call sent through one lane's client (blocking; the caller holds the lane's lock)."""

    def __init__(
        self,
        client: weaviate.Client,
        config: BatchConfig,
        class_name: str,
        objects: list[dict[str, Any]],
        vectors: Sequence[Sequence[float] | None] | None,
        ids: list[str],
        metrics: Metrics,
    ) -> None:
        self.client = client
        self.config = config
        self.class_name = class_name
        self.objects = objects
        self.ids = ids
        self.metrics = metrics
        self.outcome = _Outcome({u: i for i, u in enumerate(ids)})
        self.vectors = self._float32_vectors(vectors)

    def run(self) -> BatchResult:
        """Send every object; the result says which were not stored and whether the batch failed whole."""
        fell_back = False
        if self.config.batch_size == 1:
            for i in range(len(self.objects)):
                if i not in self.outcome.confirmed:  # refused before sending
                    self._insert_one(i)
        else:
            fell_back = not self._insert_batched()
        errors = tuple(
            ObjectError(i, message, error_type, self.objects[i].get("file_path"))
            for i, (message, error_type) in sorted(self.outcome.errors.items())
        )
        return BatchResult(len(self.objects) - len(errors), len(errors), errors, fell_back)

    def _float32_vectors(self, vectors: Sequence[Sequence[float] | None] | None) -> list[Float32Vector | None] | None:
        """Each vector at float32 precision (what Weaviate stores, and short on the wire); a vector
        float32 cannot hold (NaN, infinity) fails its object here rather than reaching Weaviate as `null`."""
        if vectors is None:
            return None
        out: list[Float32Vector | None] = []
        for i, vector in enumerate(vectors):
            try:
                out.append(None if vector is None else to_float32([vector])[0])
            except VectorError as err:
                self.outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
                out.append(None)
        return out

    def _vector(self, i: int) -> Float32Vector | None:
        return self.vectors[i] if self.vectors is not None else None

    def _insert_batched(self) -> bool:
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
        outcome, config = self.outcome, self.config
        pending = [i for i in range(len(self.objects)) if i not in outcome.confirmed]
        never_failed_whole = True
        batch_error: tuple[str, ErrorType] | None = None
        for attempt in range(config.max_retries + 1):
            batch_error = self._send_batch(pending)
            never_failed_whole = never_failed_whole and batch_error is None
            # The client already retried connection errors and timeouts of the
            # whole batch; an HTTP answer (5xx, 429) it does not retry.
            answered_busy = batch_error is not None and is_busy_answer(*batch_error)
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
        for i in range(len(self.objects)):
            if i not in outcome.confirmed:
                self._insert_one(i, batch_error)
        return never_failed_whole

    def _send_batch(self, indices: list[int]) -> tuple[str, ErrorType] | None:
        """One pass of the client's batch over `indices`; the whole-batch failure, if any."""
        config = self.config
        batch = self.client.batch
        batch.configure(
            batch_size=config.batch_size,
            dynamic=config.dynamic,
            num_workers=config.num_workers,
            timeout_retries=config.timeout_retries,
            connection_error_retries=config.connection_error_retries,
            callback=self.outcome.on_results,
            consistency_level=config.consistency_level,
        )
        try:
            # Not `with batch:`, which stops the batch's worker thread on exit: starting
            # one again costs about a millisecond a batch. `close()` stops it.
            batch.start()
            for i in indices:
                try:
                    batch.add_data_object(
                        FlatProperties(self.objects[i]), self.class_name, uuid=self.ids[i], vector=self._vector(i)
                    )
                except (TypeError, ValueError) as err:
                    self.outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
            batch.flush()
        except (requests.exceptions.RequestException, WeaviateBaseError, TypeError) as err:
            # TypeError: a property JSON cannot hold; one by one, only its object fails.
            reset_after_failure(batch)
            return describe_failure(err)
        except BaseException:
            reset_after_failure(batch)  # nothing of this batch may ride along with the next one
            raise
        return None

    def _insert_one(self, i: int, batch_error: tuple[str, ErrorType] | None = None) -> None:
        """Create one object, replacing it when its id already exists."""
        data = self.client.data_object
        args = (self.objects[i], self.class_name)
        options: dict[str, Any] = dict(uuid=self.ids[i], vector=self._vector(i), consistency_level=self.config.consistency_level)
        try:
            try:
                data.create(*args, **options)
            except ObjectAlreadyExistsException:
                data.replace(*args, **options)
        except (TypeError, ValueError) as err:
            self.outcome.fail(i, str(err), ErrorType.INVALID_OBJECT)
        except UnexpectedStatusCodeException as err:
            self.outcome.fail(i, weaviate_message(err), status_error_type(err.status_code))
        except (requests.exceptions.RequestException, WeaviateBaseError) as err:
            message, error_type = describe_failure(err)
            if batch_error is not None:
                message = f"{message} (after the batch failed: {batch_error[0]})"
            self.outcome.fail(i, message, error_type)
        else:
            self.outcome.succeed(i)
