"""Command line: `acolyte-lsp` (stdio language server), `acolyte-lsp mcp [PATH]` (stdio MCP server),
`acolyte-lsp index PATH`, `acolyte-lsp search QUERY`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from . import __version__
from .settings import CONFIG_FILE_NAME, Settings, WithheldSettings, json_schema, load_settings, redacted
from .controller import Controller, State
from .searching import InvalidQuery
from .notices import Notice, SetupStep
from .downloads import progress_text
from .embedded_choice import Answer
from .identity import root_name
from .indexer.events import EventSink, FileFailed, FileNotIndexed, IndexEvent, IndexFinished, IndexProgress, IndexStarted, IndexSummary
from .metrics import Metrics
from .display import brief, printable
from .secrecy import install_log_masking
from .store.embedded import embedded_for
from .store.errors import StoreError
from .trust import TrustAnswers
from .trust import ignored_warning as trust_ignored
from .trust import question as trust_question

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_UNAVAILABLE = 2
EXIT_NOT_INDEXED = 3
EXIT_USAGE = 64
EXIT_BROKEN_PIPE = 141  # what a shell reports for a program whose reader went away (128 + SIGPIPE)
MAX_SEARCH_LIMIT = 100


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
            self._stream.write(f"Indexing {printable(str(event.root.path))}\n")
        elif isinstance(event, IndexProgress):
            self._bar.draw(*event.describe())
        elif isinstance(event, FileFailed):
            for failure in event.failures:
                self._stream.write(
                    f"\n{printable(event.rel_path)}:{failure.start_line}-{failure.end_line}: "
                    f"[{printable(failure.error_type)}] {brief(failure.message)}\n"
                )
        elif isinstance(event, FileNotIndexed):
            if event.warn:  # routine skips (binary, oversized) are only counted in the summary
                self._stream.write(f"\nwarning: not indexed: {printable(event.rel_path)}: {brief(event.reason)}\n")
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


def _settings_for(path: Path, url: str | None, trust: bool = False, may_ask: bool = True) -> Settings:
    """The folder's settings; what its `.acolyte` may set only when trusted needs `--trust`, a yes on a terminal, or an earlier yes."""
    answers = TrustAnswers()
    flags = {"weaviate": {"url": url}} if url else None
    loaded = load_settings(path, flags, trust=lambda asked: trust or answers.trusted(asked), options_source="--url")
    for problem in loaded.problems:
        sys.stderr.write(f"warning: {printable(str(problem))} (using the default)\n")
    asked = loaded.withheld
    if asked is not None and answers.answer(asked) is None and may_ask and _can_ask():
        if _ask_trust(asked):
            answers.remember(asked, True)
            return load_settings(path, flags, trust=lambda _: True, options_source="--url").settings
        answers.remember(asked, False)
    if asked is not None:
        sys.stderr.write(f"warning: {trust_ignored(asked, 'Run with --trust to use them.')}\n")
    return loaded.settings


def _can_ask() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask_trust(asked: WithheldSettings) -> bool:
    """Ask on the terminal whether to trust what the folder's `.acolyte` asks for (remembered either way)."""
    sys.stderr.write(trust_question(asked) + "\nTrust this folder for these settings? [y/N] ")
    sys.stderr.flush()
    try:
        reply = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return reply.strip().lower() in ("y", "yes")


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
    sys.stderr.write(f"{notice.level}: {printable(notice.message)}\n")


async def _embedded_instead(reason: str) -> Answer:
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
        if not await controller.connection.connect(retry=False):
            raise _NotConnected(EXIT_USAGE if controller.state == State.SETTINGS_ERROR else EXIT_UNAVAILABLE)
        yield controller
    finally:
        await controller.close()


async def _index(path: Path, url: str | None, force: bool, trust: bool) -> int:
    settings = _settings_for(path, url, trust)
    try:
        async with _connected(path, settings, ProgressBar(sys.stderr)) as controller:
            [summary] = await controller.index_all(force=force)
    except _NotConnected as failed:
        return failed.exit_code
    _print_summary(summary, controller.metrics, controller.connection.embedder_identity, sys.stdout)
    if summary.error:
        return EXIT_UNAVAILABLE
    return EXIT_FILES_FAILED if summary.files_failed else EXIT_OK


async def _search(path: Path, query: str, limit: int, url: str | None, trust: bool) -> int:
    if not query.strip():
        sys.stderr.write("error: the search query is empty; say what you are looking for\n")
        return EXIT_USAGE
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        sys.stderr.write(f"error: --limit must be from 1 to {MAX_SEARCH_LIMIT}, got {limit}\n")
        return EXIT_USAGE
    path = path.resolve()
    settings_folder = _settings_folder(path)
    settings = _settings_for(settings_folder, url, trust)
    try:
        async with _connected(settings_folder, settings) as controller:
            found = await controller.indexed_root_of(path)
            if found is None:
                sys.stderr.write(
                    f"error: {printable(str(path))} is not indexed (class {settings.weaviate.class_name} holds no chunks "
                    f"of it or of a folder above it); index it first: acolyte-lsp index {printable(str(path))}\n"
                )
                return EXIT_NOT_INDEXED
            root, under = found
            controller.set_folders([root])
            results = await controller.search(query, limit, path_prefix=under)
    except _NotConnected as failed:
        return failed.exit_code
    except InvalidQuery as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_USAGE
    except StoreError as err:
        sys.stderr.write(f"error: {printable(str(err))}\n")
        return EXIT_UNAVAILABLE
    for result in results:
        shown = printable(str(result.path.relative_to(path))) if result.path.is_relative_to(path) else printable(str(result.path))
        stale = "" if result.fresh else "  (changed on disk since indexed)"
        print(f"{result.score:.3f}  {shown}:{result.start_line}-{result.end_line}  {printable(result.name)}{stale}")
    if not results:
        sys.stderr.write(f"no chunk of {printable(str(path))} matches\n")
    return EXIT_OK


def _settings_folder(path: Path) -> Path:
    """The folder whose `.acolyte` applies to `path`: the nearest one up that has one, else `path` itself."""
    for folder in [path, *path.parents]:
        if (folder / CONFIG_FILE_NAME).is_file():
            return folder
    return path


async def _workspaces(path: Path, url: str | None, trust: bool) -> int:
    settings = _settings_for(path, url, trust)
    try:
        async with _connected(path, settings) as controller:
            summaries = await controller.workspaces()
    except _NotConnected as failed:
        return failed.exit_code
    except StoreError as err:
        sys.stderr.write(f"error: {printable(str(err))}\n")
        return EXIT_UNAVAILABLE
    print(f"{'workspace':<40} {'root':<24} {'files':>7} {'chunks':>8}  last indexed")
    for summary in summaries:
        print(
            f"{printable(summary.workspace):<40} {printable(root_name(summary.workspace)):<24} {summary.files:>7} {summary.chunks:>8}  "
            f"{summary.last_indexed or '-'}"
        )
    if not summaries:
        print(f"(class {settings.weaviate.class_name} holds no chunks)")
    return EXIT_OK


async def _forget(path: Path, url: str | None, workspace: str, confirmed: bool, trust: bool) -> int:
    settings = _settings_for(path, url, trust)
    try:
        async with _connected(path, settings) as controller:
            found = next((s for s in await controller.workspaces() if s.workspace == workspace), None)
            if found is None:
                sys.stderr.write(f"error: class {settings.weaviate.class_name} holds no workspace {brief(repr(workspace))} "
                                 "(see `acolyte-lsp workspaces`)\n")
                return EXIT_USAGE
            if not confirmed:
                print(f"would remove {found.chunks} chunks of {found.files} files of workspace {printable(workspace)}; "
                      "run again with --yes to remove them")
                return EXIT_USAGE
            removed = await controller.forget(workspace)
    except _NotConnected as failed:
        return failed.exit_code
    except StoreError as err:
        sys.stderr.write(f"error: {printable(str(err))}\n")
        return EXIT_UNAVAILABLE
    print(f"removed {removed} chunks of workspace {printable(workspace)}")
    return EXIT_OK


def _embedded_command(path: Path, action: str, trust: bool) -> int:
    """`acolyte-lsp embedded fetch|status|stop` for the Weaviate Embedded the folder's settings describe."""
    embedded = embedded_for(_settings_for(path, None, trust).weaviate)
    if action == "fetch":
        bar = SetupBar(sys.stderr)

        def downloaded(done: int, total: int | None) -> None:
            if total:
                percentage, size = progress_text(done, total)
                bar(SetupStep(f"Downloading Weaviate Embedded: {size}", percentage))

        try:
            binary = embedded.program.fetch(downloaded, lambda message: bar(SetupStep(message)))
        except StoreError as err:
            sys.stderr.write(f"error: {printable(str(err))}\n")
            return EXIT_UNAVAILABLE
        print(f"Weaviate Embedded {embedded.options.version}: {binary}")
        return EXIT_OK
    if action == "stop":
        stopped = embedded.stop()
        print(f"stopped Weaviate Embedded on port {embedded.options.port}" if stopped else f"no Weaviate Embedded runs on port {embedded.options.port}")
        return EXIT_OK
    running = embedded.answering()
    print(f"Weaviate Embedded {embedded.options.version} on {embedded.url}: {'running' if running else 'not running'}")
    print(f"binary: {embedded.program.binary} ({'cached' if embedded.program.is_cached() else 'not downloaded yet'})")
    print(f"data: {embedded.options.data_dir}")
    print(f"windows using it: {len(embedded.users())}")
    return EXIT_OK


def _mcp(path: Path, url: str | None, trust: bool) -> int:
    from .agent.session import AgentSession
    from .agent.tools import serve_stdio

    # stdin and stdout carry the protocol: never ask on them.
    settings = _settings_for(path, url, trust, may_ask=False)
    asyncio.run(serve_stdio(AgentSession(path, settings)))
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
    # What a folder's .acolyte may set only when trusted (where code and keys go, what runs).
    trusting = argparse.ArgumentParser(add_help=False)
    trusting.add_argument(
        "--trust", action="store_true",
        help="use the settings of the folder's .acolyte that only a trusted folder may set (weaviate.url, "
        "embedded*, class_name, workspace_id, model paths) for this run",
    )
    sub.add_parser("serve", help="run the language server on stdio (the default)")
    index = sub.add_parser("index", parents=[trusting], help="index a folder into Weaviate and print a summary")
    index.add_argument("path", type=Path)
    index.add_argument("--force", action="store_true", help="re-send files that did not change")
    index.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    search = sub.add_parser("search", parents=[trusting], help="semantic search over an indexed folder")
    search.add_argument("query")
    search.add_argument("--path", type=Path, default=Path("."), help="the indexed folder, or a folder in it (default: .)")
    search.add_argument("--limit", type=int, default=10, help=f"results to print, 1 to {MAX_SEARCH_LIMIT} (default 10)")
    search.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    workspaces = sub.add_parser("workspaces", parents=[trusting], help="list the workspaces the Weaviate class holds")
    workspaces.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings name Weaviate (default: .)")
    workspaces.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    forget = sub.add_parser("forget", parents=[trusting], help="remove one workspace's chunks from Weaviate")
    forget.add_argument("workspace", help="a workspace id, as `acolyte-lsp workspaces` lists it")
    forget.add_argument("--yes", action="store_true", help="really remove them (without it, only say what would go)")
    forget.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings name Weaviate (default: .)")
    forget.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    embedded = sub.add_parser("embedded", parents=[trusting], help="Weaviate Embedded: fetch it ahead of time, see it, stop it")
    embedded.add_argument("action", choices=("fetch", "status", "stop"))
    embedded.add_argument("--path", type=Path, default=Path("."), help="a folder whose settings describe it (default: .)")
    mcp = sub.add_parser("mcp", parents=[trusting], help="serve the folder's index to AI agents over MCP (stdio), kept fresh")
    mcp.add_argument("path", type=Path, nargs="?", default=Path("."), help="the workspace folder (default: .)")
    mcp.add_argument("--url", help="Weaviate URL (overrides .acolyte and WEAVIATE_URL)")
    sub.add_parser("schema", help="print the JSON Schema of .acolyte")
    settings = sub.add_parser("settings", parents=[trusting], help="print the effective settings for a folder (secrets masked)")
    settings.add_argument("path", type=Path, nargs="?", default=Path("."))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking()
    if args.command in (None, "serve"):
        return _serve()
    try:
        return _command(args)
    except BrokenPipeError:
        # The reader went away (`search … | head -1`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _command(args: argparse.Namespace) -> int:
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2))
        return EXIT_OK
    if args.command == "settings":
        print(json.dumps(redacted(_settings_for(args.path, None, args.trust)), indent=2))
        return EXIT_OK
    if not args.path.is_dir():
        sys.stderr.write(f"error: {printable(str(args.path))} is not a folder\n")
        return EXIT_USAGE
    if args.command == "mcp":
        return _mcp(args.path, args.url, args.trust)
    if args.command == "embedded":
        return _embedded_command(args.path, args.action, args.trust)
    if args.command == "index":
        return asyncio.run(_index(args.path, args.url, args.force, args.trust))
    if args.command == "workspaces":
        return asyncio.run(_workspaces(args.path, args.url, args.trust))
    if args.command == "forget":
        return asyncio.run(_forget(args.path, args.url, args.workspace, args.yes, args.trust))
    return asyncio.run(_search(args.path, args.query, args.limit, args.url, args.trust))


if __name__ == "__main__":
    sys.exit(main())
