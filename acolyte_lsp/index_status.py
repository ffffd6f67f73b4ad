"""What `acolyte.indexStatus` answers: a session's state, roots, queue and metrics, as JSON-ready values."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from .controller import Controller
from .indexer.events import WorkspaceRoot
from .store.errors import StoreError

log = logging.getLogger(__name__)


async def index_status(controller: Controller, queued_changes: int = 0) -> dict[str, Any]:
    """State, counts per root, queue and the metrics, for `acolyte.indexStatus`."""
    connection = controller.connection
    return {
        "state": controller.state,
        "weaviate_url": connection.endpoint,
        "weaviate_embedded": await connection.embedded_status(),
        "class_name": controller.settings.weaviate.class_name,
        "embedder": connection.embedder_identity,
        "embedder_warning": connection.embedder_warning,
        "batch_size": controller.settings.search.weaviate_batch_size,
        "roots": [await _root_status(controller, root) for root in controller.roots],
        "queue": {
            "changes_waiting": queued_changes,
            "changes_while_weaviate_away": len(controller.away.paths),
            "full_run_needed": controller.away.full_run_needed,
            "failed_files_to_retry": len(controller.refused),
        },
        "last_error": connection.last_error,
        "metrics": controller.metrics.snapshot(),
    }


async def _root_status(controller: Controller, root: WorkspaceRoot) -> dict[str, Any]:
    summary = controller.last_summaries.get(root.path)
    chunks: int | None = None
    if (store := controller.connection.store) is not None:
        try:
            chunks = await store.count(root.workspace_id)
        except StoreError as err:
            log.info("status count failed: %s", err)
    return {
        "path": str(root.path),
        "workspace": root.workspace_id,
        "root": root.path.name,
        "files": None if summary is None else summary.files_indexed + summary.files_unchanged,
        "last_indexed": controller.last_indexed.get(root.path),
        "last_run": None if summary is None else dataclasses.asdict(summary),
        "chunks_in_weaviate": chunks,
        "indexed_by": controller.indexed_by(root),
    }
