"""GraphQL query text for Weaviate, built in one place so that no value can bend a query.

The v3 client escapes only `"` in string values (and turns newlines into spaces),
so a backslash, a control character or a line separator in a path, a search or a
workspace id either broke the query or changed what it meant. Every string that
reaches GraphQL goes through `string()`; class and property names, which GraphQL
cannot quote, must pass `name()`; numbers and booleans are rendered from their
Python types only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
# A property in a hybrid search's list may carry a BM25F boost (`chunk_name^2`).
_BOOSTED_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*(\^\d+(\.\d+)?)?")

# GraphQL strings may not hold `"`, `\`, line terminators or control characters raw.
# Weaviate's lexer (graphql-go) decodes `\uXXXX` as one code point, so characters
# outside the BMP are sent as they are (UTF-8), never as surrogate pairs; C1
# controls, line/paragraph separators, the BOM and lone surrogates are escaped so
# no tool on the way (a log, a terminal) sees them raw either.
_ESCAPES: dict[int, str] = {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}
for _code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF]:
    _ESCAPES.setdefault(_code, f"\\u{_code:04x}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class QueryBuildError(ValueError):
    """A value that cannot be put into a query (a name that is not a GraphQL name, a wrong type)."""


def string(value: str) -> str:
    """`value` as a quoted GraphQL string literal that Weaviate reads back as exactly `value`."""
    if not isinstance(value, str):
        raise QueryBuildError(f"expected a string, got {type(value).__name__}")
    escaped = value.translate(_ESCAPES)
    escaped = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def name(value: str) -> str:
    """A class or property name, checked: GraphQL names cannot be quoted, so they must be plain."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise QueryBuildError(f"not a GraphQL name: {value!r:.80}")
    return value


def integer(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryBuildError(f"expected an integer, got {type(value).__name__}")
    return str(value)


def number(value: float) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise QueryBuildError(f"expected a finite number, got {value!r:.40}")
    return repr(float(value))


def vector(values: Sequence[float]) -> str:
    return "[" + ", ".join(number(float(v)) for v in values) + "]"


def _strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(string(v) for v in values) + "]"


_VALUE_RENDERERS: dict[str, Callable[[Any], str]] = {"valueText": string, "valueInt": integer, "valueNumber": number}
_OPERATORS = frozenset({"Equal", "NotEqual", "Like", "LessThan", "LessThanEqual", "GreaterThan", "GreaterThanEqual"})


def where(filter_: Mapping[str, Any]) -> str:
    """A `where` filter in Weaviate's v3 shape (`{"path", "operator", "valueText"}` or `And`/`Or` operands)."""
    operator = filter_.get("operator")
    if operator in ("And", "Or"):
        operands = filter_.get("operands") or []
        if not operands:
            raise QueryBuildError(f"{operator} needs operands")
        return f"{{operator: {operator} operands: [{', '.join(where(o) for o in operands)}]}}"
    if operator not in _OPERATORS:
        raise QueryBuildError(f"unknown filter operator {operator!r:.40}")
    path = filter_.get("path") or []
    kinds = [k for k in _VALUE_RENDERERS if k in filter_]
    if len(kinds) != 1 or not path:
        raise QueryBuildError("a filter needs a path and exactly one value")
    rendered = _VALUE_RENDERERS[kinds[0]](filter_[kinds[0]])
    paths = ", ".join(string(name(p)) for p in path)
    return f"{{path: [{paths}] operator: {operator} {kinds[0]}: {rendered}}}"


@dataclass(frozen=True)
class Hybrid:
    """Weaviate's hybrid search: BM25F over `properties` fused with vector similarity."""

    query: str
    alpha: float
    properties: Sequence[str]
    vector: Sequence[float] | None = None

    def render(self) -> str:
        for prop in self.properties:
            if not _BOOSTED_NAME.fullmatch(prop):
                raise QueryBuildError(f"not a property name: {prop!r:.80}")
        parts = [f"query: {string(self.query)}", f"alpha: {number(self.alpha)}"]
        if self.vector is not None:
            parts.append(f"vector: {vector(self.vector)}")
        parts.append(f"properties: {_strings(self.properties)}")
        return "hybrid: {" + ", ".join(parts) + "}"


def _filter_and_limit(where_filter: Mapping[str, Any] | None, limit: int | None) -> list[str]:
    args: list[str] = []
    if where_filter is not None:
        args.append(f"where: {where(where_filter)}")
    if limit is not None:
        args.append(f"limit: {integer(limit)}")
    return args


def get(
    class_name: str,
    properties: Sequence[str],
    *,
    where_filter: Mapping[str, Any] | None = None,
    limit: int | None = None,
    after: str | None = None,
    hybrid: Hybrid | None = None,
    near_vector: Sequence[float] | None = None,
    near_text: str | None = None,
    additional: Sequence[str] = (),
) -> str:
    """A `Get` query for one class."""
    args = _filter_and_limit(where_filter, limit)
    if after is not None:
        args.append(f"after: {string(after)}")
    if hybrid is not None:
        args.append(hybrid.render())
    if near_vector is not None:
        args.append(f"nearVector: {{vector: {vector(near_vector)}}}")
    if near_text is not None:
        args.append(f"nearText: {{concepts: [{string(near_text)}]}}")
    fields = " ".join(name(p) for p in properties)
    if additional:
        fields += " _additional { " + " ".join(name(a) for a in additional) + " }"
    arguments = f"({' '.join(args)})" if args else ""
    return f"{{Get {{{name(class_name)}{arguments} {{{fields}}}}}}}"


def aggregate(
    class_name: str,
    fields: str,
    *,
    where_filter: Mapping[str, Any] | None = None,
    group_by: str | None = None,
    limit: int | None = None,
) -> str:
    """An `Aggregate` query for one class; `fields` is our own constant selection text, never input."""
    args = _filter_and_limit(where_filter, limit)
    if group_by is not None:
        args.append(f"groupBy: [{string(name(group_by))}]")
    arguments = f"({' '.join(args)})" if args else ""
    return f"{{Aggregate {{{name(class_name)}{arguments} {{{fields}}}}}}}"
