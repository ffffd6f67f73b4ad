"""Random edits, saves, renames, branch switches, settings changes and Weaviate faults: the index converges.

A hypothesis state machine drives a real `Controller` (the editor session minus
LSP) against the protocol test server. While no fault is active, Weaviate must
match a fresh index of the files after every change. Faults (5xx answers,
replies slower than the client's timeout, dropped connections, refused objects,
restarts that keep or lose data) may leave it behind; after `recover`, which does
only what the server does by itself (reconnect, then a workspace run; retry the
files Weaviate refused; the periodic resync), it must match again.

CI runs a bounded, fixed set of examples (derandomized). The soak explores new ones:
`ACOLYTE_SOAK_EXAMPLES=500 .venv/bin/python -m pytest tests/reliability -p no:cacheprovider
--hypothesis-show-statistics`. A failure prints the steps and a `@reproduce_failure` blob;
`--hypothesis-seed=N` replays a whole run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from acolyte_lsp.changes import Batch, ChangeKind
from acolyte_lsp.settings import IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.controller import Controller, retry_refused
from acolyte_lsp.notices import Notice
from acolyte_lsp.store.client import connect
from tests.convergence import convergence_problems
from tests.weaviate_server import WeaviateTestServer
from tests.weaviate_server.state import WeaviateState

pytestmark = pytest.mark.skipif(bool(os.environ.get("WEAVIATE_URL")), reason="injects faults into the test server")

FOLDERS = ["pkg", "a*", "ab", "sp ace", "ünï", "deep/er"]
NAMES = ["m.py", "n.md", "o.txt", "q?.py", "with space.py", "ü.go"]
FAULTS = ["fail_insert", "fail_delete", "fail_query", "slow_insert", "drop_insert", "reject_objects", "restart_keep", "restart_lose"]
LOOP_LIMIT_S = 60.0


def _content(version: int, size: int) -> str:
    body = [f"def f{version}_{i}(x):\n    return x + {i}\n" for i in range(size // 2)]
    return "".join(body) + "".join(f"line {version}.{i}\n" for i in range(size % 7))


class ConvergenceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="acolyte-sm-"))
        self.root = self.tmp / "ws"
        self.root.mkdir()
        self.server = WeaviateTestServer().start()
        self.settings = Settings(
            search=SearchSettings(weaviate_batch_size=7),
            weaviate=WeaviateSettings(
                url=self.server.url, class_name="Chunks", timeout_retries=0, connection_error_retries=0,
                object_retries=1, retry_backoff_s=0.01, read_timeout_s=1.0, connect_timeout_s=1.0,
            ),
            indexing=IndexingSettings(chunk_lines=10, chunk_overlap=2, min_chunk_lines=3),
        )
        self.notices: list[Notice] = []
        self.loop = asyncio.new_event_loop()
        self.controller = Controller([self.root], self.settings, lambda e: None, self.notices.append)
        self.faulted = False  # a fault was injected since the last recovery
        self.data_lost = False
        self.late_writes = False
        self.pending: Batch = {}
        self.reconnects_seen = 0
        self.client = connect(WeaviateSettings(url=self.server.url))
        self._run(self.controller.connection.connect())
        self._run(self.controller.index_all())

    # -- plumbing -------------------------------------------------------------------

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(asyncio.wait_for(coro, LOOP_LIMIT_S))

    def _files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def _event(self, path: Path, kind: ChangeKind) -> None:
        self.pending.pop(path, None)
        self.pending[path] = kind

    def _deliver(self) -> None:
        """The debounced batch reaches the controller, as the change queue hands it over."""
        batch, self.pending = self.pending, {}
        if batch:
            self._run(self.controller.apply_changes(batch))

    def _problems(self) -> list[str]:
        root = self.controller.roots[0]
        return convergence_problems(self.client, self.settings.weaviate.class_name, root, self.controller.settings)

    # -- the editor and the file system ----------------------------------------------

    @rule(folder=st.sampled_from(FOLDERS), name=st.sampled_from(NAMES), version=st.integers(0, 4), size=st.integers(0, 40), save=st.booleans())
    def write_file(self, folder: str, name: str, version: int, size: int, save: bool) -> None:
        path = self.root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_content(version, size))
        self._event(path, ChangeKind.CHANGED)
        if save:
            self._deliver()

    @precondition(lambda self: self._files())
    @rule(pick=st.integers(0, 100), save=st.booleans())
    def delete_file(self, pick: int, save: bool) -> None:
        path = self._files()[pick % len(self._files())]
        path.unlink()
        self._event(path, ChangeKind.DELETED)
        if save:
            self._deliver()

    @precondition(lambda self: self._files())
    @rule(pick=st.integers(0, 100), folder=st.sampled_from(FOLDERS), name=st.sampled_from(NAMES))
    def rename_file(self, pick: int, folder: str, name: str) -> None:
        source = self._files()[pick % len(self._files())]
        target = self.root / folder / name
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        self._event(source, ChangeKind.DELETED)
        self._event(target, ChangeKind.CHANGED)
        self._deliver()

    @rule(origin=st.sampled_from(FOLDERS), destination=st.sampled_from(FOLDERS))
    def rename_folder(self, origin: str, destination: str) -> None:
        src, dst = self.root / origin, self.root / (destination + "2")
        if not src.is_dir() or dst.exists() or dst.is_relative_to(src):
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        src.rename(dst)
        self._event(src, ChangeKind.DELETED)
        self._event(dst, ChangeKind.CHANGED)
        self._deliver()

    @rule(folder=st.sampled_from(FOLDERS + [f + "2" for f in FOLDERS]))
    def delete_folder(self, folder: str) -> None:
        path = self.root / folder
        if path.is_dir():
            shutil.rmtree(path)
            self._event(path, ChangeKind.DELETED)
            self._deliver()

    @rule(seed=st.integers(0, 10_000), count=st.integers(2, 12))
    def branch_switch(self, seed: int, count: int) -> None:
        """Many files change at once (a checkout): code moves between files, some vanish."""
        for i in range(count):
            folder, name = FOLDERS[(seed + i) % len(FOLDERS)], NAMES[(seed // 7 + i) % len(NAMES)]
            path = self.root / folder / name
            if (seed + i) % 4 == 0 and path.exists():
                path.unlink()
                self._event(path, ChangeKind.DELETED)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_content((seed + i) % 5, (seed * i) % 30))
                self._event(path, ChangeKind.CHANGED)
        self._deliver()

    @rule(chunk_lines=st.sampled_from([10, 7]), redact=st.booleans())
    def change_settings(self, chunk_lines: int, redact: bool) -> None:
        """How files are cut changes: the session applies it in place and re-sends every file."""
        self._deliver()
        indexing = dataclasses.replace(self.controller.settings.indexing, chunk_lines=chunk_lines, redact_secrets=redact)
        new = dataclasses.replace(self.controller.settings, indexing=indexing)
        if new == self.controller.settings:
            return
        self.controller.apply_settings_in_place(new)
        if self.controller.connected:
            self._run(self.controller.index_all(force=True))

    # -- Weaviate --------------------------------------------------------------------

    @rule(kind=st.sampled_from(FAULTS), count=st.integers(1, 3))
    def inject_fault(self, kind: str, count: int) -> None:
        faults = self.server.faults
        if kind == "fail_insert":
            faults.fail_requests(count, status=503, message="overloaded")
        elif kind == "fail_delete":
            faults.fail_requests(count, status=500, method="DELETE", path="/v1/batch/objects")
        elif kind == "fail_query":
            faults.fail_requests(count, status=500, path="/v1/graphql")
        elif kind == "slow_insert":
            # The client gives up after 1 s; the server still stores the batch later, as Weaviate
            # does with a request it already read: a write that lands after we moved on.
            faults.delay_requests(1.3, 1)
            self.late_writes = True
        elif kind == "drop_insert":
            faults.drop_requests(count)
        elif kind == "reject_objects":
            faults.reject_objects(lambda obj: "invalid text property 'content': refused" if "return x + 1\n" in str(obj.get("properties")) else None)
        elif kind == "restart_keep":
            self.server.restart()
        elif kind == "restart_lose":
            self.server.stop()
            self.server.state = WeaviateState()
            self.server.start()
            self.data_lost = True
        self.faulted = True

    @rule()
    def recover(self) -> None:
        """Faults end; the server does what it does by itself; Weaviate must match the files."""
        self._deliver()
        self.server.faults.clear()
        self._drain_held_requests()
        for _ in range(3):  # the session's loop: whenever a connection comes up, a workspace run
            if not self.controller.connected:
                self.controller.connection.retry_now()
                self._run(self.controller.connection.wait_connected())
            reconnects = sum("Connected to Weaviate" in n.message for n in self.notices)
            if reconnects != self.reconnects_seen or self.controller.away.paths:
                self.reconnects_seen = reconnects
                self._run(self.controller.index_all())
            if self.controller.refused:
                self._run(retry_refused(self.controller))  # the controller's own timer, without the wait
            if (self.data_lost or self.late_writes) and self.controller.connected:
                self._run(self.controller.index_all())  # the periodic resync
            if self.controller.connected and not self.controller.refused:
                break
        problems = self._problems()
        assert not problems, f"not converged after recovery ({len(problems)}):\n" + "\n".join(problems[:20])
        self.faulted = self.data_lost = self.late_writes = False

    def _drain_held_requests(self) -> None:
        """Wait (bounded) until the server has finished the requests it was holding."""
        deadline = time.monotonic() + 10
        while self.server.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    @invariant()
    def converged_while_nothing_fails(self) -> None:
        if self.faulted or self.pending or self.controller.refused:
            return
        problems = self._problems()
        assert not problems, f"not converged with no fault active ({len(problems)}):\n" + "\n".join(problems[:20])

    def teardown(self) -> None:
        try:
            if self.faulted or self.pending:
                self.recover()
        finally:
            self._run(self.controller.close())
            self.loop.close()
            self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)


SOAK = "ACOLYTE_SOAK_EXAMPLES" in os.environ
ConvergenceMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("ACOLYTE_SOAK_EXAMPLES", "12")),
    derandomize=not SOAK,  # the suite runs the same examples every time; soaks explore (and print their seed)
    stateful_step_count=int(os.environ.get("ACOLYTE_SOAK_STEPS", "25")),
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
TestConvergence = ConvergenceMachine.TestCase
