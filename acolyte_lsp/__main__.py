"""Command line: `acolyte-lsp` (stdio language server), `acolyte-lsp index PATH`, `acolyte-lsp search QUERY`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import Settings, json_schema, load_settings, redacted
from .controller import Controller, Notice, SetupStep, State
from .downloads import progress_text
from .embedded_choice import Answer
from .identity import root_name
from .indexer import EventSink, FileFailed, FileNotIndexed, IndexEvent, IndexFinished, IndexProgress, IndexStarted, IndexSummary
from .metrics import Metrics
from .secrecy import install_log_masking
from .store.embedded import embedded_for
from .store.errors import StoreError

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_UNAVAILABLE = 2
EXIT_USAGE = 64


class _Bar:
    """A one-line bar on a terminal; a line per 10% elsewhere (logs, CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_decile = -1

    def draw(self, message: str, pct: int | None) -> None:
        if self.tty:
            bar = "?" * 25 if pct is None else "#" * (pct // 4) + "." * (25 - pct // 4)
            self.stream.write(f"\r[{bar}] {'' if pct is None else f'{pct:3d}% '}{message}\x1b[K")
        elif pct is not None and pct // 10 != self._last_decile:
            self.stream.write(f"{pct:3d}% {message}\n")
            self._last_decile = pct // 10


class ProgressBar:
    """Indexing progress, failures and warnings on the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._bar = _Bar(stream)

    def __call__(self, event: IndexEvent) -> None:
        if isinstance(event, IndexStarted):
            self._stream.write(f"Indexing {event.root.path}\n")
        elif isinstance(event, IndexProgress):
            self._bar.draw(*event.describe())
        elif isinstance(event, FileFailed):
            for failure in event.failures:
                self._stream.write(
                    f"\n{event.rel_path}:{failure.start_line}-{failure.end_line}: "
                    f"[{failure.error_type}] {failure.message}\n"
                )
        elif isinstance(event, FileNotIndexed):
            if event.warn:  # routine skips (binary, oversized) are only counted in the summary
                self._stream.write(f"\nwarning: not indexed: {event.rel_path}: {event.reason}\n")
        elif isinstance(event, IndexFinished) and self._tty:
            self._stream.write("\n")
        self._stream.flush()


def _print_summary(summary: IndexSummary, metrics: Metrics, embedder: str | None, out: TextIO) -> None:
    out.write(
        f"files: {summary.files_total} ({summary.files_indexed} indexed, {summary.files_unchanged} unchanged, "
        f"{summary.files_failed} failed, {summary.files_skipped} skipped, {summary.files_removed} removed)\n"
        f"chunks: {summary.chunks} stored, {summary.chunks_failed} failed "
        f"({summary.chunks_embedded} embedded, {summary.chunks_reused} with vectors Weaviate already held)\n"
        f"embedder: {embedder or 'none (Weaviate vectorizes)'}\n"
        f"seconds: {summary.seconds:.2f}\n"
    )
    timer = metrics.timer_stats("indexing_weaviate_batch_insert")
    if timer.count:
        stored = int(metrics.get("weaviate.batch.successful"))
        rate = stored / timer.total_s if timer.total_s else 0.0
        out.write(
            f"weaviate: {stored} objects stored in {timer.count} batches ({timer.total_s:.2f}s, {rate:,.0f} objects/s), "
            f"batch size {int(metrics.get('weaviate.batch.size'))}, {int(metrics.get('weaviate.batch.retries'))} retries, "
            f"{int(metrics.get('weaviate.batch.total_failures'))} batch fallbacks\n"
        )
    if summary.error:
        out.write(f"stopped: {summary.error}\n")


def _settings_for(path: Path, url: str | None) -> Settings:
    loaded = load_settings(path)
    for problem in loaded.problems:
        sys.stderr.write(f"warning: {problem} (using the default)\n")
    settings = loaded.settings
    if url:
        settings = dataclasses.replace(settings, weaviate=dataclasses.replace(settings.weaviate, url=url))
    return settings


class SetupBar:
    """Weaviate Embedded's download and start on the terminal (a line per 10% elsewhere)."""

    def __init__(self, stream: TextIO) -> None:
        self._bar = _Bar(stream)

    def __call__(self, step: SetupStep) -> None:
        if step.percentage is None or step.done:
            self._bar.stream.write(f"\r{step.message}\x1b[K\n" if self._bar.tty else f"{step.message}\n")
        else:
            self._bar.draw(step.message, step.percentage)
        self._bar.stream.flush()


def _tell(notice: Notice) -> None:
    sys.stderr.write(f"{notice.level}: {notice.message}\n")


async def _embedded_instead(reason: str) -> str:
    """The CLI needs no answer: Weaviate Embedded whenever it can be had."""
    sys.stderr.write(f"{reason} Using Weaviate Embedded instead.\n")
    return Answer.START


class _NotConnected(Exception):
    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


@asynccontextmanager
async def _connected(path: Path, settings: Settings, on_event: EventSink = lambda event: None) -> AsyncIterator[Controller]:
    """A controller connected to Weaviate (Embedded when nothing answers and settings allow it).

    Raises `_NotConnected` (after the reason was printed) when Weaviate cannot be used.
    """
    controller = Controller([path], settings, on_event, _tell, ask_embedded=_embedded_instead, on_setup=SetupBar(sys.stderr))
    try:
        if not await controller.connect(retry=False):
            raise _NotConnected(EXIT_USAGE if controller.state == State.SETTINGS_ERROR else EXIT_UNAVAILABLE)
        yield controller
    finally:
        await controller.close()


async def _index(path: Path, url: str | None, force: bool) -> int:
    settings = _settings_for(path, url)
    try:
        async with _connected(path, settings, ProgressBar(sys.stderr)) as controller:
            [summary] = await controller.index_all(force=force)
    except _NotConnected as failed:
        return failed.exit_code
    _print_summary(summary, controller.metrics, controller.embedder_identity, sys.stdout)
    if summary.error:
        return EXIT_UNAVAILABLE
    return EXIT_FILES_FAILED if summary.files_failed else EXIT_OK


async def _search(path: Path, query: str, limit: int, url: str | None) -> int:
    settings = _settings_for(path, url)
    try:
        async with _connected(path, settings) as controller:
            results = await controller.search(query, limit)
    except _NotConnected as failed:
        return failed.exit_code
    except StoreError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_UNAVAILABLE
    for result in results:
        print(f"{result.score:.3f}  {result.path.relative_to(path.resolve())}:{result.start_line}-{result.end_line}  {result.name}")
    return EXIT_OK


async def _workspaces(path: Path, url: str | None) -> int:
    settings = _settings_for(path, url)
    try:
        async with _connected(path, settings) as controller:
            summaries = await controller.workspaces()
    except _NotConnected as failed:
        return failed.exit_code
    except StoreError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_UNAVAILABLE
    print(f"{'workspace':<40} {'root':<24} {'files':>7} {'chunks':>8}  last indexed")
    for summary in summaries:
        print(
            f"{summary.workspace:<40} {root_name(summary.workspace):<24} {summary.files:>7} {summary.chunks:>8}  "
            f"{summary.last_indexed or '-'}"
        )
    if not summaries:
        print(f"(class {settings.weaviate.class_name} holds no chunks)")
    return EXIT_OK


async def _forget(path: Path, url: str | None, workspace: str, confirmed: bool) -> int:
    settings = _settings_for(path, url)
    try:
        async with _connected(path, settings) as controller:
            found = next((s for s in await controller.workspaces() if s.workspace == workspace), None)
            if found is None:
                sys.stderr.write(f"error: class {settings.weaviate.class_name} holds no workspace {workspace!r} "
                                 "(see `acolyte-lsp workspaces`)\n")
                return EXIT_USAGE
            if not confirmed:
                print(f"would remove {found.chunks} chunks of {found.files} files of workspace {workspace}; "
                      "run again with --yes to remove them")
                return EXIT_USAGE
            removed = await controller.forget(workspace)
    except _NotConnected as failed:
        return failed.exit_code
    except StoreError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_UNAVAILABLE
    print(f"removed {removed} chunks of workspace {workspace}")
    return EXIT_OK


def _embedded_command(path: Path, action: str) -> int:
    """`acolyte-lsp embedded fetch|status|stop` for the Weaviate Embedded the folder's settings describe."""
    embedded = embedded_for(_settings_for(path, None).weaviate)
    if action == "fetch":
        bar = SetupBar(sys.stderr)

        def downloaded(done: int, total: int | None) -> None:
            if total:
                percentage, size = progress_text(done, total)
                bar(SetupStep(f"Downloading Weaviate Embedded: {size}", percentage))

        try:
            binary = embedded.fetch(downloaded)
        except StoreError as err:
            sys.stderr.write(f"error: {err}\n")
            return EXIT_UNAVAILABLE
        print(f"Weaviate Embedded {embedded.options.version}: {binary}")
        return EXIT_OK
    if action == "stop":
        stopped = embedded.stop()
        print(f"stopped Weaviate Embedded on port {embedded.options.port}" if stopped else f"no Weaviate Embedded runs on port {embedded.options.port}")
        return EXIT_OK
    running = embedded.answering()
    print(f"Weaviate Embedded {embedded.options.version} on {embedded.url}: {'running' if running else 'not running'}")
    print(f"binary: {embedded.binary} ({'cached' if embedded.is_cached() else 'not downloaded yet'})")
    print(f"data: {embedded.options.data_dir}")
    print(f"windows using it: {len(embedded.users())}")
    return EXIT_OK


def _serve() -> int:
    from .server.app import create_server

    # stdout carries the protocol: anything else printed there (a library's
    # print) would corrupt it, so Python-level stdout goes to stderr.
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    create_server().start_io(sys.stdin.buffer, protocol_out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acolyte-lsp",
        description="Keep a Weaviate index of a workspace fresh. With no command, run the language server on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"acolyte-lsp {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")
    # Editors' LSP clients (vscode-languageclient among them) add --stdio; stdio is what we speak anyway.
    parser.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the language server on stdio (the default)")
    index = sub.add_parser("index", help="index a folder into Weaviate and print a summary")
    index.add_argument("path", type=Path)
    index.add_argument("--force", action="store_true", help="re-send files that did not change")
    index.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    search = sub.add_parser("search", help="semantic search over an indexed folder")
    search.add_argument("query")
    search.add_argument("--path", type=Path, default=Path("."), help="the indexed folder (default: .)")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    workspaces = sub.add_parser("workspaces", help="list the workspaces the Weaviate class holds")
    workspaces.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings name Weaviate (default: .)")
    workspaces.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    forget = sub.add_parser("forget", help="remove one workspace's chunks from Weaviate")
    forget.add_argument("workspace", help="a workspace id, as `acolyte-lsp workspaces` lists it")
    forget.add_argument("--yes", action="store_true", help="really remove them (without it, only say what would go)")
    forget.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings name Weaviate (default: .)")
    forget.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    embedded = sub.add_parser("embedded", help="Weaviate Embedded: fetch it ahead of time, see it, stop it")
    embedded.add_argument("action", choices=("fetch", "status", "stop"))
    embedded.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings describe it (default: .)")
    sub.add_parser("schema", help="print the JSON Schema of .acolyte")
    settings = sub.add_parser("settings", help="print the effective settings for a folder (secrets masked)")
    settings.add_argument("path", type=Path, nargs="?", default=Path("."))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking()
    if args.command in (None, "serve"):
        return _serve()
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2))
        return EXIT_OK
    if args.command == "settings":
        print(json.dumps(redacted(_settings_for(args.path, None)), indent=2))
        return EXIT_OK
    if not args.path.is_dir():
        sys.stderr.write(f"error: {args.path} is not a folder\n")
        return EXIT_USAGE
    if args.command == "embedded":
        return _embedded_command(args.path, args.action)
    if args.command == "index":
        return asyncio.run(_index(args.path, args.url, args.force))
    if args.command == "workspaces":
        return asyncio.run(_workspaces(args.path, args.url))
    if args.command == "forget":
        return asyncio.run(_forget(args.path, args.url, args.workspace, args.yes))
    return asyncio.run(_search(args.path, args.query, args.limit, args.url))


if __name__ == "__main__":
    sys.exit(main())
