"""Search results as LSP: the one place a `SearchResult` becomes a `Location`, a symbol or a command reply."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from ..searching import SearchResult
from ..display import printable

_SYMBOL_KINDS = {
    "FUNCTION": types.SymbolKind.Function,
    "METHOD": types.SymbolKind.Method,
    "CLASS": types.SymbolKind.Class,
    "IMPL": types.SymbolKind.Class,
    "STRUCT": types.SymbolKind.Struct,
    "ENUM": types.SymbolKind.Enum,
    "INTERFACE": types.SymbolKind.Interface,
    "TRAIT": types.SymbolKind.Interface,
    "TYPE": types.SymbolKind.TypeParameter,
    "TEMPLATE": types.SymbolKind.Function,
    "MACRO": types.SymbolKind.Function,
    "MODULE": types.SymbolKind.Module,
    "IMPORTS": types.SymbolKind.Namespace,
    "SECTION": types.SymbolKind.String,
    "README": types.SymbolKind.String,
}


def location_of(result: SearchResult) -> types.Location:
    """The chunk's whole lines: from its first line's start to the start of the line after its last."""
    return types.Location(
        uri=from_fs_path(str(result.path)) or result.path.as_uri(),
        range=types.Range(
            start=types.Position(line=result.start_line - 1, character=0),
            end=types.Position(line=result.end_line, character=0),
        ),
    )


def symbol_of(result: SearchResult) -> types.SymbolInformation:
    """A `workspace/symbol` entry for a hit (its name made printable; its kind mapped from the chunk's)."""
    return types.SymbolInformation(
        name=printable(result.name),
        kind=_SYMBOL_KINDS.get(result.kind, types.SymbolKind.File),
        location=location_of(result),
        container_name=result.path.name,
    )


def search_reply_of(result: SearchResult) -> dict[str, Any]:
    """One entry of the `acolyte.search` reply: the location as LSP spells it, with the score, a preview, and
    whether the file on disk is still what was indexed (`fresh`)."""
    location = location_of(result)
    start, end = location.range.start, location.range.end
    return {
        "uri": location.uri,
        "range": {
            "start": {"line": start.line, "character": start.character},
            "end": {"line": end.line, "character": end.character},
        },
        "score": result.score,
        "name": printable(result.name),
        "kind": result.kind,
        "language": result.language,
        "preview": result.preview,
        "fresh": result.fresh,
    }
