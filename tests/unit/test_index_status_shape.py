"""`acolyte.indexStatus` keeps its JSON: the keys editors and scripts read, and states as plain strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acolyte_lsp.settings import EmbeddingSettings, Settings
from acolyte_lsp.controller import Controller
from acolyte_lsp.index_status import index_status
from acolyte_lsp.metrics import Metrics


class CountingStore:
    class_name = "CodeChunk"

    async def vector_size(self) -> None:
        return None

    async def count(self, workspace: str) -> int:
        return 7

    def close(self) -> None:
        pass


async def _opened(settings: Settings, metrics: Metrics) -> Any:
    return CountingStore()


async def test_index_status_of_a_connected_idle_session_is_the_documented_json(tmp_path: Path) -> None:
    settings = Settings(embeddings=EmbeddingSettings(provider="hash", dimensions=8))
    controller = Controller([tmp_path], settings, lambda e: None, lambda n: None, open_store=_opened)
    assert await controller.connection.connect(retry=False)
    status = json.loads(json.dumps(await index_status(controller, queued_changes=3)))
    await controller.close()
    root = controller.roots[0]
    assert isinstance(status.pop("metrics"), dict)
    assert status == {
        "state": "idle",
        "weaviate_url": "http://localhost:8080",
        "weaviate_embedded": None,
        "class_name": "CodeChunk",
        "embedder": "hash:1:8",
        "embedder_warning": None,
        "batch_size": settings.search.weaviate_batch_size,
        "roots": [
            {
                "path": str(tmp_path),
                "workspace": root.workspace_id,
                "root": tmp_path.name,
                "files": None,
                "last_indexed": None,
                "last_run": None,
                "chunks_in_weaviate": 7,
                "indexed_by": "this process",
            }
        ],
        "queue": {
            "changes_waiting": 3,
            "changes_while_weaviate_away": 0,
            "full_run_needed": False,
            "failed_files_to_retry": 0,
        },
        "last_error": None,
    }


async def test_index_status_state_serialises_as_its_text(tmp_path: Path) -> None:
    controller = Controller([tmp_path], Settings(), lambda e: None, lambda n: None, open_store=_opened)
    await controller.close()
    assert json.dumps(controller.state) == '"stopped"'
