"""The way to Weaviate: the embedder, the store (at a URL or in Weaviate Embedded), backoff, connected or lost.

Knows nothing of indexing. When Weaviate is away it says so once and retries
with capped exponential backoff; whoever uses the store reads `store` (None
while away) and reports an outage with `lost()`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .settings import Settings
from .downloads import progress_text
from .embedded_choice import Answer, embedded_always, embedded_may_be_offered
from .embedding import Embedder, EmbedderError, load_embedder
from .metrics import Metrics
from .notices import Notice, NoticeSink, SetupSink, SetupStep
from .secrecy import mask_url
from .store.chunk_store import ChunkStore
from .store.embedded import EmbeddedWeaviate, embedded_for
from .store.embedded_release import download_url
from .store.errors import EmbeddedWeaviateError, SchemaMismatchError, StoreError, WeaviateUnavailableError

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 30.0

StoreOpener = Callable[[Settings, Metrics], Awaitable[ChunkStore]]
# Whether to start Weaviate Embedded (`reason`: why the default URL will not do): the editor
# asks the user (or recalls their answer), the CLI always says yes. None: no answer.
EmbeddedQuestion = Callable[[str], Awaitable[Answer | None]]


class Connection:
    """One session's embedder and store, and the work of keeping the store connected."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        on_notice: NoticeSink,
        on_setup: SetupSink,
        open_store: StoreOpener = ChunkStore.open,
        ask_embedded: EmbeddedQuestion | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.last_error: str | None = None
        self.embedder: Embedder | None = None
        self.embedder_warning: str | None = None  # why hashing stands in for the configured model
        self.embedded: EmbeddedWeaviate | None = None
        self.settings_error = False
        self.stopped = False
        self._notify = on_notice
        self._on_setup = on_setup
        self._open_store = open_store
        self._ask_embedded = ask_embedded
        self._store: ChunkStore | None = None
        self._last_store_error: StoreError | None = None
        self._will_retry = True
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None
        self._retry_now = asyncio.Event()

    @property
    def store(self) -> ChunkStore | None:
        """The connected store, None while Weaviate is away."""
        return self._store

    @property
    def endpoint(self) -> str:
        """The URL in use, to show: Weaviate Embedded's, or the configured one (credentials masked)."""
        return mask_url(self.embedded.url if self.embedded is not None else self.settings.weaviate.endpoint)

    @property
    def embedder_identity(self) -> str | None:
        return None if self.embedder is None else self.embedder.identity

    def apply_settings(self, settings: Settings) -> None:
        """Use `settings` from the next batch on (changes that need no reconnection)."""
        self.settings = settings
        if self._store is not None:
            self._store.apply_settings(settings)

    async def connect(self, retry: bool = True) -> bool:
        """Set up the embedder, then try once to connect; on failure retry in the background.

        True when connected. A settings problem (an embedder that cannot load, a
        class that cannot hold our vectors) is reported and not retried: only the
        user can fix it, and a settings change starts a new session. When nothing
        answers at the default URL and settings allow it, Weaviate Embedded is
        offered first (the question is awaited).
        """
        self._will_retry = retry
        if self.embedder is None and not await self._load_embedder():
            return False
        if embedded_always(self.settings.weaviate):
            self._use_embedded()
            if self.settings_error:
                return False
        offer = self.embedded is None and self._ask_embedded is not None and embedded_may_be_offered(self.settings.weaviate)
        if await self._try_connect(first=True, announce=not offer):
            return True
        if offer and not self.settings_error and await self._embedded_wanted():
            if await self._try_connect(first=True):
                return True
        if retry and not self.settings_error:
            self._start_retrying()
        return False

    async def _load_embedder(self) -> bool:
        """Find (download once), prepare and load the embedding model, showing progress when it takes time."""
        loop = asyncio.get_running_loop()
        shown = False

        def step(message: str, percentage: int | None) -> None:
            nonlocal shown
            shown = True
            loop.call_soon_threadsafe(self._on_setup, SetupStep(message, percentage, title="Embedding model"))

        try:
            loaded = await asyncio.to_thread(load_embedder, self.settings.embeddings, step)
        except EmbedderError as err:
            self._fail_settings(f"acolyte-lsp cannot index: {err}")
            return False
        finally:
            if shown:
                loop.call_soon_threadsafe(self._on_setup, SetupStep("Embedding model ready", done=True, title="Embedding model"))
        self.embedder = loaded.embedder
        self.embedder_warning = loaded.warning
        if loaded.warning:
            self._notify(Notice("warning", loaded.warning, once=True))
        return True

    async def _embedded_wanted(self) -> bool:
        """Ask whether Weaviate Embedded should stand in for the default URL that does not answer."""
        assert self._ask_embedded is not None
        err = self._last_store_error
        reason = f"No Weaviate answers at {err.url} ({err.detail})." if isinstance(err, WeaviateUnavailableError) else str(err)
        try:
            answer = await self._ask_embedded(reason)
        except Exception as failure:  # noqa: BLE001 - a client that cannot ask: say what is wrong instead
            log.info("the Weaviate Embedded question failed: %s", failure)
            answer = None
        if answer == Answer.START and not self.stopped:
            self._use_embedded()
            return self.embedded is not None
        if answer != Answer.SETTINGS:
            self._announce_unavailable()
        return False

    def _announce_unavailable(self) -> None:
        if self.last_error:
            later = " acolyte-lsp keeps running and retries in the background." if self._will_retry else ""
            self._notify(Notice("error", f"{self.last_error}{later}"))

    def _use_embedded(self) -> None:
        weaviate_settings = self.settings.weaviate
        try:
            download_url(weaviate_settings.embedded_version)
        except EmbeddedWeaviateError as err:
            self._fail_settings(str(err))
            return
        self.embedded = embedded_for(weaviate_settings)

    def retry_now(self) -> None:
        """Skip the rest of the current backoff wait."""
        self._retry_now.set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        """Return once a connection that was up has been lost."""
        await self._disconnected.wait()

    async def _try_connect(self, first: bool, announce: bool = True) -> bool:
        try:
            settings = self.settings
            if self.embedded is not None:
                await run_embedded(self.embedded, first, self._on_setup, self._notify)
                # Embedded is ours and anonymous: the user's API key is for their own server, never sent here.
                settings = dataclasses.replace(
                    settings, weaviate=dataclasses.replace(settings.weaviate, url=self.embedded.url, api_key=None)
                )
            store = await self._open_store(settings, self.metrics)
            assert self.embedder is not None
            await check_vector_size(store, self.embedder, self.settings)
        except SchemaMismatchError as err:
            self._fail_settings(str(err))
            return False
        except StoreError as err:
            self.last_error = str(err)
            self._last_store_error = err
            if first and announce:
                self._announce_unavailable()
            return False
        self._store = store
        self.last_error = None
        self._disconnected.clear()
        self._connected.set()
        if not first:
            self._notify(Notice("info", f"Connected to Weaviate at {self.endpoint}."))
        return True

    def _fail_settings(self, message: str) -> None:
        self.settings_error = True
        self.last_error = message
        self._notify(Notice("error", message))

    def _start_retrying(self) -> None:
        if self._connect_task is None or self._connect_task.done():
            self._connect_task = asyncio.create_task(self._retry_connect())

    async def _retry_connect(self) -> None:
        delay = RETRY_INITIAL_S
        while not self.settings_error:
            self._retry_now.clear()
            try:
                await asyncio.wait_for(self._retry_now.wait(), delay)
            except asyncio.TimeoutError:
                pass
            if await self._try_connect(first=False):
                return
            delay = min(delay * 2, RETRY_MAX_S)

    def lost(self, message: str) -> None:
        """Weaviate went away mid-work: say so, drop the store, retry in the background."""
        if self._store is None:
            return
        log.warning("lost Weaviate: %s", message)
        store, self._store = self._store, None
        asyncio.get_running_loop().run_in_executor(None, store.close)
        self._connected.clear()
        self._disconnected.set()
        self.last_error = message
        self._notify(Notice("error", f"{message} acolyte-lsp keeps running and retries in the background."))
        self._start_retrying()

    async def embedded_status(self) -> dict[str, Any] | None:
        """Weaviate Embedded's port, data folder and how many windows use it; None when it is not in use."""
        if self.embedded is None:
            return None
        return {
            "port": self.embedded.options.port,
            "data": str(self.embedded.options.data_dir),
            "windows": len(await asyncio.to_thread(self.embedded.users)),
        }

    async def close(self) -> None:
        """Stop retrying and release the store (waits for the batch in flight)."""
        self.stopped = True
        if self._connect_task is not None:
            self._connect_task.cancel()
        if self._store is not None:
            store, self._store = self._store, None
            await asyncio.to_thread(store.close)
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.release)  # stops it only when no other window uses it


async def run_embedded(embedded: EmbeddedWeaviate, first: bool, on_setup: SetupSink, notify: NoticeSink) -> None:
    """Make Weaviate Embedded answer (fetching it once), with progress; says when it had to be restarted."""
    loop = asyncio.get_running_loop()
    last_percentage = -1

    def downloaded(done: int, total: int | None) -> None:
        nonlocal last_percentage
        percentage, size = progress_text(done, total)
        if percentage is not None and percentage == last_percentage:
            return
        last_percentage = percentage if percentage is not None else last_percentage
        loop.call_soon_threadsafe(on_setup, SetupStep(f"Downloading Weaviate Embedded: {size}", percentage))

    def building(message: str) -> None:
        loop.call_soon_threadsafe(on_setup, SetupStep(message))

    if await asyncio.to_thread(embedded.answering):
        await asyncio.to_thread(embedded.ensure_running)  # takes this window's lease on the shared one
        return
    on_setup(SetupStep(f"Starting Weaviate Embedded on port {embedded.options.port}"))
    outcome = "did not start"
    try:
        started = await asyncio.to_thread(embedded.ensure_running, downloaded, building)
        outcome = "is ready"
    finally:
        on_setup(SetupStep(f"Weaviate Embedded {outcome}", done=True))
    if started:
        notify(
            Notice(
                "info",
                f"Started Weaviate Embedded at {embedded.url} (data in {embedded.options.data_dir})."
                if first
                else f"Weaviate Embedded at {embedded.url} had stopped; started it again.",
            )
        )


async def check_vector_size(store: ChunkStore, embedder: Embedder, settings: Settings) -> None:
    """Raise `SchemaMismatchError` (closing the store) when the class holds vectors of another size."""
    expected = embedder.dimensions
    existing = await store.vector_size()
    if expected is None or existing is None or existing == expected:
        return
    await asyncio.to_thread(store.close)
    keep = (
        f"`embeddings.dimensions: {existing}`"
        if settings.embeddings.provider == "hash"
        else f"`embeddings.provider: hash` with `embeddings.dimensions: {existing}` (classes made before the "
        "model was the default hold hashed vectors; search by meaning then needs the new class)"
    )
    raise SchemaMismatchError(
        f"Weaviate class '{store.class_name}' holds vectors of {existing} dimensions, but the embedder "
        f"({embedder.identity}) makes {expected}, and a class holds vectors of one size. Set "
        f"`weaviate.class_name` to a new class to index there, or {keep} to keep this one."
    )
