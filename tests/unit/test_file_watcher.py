"""The MCP server's own file watching: what it passes on, what it leaves out, and bursts as few batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from acolyte_lsp.agent import session as agent_session
from acolyte_lsp.agent.session import AgentSession
from acolyte_lsp.changes import Batch, ChangeKind, ChangeQueue
from acolyte_lsp.file_watcher import watch_folders
from acolyte_lsp.settings import EmbeddingSettings, Settings, WeaviateSettings
from tests.files import write

WAIT_S = 30.0


@asynccontextmanager
async def watching(root: Path, exclude: tuple[str, ...] = ()) -> AsyncIterator[list[tuple[Path, ChangeKind]]]:
    """Watch `root` while the block runs; the list holds every change passed on."""
    seen: list[tuple[Path, ChangeKind]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(watch_folders([root], exclude, (), lambda path, kind: seen.append((path, kind)), stop))
    await asyncio.sleep(0.5)  # the kernel's watches are in place
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


async def until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_created_changed_and_deleted_files_are_passed_on(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("x = 1\n")
    async with watching(tmp_path) as seen:
        write(tmp_path, {"src/new.py": "y = 2\n"})
        (tmp_path / "old.py").unlink()
        # A file made in a new folder before the kernel watches that folder is reported through the
        # folder (the indexer walks a changed folder): either report covers it.
        await until(lambda: bool({(tmp_path / "src/new.py", ChangeKind.CHANGED), (tmp_path / "src", ChangeKind.CHANGED)}
                                 & set(seen)), "the new file or its new folder")
        await until(lambda: (tmp_path / "old.py", ChangeKind.DELETED) in seen, "the deletion")


async def test_ignored_files_are_not_passed_on(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / ".git").mkdir()
    async with watching(tmp_path, exclude=("generated/**",)) as seen:
        write(tmp_path, {"build/out.py": "1\n", "debug.log": "2\n", "node_modules/m.js": "3\n", ".git/HEAD": "4\n",
                         "generated/g.py": "5\n", "kept.py": "6\n"})
        await until(lambda: (tmp_path / "kept.py", ChangeKind.CHANGED) in seen, "the kept file")
    files = {path.relative_to(tmp_path).as_posix() for path, _ in seen if not path.is_dir()}
    assert files == {"kept.py"}


async def test_a_symlink_loop_in_the_workspace_does_not_stop_watching(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path)
    async with watching(tmp_path) as seen:
        (tmp_path / "after.py").write_text("z = 3\n")
        await until(lambda: (tmp_path / "after.py", ChangeKind.CHANGED) in seen, "a change beside the loop")


async def test_a_branch_switch_of_two_thousand_files_reaches_the_index_whole_in_a_few_batches(tmp_path: Path) -> None:
    batches: list[Batch] = []

    async def handle(batch: Batch) -> None:
        batches.append(batch)

    queue = ChangeQueue(handle, debounce_s=0.3)  # indexing.debounce_ms's default: longer than the watcher's own step
    stop = asyncio.Event()
    task = asyncio.create_task(watch_folders([tmp_path], (), (), queue.add, stop))
    await asyncio.sleep(0.5)
    write(tmp_path, {f"pkg{i % 20}/m{i}.py": f"x = {i}\n" for i in range(2000)})
    wanted = {tmp_path / f"pkg{i % 20}/m{i}.py" for i in range(2000)}

    def covered() -> set[Path]:
        """Files handed over themselves or through their new folder (whose files the indexer walks)."""
        handed = {p for b in batches for p in b}
        return {f for f in wanted if f in handed or f.parent in handed}

    await until(lambda: covered() == wanted, "every file in a batch")
    stop.set()
    await asyncio.wait_for(task, WAIT_S)
    queue.close()
    assert len(batches) <= 10  # one burst, not a batch per file or folder (a batch waits at most 2 s)


async def test_a_polling_watcher_sees_changes_where_the_kernel_gives_no_events(tmp_path: Path) -> None:
    seen: list[tuple[Path, ChangeKind]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(watch_folders([tmp_path], (), (), lambda path, kind: seen.append((path, kind)), stop, polling=True))
    await asyncio.sleep(1.5)  # the first walk
    (tmp_path / "polled.py").write_text("p = 1\n")
    await until(lambda: (tmp_path / "polled.py", ChangeKind.CHANGED) in seen, "the change, by polling")
    stop.set()
    await asyncio.wait_for(task, WAIT_S)


async def test_the_agent_session_polls_when_the_kernel_refuses_to_watch_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    polled = asyncio.Event()

    async def kernel_refuses(*args: object, polling: bool = False) -> None:
        if not polling:
            raise OSError(28, "inotify watch limit reached")
        polled.set()

    monkeypatch.setattr(agent_session, "watch_folders", kernel_refuses)
    session = AgentSession(tmp_path, Settings(weaviate=WeaviateSettings(url="http://127.0.0.1:9"),
                                               embeddings=EmbeddingSettings(provider="hash")))
    await session.start()
    await asyncio.wait_for(polled.wait(), WAIT_S)
    warnings = (await session.status())["warnings"]
    await session.close()
    assert any("inotify watch limit reached" in w and "looking for changes every 1 s instead" in w for w in warnings)
