"""A shared team cluster: replication set at class creation, and two servers sharing one workspace id."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, Settings, WeaviateSettings
from acolyte_lsp.indexer.events import WorkspaceRoot
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store.chunk_store import ChunkStore
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.errors import StoreError
from acolyte_lsp.store.schema import ensure_schema
from tests.convergence import assert_converged
from tests.files import lines, write
from tests.weaviate_server import WeaviateTestServer

needs_stand_in = pytest.mark.skipif(bool(os.environ.get("WEAVIATE_URL")), reason="sets the number of nodes")


@needs_stand_in
async def test_the_replication_factor_is_set_when_the_class_is_created() -> None:
    with WeaviateTestServer(nodes=3) as server:
        settings = Settings(weaviate=WeaviateSettings(url=server.url, class_name="Team", replication_factor=3))
        store = await ChunkStore.open(settings, Metrics())
        store.close()
        [cls] = weaviate.Client(server.url).schema.get()["classes"]
        assert cls["replicationConfig"]["factor"] == 3


@needs_stand_in
async def test_a_factor_above_the_clusters_nodes_is_refused_with_weaviates_reason() -> None:
    with WeaviateTestServer(nodes=1) as server:
        settings = Settings(weaviate=WeaviateSettings(url=server.url, class_name="Team", replication_factor=2))
        with pytest.raises(StoreError, match="not enough storage replicas: found 1 want 2"):
            await ChunkStore.open(settings, Metrics())


def test_two_servers_indexing_one_shared_workspace_at_once_converge_without_duplicates(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    clone_a, clone_b = tmp_path / "laptop" / "repo", tmp_path / "desktop" / "repo"
    write(clone_a, {f"src/m{i}.py": lines(f"m{i}", 40) for i in range(40)})
    (clone_a / ".acolyte").write_text(
        f"weaviate:\n  class_name: {class_name}\nindexing:\n  workspace_id: team-repo\n  chunk_lines: 10\n  chunk_overlap: 2\n"
        "search:\n  weaviate_batch_size: 25\nembeddings:\n  provider: hash\n"  # two at once: the cores are Weaviate's
    )
    shutil.copytree(clone_a, clone_b)
    command = [sys.executable, "-m", "acolyte_lsp", "index", "--url", weaviate_url, "--trust"]
    runs = [subprocess.Popen([*command[:4], str(clone), *command[4:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for clone in (clone_a, clone_b)]
    for run in runs:
        _, errors = run.communicate(timeout=180)
        assert run.returncode == 0, errors.decode(errors="replace")
    settings = Settings(
        indexing=IndexingSettings(workspace_id="team-repo", chunk_lines=10, chunk_overlap=2),
        embeddings=EmbeddingSettings(provider="hash"),
    )
    for clone in (clone_a, clone_b):  # identical clones: one index, every chunk once
        assert_converged(client, class_name, WorkspaceRoot.at(clone, "team-repo"), settings)
    # The clones part ways; the last to index wins, and nothing of the other lingers.
    write(clone_b, {"src/m0.py": lines("edited on the desktop", 12)})
    (clone_b / "src/m1.py").unlink()
    runs = [subprocess.Popen([*command[:4], str(clone), *command[4:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for clone in (clone_a, clone_b)]
    for run in runs:
        run.communicate(timeout=180)
    last = subprocess.run([*command[:4], str(clone_b), *command[4:]], capture_output=True, text=True, timeout=180)
    assert last.returncode == 0, last.stderr
    assert_converged(client, class_name, WorkspaceRoot.at(clone_b, "team-repo"), settings)


def test_several_clis_creating_the_class_at_once_all_succeed(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    """Each reads the schema, finds no class and creates it: all but one hear "already exists", read it back, go on."""
    folders = []
    for i in range(4):
        folder = tmp_path / f"clone{i}"
        write(folder, {"a.py": lines(f"clone {i}", 12)})
        (folder / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\nembeddings:\n  provider: hash\n")
        folders.append(folder)
    runs = [
        subprocess.Popen([sys.executable, "-m", "acolyte_lsp", "index", str(f), "--url", weaviate_url, "--trust"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for f in folders
    ]
    for run in runs:
        _, errors = run.communicate(timeout=180)
        assert run.returncode == 0, errors.decode(errors="replace")


def test_creators_that_all_found_no_class_all_end_with_the_class_checked(
    weaviate_url: str, class_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every creator reads the schema before any creates the class: the race two servers starting at once run."""
    creators = 4
    read_schema = threading.Barrier(creators)
    real_get = weaviate.schema.Schema.get
    looked = threading.local()

    def get_then_wait(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        schema = real_get(self, *args, **kwargs)
        if not args and not kwargs and not getattr(looked, "once", False):
            looked.once = True
            read_schema.wait(timeout=30)  # nobody creates before everybody has looked once
        return schema

    monkeypatch.setattr(weaviate.schema.Schema, "get", get_then_wait)
    outcomes: list[object] = []

    def create() -> None:
        try:
            outcomes.append(ensure_schema(connect(WeaviateSettings(url=weaviate_url)), class_name))
        except Exception as err:  # noqa: BLE001 - the failure is what is checked
            outcomes.append(err)

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(repr, outcomes)) == ["False"] * (creators - 1) + ["True"]
