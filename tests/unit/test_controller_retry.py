"""The controller's reconnect loop: capped backoff, and 'retry now' when the user asks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from acolyte_lsp import connection as connection_module
from acolyte_lsp.settings import Settings
from acolyte_lsp.controller import Controller, State
from acolyte_lsp.notices import Notice
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store.errors import WeaviateUnavailableError


class FakeStore:
    class_name = "CodeChunk"

    async def vector_size(self) -> None:
        return None

    def close(self) -> None:
        pass


class FlakyOpener:
    """Fails `failures` times, then opens a store; counts attempts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0

    async def __call__(self, settings: Settings, metrics: Metrics) -> Any:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise WeaviateUnavailableError(settings.weaviate.url, "connection refused")
        return FakeStore()


async def _wait_for(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_retry_now_skips_the_backoff_wait(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(connection_module, "RETRY_INITIAL_S", 3600.0)  # without retry_now: no second try
    opener = FlakyOpener(failures=1)
    notices: list[Notice] = []
    controller = Controller([tmp_path], Settings(), lambda e: None, notices.append, open_store=opener)
    assert await controller.connection.connect() is False
    assert controller.state == State.WAITING_FOR_WEAVIATE
    await asyncio.sleep(0.05)
    assert opener.attempts == 1
    controller.connection.retry_now()
    await _wait_for(lambda: controller.connected)
    assert opener.attempts == 2
    assert [n.level for n in notices] == ["error", "info"], "said once that it is away, once that it is back"
    await controller.close()


async def test_backoff_doubles_up_to_the_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    waits: list[float] = []

    async def no_wait(awaitable: Any, timeout: float) -> None:
        waits.append(timeout)
        awaitable.close()
        raise asyncio.TimeoutError

    monkeypatch.setattr(connection_module.asyncio, "wait_for", no_wait)
    opener = FlakyOpener(failures=8)
    controller = Controller([tmp_path], Settings(), lambda e: None, lambda n: None, open_store=opener)
    await controller.connection.connect()
    await _wait_for(lambda: controller.connected)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    await controller.close()


async def test_a_request_while_away_carries_the_outage_message_once(tmp_path: Path) -> None:
    controller = Controller([tmp_path], Settings(), lambda e: None, lambda n: None, open_store=FlakyOpener(100))
    await controller.connection.connect()
    with pytest.raises(Exception) as refused:
        await controller.search("anything")
    assert str(refused.value).count("Cannot reach Weaviate") == 1
    await controller.close()
