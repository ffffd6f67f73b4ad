"""The LSP layer's pieces alone: handlers as plain functions, their table, the one search-result converter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from acolyte_lsp.changes import ChangeKind
from acolyte_lsp.searching import SearchResult
from acolyte_lsp.server import app
from acolyte_lsp.server.locations import location_of, search_reply_of, symbol_of

RESULT = SearchResult(
    path=Path("/work/src/a.py"), start_line=3, end_line=7, name="parse\x1b[2J", kind="FUNCTION",
    language="python", score=0.5, preview="def parse(): ...", text="def parse(): ...", fresh=True,
)


class RecordingSession:
    def __init__(self) -> None:
        self.changes: list[tuple[str, ChangeKind]] = []

    def file_changed(self, uri: str, kind: ChangeKind) -> None:
        self.changes.append((uri, kind))


def test_every_feature_and_command_of_the_table_is_registered_on_each_fresh_server() -> None:
    first, second = app.create_server(), app.create_server()
    assert first is not second
    for server in (first, second):
        features = server.protocol.fm.features
        assert {method for method, _, _ in app.FEATURES} <= set(features) | set(server.protocol.fm.builtin_features)
        assert {name for name, _ in app.COMMANDS} == set(server.protocol.fm.commands)


def test_a_rename_is_the_old_path_deleted_and_the_new_one_changed() -> None:
    session = RecordingSession()
    params = types.RenameFilesParams(files=[types.FileRename(old_uri="file:///w/old.py", new_uri="file:///w/new.py")])
    app.on_rename_files(session, params)  # type: ignore[arg-type]
    assert session.changes == [("file:///w/old.py", ChangeKind.DELETED), ("file:///w/new.py", ChangeKind.CHANGED)]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (({"query": "  "},), "'query' must be a non-empty string"),
        (({"query": "x", "limit": 0},), "'limit' must be an integer from 1 to 100"),
        (({"query": "x", "limit": True},), "'limit' must be an integer from 1 to 100"),
        (({"query": "x", "language": 3},), "'language' must be a string"),
        (("x", "y"), "takes one optional object argument"),
    ],
)
def test_search_arguments_are_refused_with_what_is_wrong(args: tuple[Any, ...], complaint: str) -> None:
    with pytest.raises(JsonRpcInvalidParams, match=complaint):
        app._search_options(args)  # noqa: SLF001 - the validation on its own


def test_a_result_covers_its_whole_lines() -> None:
    location = location_of(RESULT)
    assert location.uri == "file:///work/src/a.py"
    assert (location.range.start.line, location.range.start.character) == (2, 0)
    assert (location.range.end.line, location.range.end.character) == (7, 0)


def test_the_search_reply_and_the_symbol_carry_the_same_location() -> None:
    reply, symbol = search_reply_of(RESULT), symbol_of(RESULT)
    assert reply["uri"] == symbol.location.uri
    assert reply["range"] == {"start": {"line": 2, "character": 0}, "end": {"line": 7, "character": 0}}
    assert symbol.kind == types.SymbolKind.Function and symbol.container_name == "a.py"
    assert "\x1b" not in reply["name"] and "\x1b" not in symbol.name
