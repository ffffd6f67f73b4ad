"""The slice of Weaviate's GraphQL API that acolyte-lsp uses: `Get` and `Aggregate`.

A small parser for the query text the v3 client builds, and an executor over
`WeaviateState`. Unsupported syntax answers with a GraphQL error, as Weaviate
would, instead of a wrong result.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import re
from dataclasses import dataclass, field
from typing import Any

from . import keyword
from .state import QUERY_MAXIMUM_RESULTS, WeaviateError, WeaviateState, capitalize_class, cosine_distance, module_vector

DEFAULT_LIMIT = 10  # Weaviate's QUERY_DEFAULTS_LIMIT

_TOKEN = re.compile(
    r'\s*(?:(?P<string>")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>[{}()\[\]:,$!=]))"
)


class GraphQLError(Exception):
    """A query Weaviate would refuse; becomes an entry of the response's `errors`."""


_SIMPLE_ESCAPES = {'"': '"', "/": "/", "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _syntax_error(text: str, pos: int, description: str) -> GraphQLError:
    """Weaviate's (graphql-go's) syntax error: `Syntax Error GraphQL request (line:column) …` and the source line."""
    before = text[:pos]
    line = before.count("\n") + 1
    column = pos - (before.rfind("\n") + 1) + 1
    source_line = text.split("\n")[line - 1]
    return GraphQLError(f"Syntax Error GraphQL request ({line}:{column}) {description}\n\n{line}: {source_line}\n")


def _char_code(char: str) -> str:
    code = ord(char)
    return f'"{char}"' if 0x20 <= code < 0x7F else f'"\\\\u{code:04X}"'  # doubled, as Weaviate 1.25 prints it


def _read_string(text: str, pos: int) -> tuple[str, int]:
    """A string literal's value from just after its opening quote, as graphql-go's lexer reads it.

    Raw line terminators end it unterminated; other control characters but tab are
    refused; the escapes are GraphQL's (`\\uXXXX` is one code point, no surrogate pairs).
    """
    out: list[str] = []
    while True:
        if pos >= len(text) or text[pos] in "\n\r":
            raise _syntax_error(text, pos, "Unterminated string.")
        char = text[pos]
        if char == '"':
            return "".join(out), pos + 1
        if ord(char) < 0x20 and char != "\t":
            raise _syntax_error(text, pos, f"Invalid character within String: {_char_code(char)}.")
        if char != "\\":
            out.append(char)
            pos += 1
            continue
        escape = text[pos + 1 : pos + 2]
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
            pos += 2
        elif escape == "u":
            digits = text[pos + 2 : pos + 6]
            if len(digits) < 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise _syntax_error(text, pos, f"Invalid character escape sequence: \\u{digits}")
            out.append(chr(int(digits, 16)))
            pos += 6
        else:
            raise _syntax_error(text, pos, f"Invalid character escape sequence: \\\\{escape}.")  # graphql-go doubles it


@dataclass
class Field:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    selections: list["Field"] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise GraphQLError(f"Syntax Error: Unexpected character {text[pos]!r}")
            pos = match.end()
            kind = match.lastgroup
            raw = match.group(kind)  # type: ignore[arg-type]
            if kind == "string":
                value, pos = _read_string(text, pos)
                self.tokens.append(("value", value))
            elif kind == "number":
                number = float(raw)
                self.tokens.append(("value", int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number))
            elif kind == "name":
                self.tokens.append(("name", raw))
            else:
                self.tokens.append(("punct", raw))
        self.pos = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise GraphQLError("Syntax Error: Unexpected <EOF>")
        if expected is not None and token[1] != expected:
            raise GraphQLError(f"Syntax Error: Expected {expected!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def document(self) -> list[Field]:
        token = self.peek()
        if token == ("name", "query"):
            self.take()
            if self.peek() and self.peek()[0] == "name":  # type: ignore[index]
                self.take()
        fields = self.selection_set()
        if self.peek() is not None:
            raise GraphQLError(f"Syntax Error: Unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return fields

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while self.peek() != ("punct", "}"):
            kind, name = self.take()
            if kind != "name":
                raise GraphQLError(f"Syntax Error: Expected Name, found {name!r}")
            f = Field(name)
            if self.peek() == ("punct", "("):
                self.take("(")
                while self.peek() != ("punct", ")"):
                    arg_kind, arg = self.take()
                    if arg_kind != "name":
                        raise GraphQLError(f"Syntax Error: Expected Name, found {arg!r}")
                    self.take(":")
                    f.args[arg] = self.value()
                    if self.peek() == ("punct", ","):
                        self.take()
                self.take(")")
            if self.peek() == ("punct", "{"):
                f.selections = self.selection_set()
            fields.append(f)
            if self.peek() == ("punct", ","):
                self.take()
        self.take("}")
        return fields

    def value(self) -> Any:
        kind, token = self.take()
        if kind == "value":
            return token
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(token, token)
        if token == "[":
            items = []
            while self.peek() != ("punct", "]"):
                items.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take()
            self.take("]")
            return items
        if token == "{":
            obj: dict[str, Any] = {}
            while self.peek() != ("punct", "}"):
                key_kind, key = self.take()
                if key_kind != "name":
                    raise GraphQLError(f"Syntax Error: Expected Name, found {key!r}")
                self.take(":")
                obj[key] = self.value()
                if self.peek() == ("punct", ","):
                    self.take()
            self.take("}")
            return obj
        raise GraphQLError(f"Syntax Error: Unexpected {token!r}")


def parse(query: str) -> list[Field]:
    """Parse a GraphQL query document into its top-level fields."""
    return _Parser(query).document()


def execute(state: WeaviateState, query: str) -> dict[str, Any]:
    """Run a query; the result has Weaviate's `{"data": ...}` or `{"errors": [...]}` shape."""
    try:
        top = parse(query)
        data: dict[str, Any] = {}
        for root in top:
            if root.name == "Get":
                data["Get"] = {f.name: _get(state, f) for f in root.selections}
            elif root.name == "Aggregate":
                data["Aggregate"] = {f.name: _aggregate(state, f) for f in root.selections}
            else:
                raise GraphQLError(f'Cannot query field "{root.name}" on type "WeaviateObj".')
        return {"data": data}
    except (GraphQLError, WeaviateError) as err:
        message = err.message if isinstance(err, WeaviateError) else str(err)
        # A query that fails validation carries no `data` (GraphQLResponse in the spec).
        return {"errors": [{"message": message, "locations": [], "path": []}]}


def _class_or_error(state: WeaviateState, name: str, type_name: str) -> str:
    class_name = capitalize_class(name)
    with state.lock:
        if class_name not in state.classes:
            raise GraphQLError(f'Cannot query field "{name}" on type "{type_name}".')
    return class_name


def _get(state: WeaviateState, f: Field) -> list[dict[str, Any]]:
    class_name = _class_or_error(state, f.name, "GetObjectsObj")
    known = {p["name"] for p in state.get_class(class_name)["properties"]} | {"_additional"}
    for selection in f.selections:  # validated before anything runs, as GraphQL does
        if selection.name not in known:
            raise GraphQLError(f'Cannot query field "{selection.name}" on type "{class_name}".')
    where = f.args.get("where")
    near = f.args.get("nearVector")
    near_text = f.args.get("nearText")
    if near_text is not None:
        vectorizer = state.get_class(class_name)["vectorizer"]
        if vectorizer not in state.modules:
            raise GraphQLError(f'Unknown argument "nearText" on field "{f.name}" of type "GetObjectsObj".')
        near = {**near_text, "vector": module_vector(" ".join(near_text.get("concepts") or []))}
    limit = int(f.args.get("limit", DEFAULT_LIMIT))
    offset = int(f.args.get("offset", 0))
    after = f.args.get("after")
    if limit > QUERY_MAXIMUM_RESULTS:
        raise GraphQLError(f"query maximum results exceeded: limit {limit} > {QUERY_MAXIMUM_RESULTS}")
    if after is not None:
        if where is not None or near is not None or offset:
            # Weaviate's cursor cannot be combined with a filter, a search or an offset.
            raise GraphQLError("cursor api: invalid 'after' parameter: where cannot be set with after and limit parameters")
        return [_select(o, f.selections, None) for o in state.page_after(class_name, str(after), limit)]
    searches = [name for name in ("nearVector", "nearText", "bm25", "hybrid") if f.args.get(name) is not None]
    if len(searches) > 1:
        raise GraphQLError(f"{' and '.join(searches)} cannot be combined in one search")
    candidates = state.select(class_name, where)
    distances: dict[str, float] = {}
    scores: dict[str, tuple[float, str | None]] = {}
    if f.args.get("bm25") is not None or f.args.get("hybrid") is not None:
        found = _keyword_or_hybrid(state, class_name, f, candidates, where is not None, offset + limit)
        scores = {obj.id: (score, explain) for obj, score, explain in found}
        candidates = [obj for obj, _, _ in found]
    elif near is not None:
        candidates = _nearest(class_name, candidates, near, distances)
    else:
        candidates.sort(key=lambda o: o.id)
    page = candidates[offset : offset + limit]
    return [_select(o, f.selections, distances.get(o.id), scores.get(o.id)) for o in page]


def _nearest(class_name: str, candidates: list[Any], near: dict[str, Any], distances: dict[str, float]) -> list[Any]:
    """The candidates with a vector, nearest first (their distances written to `distances`)."""
    vector = [float(v) for v in near.get("vector") or []]
    scored = []
    for obj in candidates:
        if obj.vector is None:
            continue
        if len(obj.vector) != len(vector):
            raise GraphQLError(
                f"explorer: get class: vector search: object vector search at index {class_name.lower()}: "
                f"shard {class_name.lower()}_0: vector search: knn search: distance between entrypoint "
                f"and query node: vector lengths don't match: {len(obj.vector)} vs {len(vector)}"
            )
        distance = cosine_distance(obj.vector, vector)
        if "distance" in near and distance > float(near["distance"]):
            continue
        if "certainty" in near and 1 - distance / 2 < float(near["certainty"]):
            continue
        distances[obj.id] = distance
        scored.append(obj)
    return sorted(scored, key=lambda o: (distances[o.id], o.id))


def _keyword_or_hybrid(
    state: WeaviateState, class_name: str, f: Field, candidates: list[Any], filtered: bool, wanted: int
) -> list[tuple[Any, float, str | None]]:
    """bm25 or hybrid results (object, score, explainScore), best first."""
    class_body = state.get_class(class_name)
    bm25_config = (class_body.get("invertedIndexConfig") or {}).get("bm25") or {}
    k1, b = float(bm25_config.get("k1", keyword.DEFAULT_K1)), float(bm25_config.get("b", keyword.DEFAULT_B))
    everything = state.select(class_name, None)  # N and each term's n count every object, filter or not
    allowed = {o.id for o in candidates} if filtered else None
    args = f.args.get("bm25") or f.args.get("hybrid") or {}
    query = str(args.get("query", ""))
    try:
        properties = keyword.searched_properties(class_body, args.get("properties"))
    except keyword.KeywordSearchError as err:
        raise GraphQLError(str(err)) from None
    if f.args.get("bm25") is not None:
        ranked = keyword.bm25(
            everything, allowed, query, properties, k1, b, keyword.class_stopwords(class_body), state.lengths_count_repeats
        )
        return [(obj, score, None) for obj, score in ranked]
    alpha = float(args.get("alpha", keyword.DEFAULT_ALPHA))
    fusion = str(args.get("fusionType", "relativeScoreFusion"))
    if fusion not in ("rankedFusion", "relativeScoreFusion"):
        raise GraphQLError(f'Argument "hybrid" has invalid value {{fusionType: {fusion}}}.')
    depth = max(keyword.HYBRID_SUBSEARCH_LIMIT, wanted)
    sparse = None
    if alpha < 1 and query:
        sparse = keyword.bm25(
            everything, allowed, query, properties, k1, b, keyword.class_stopwords(class_body), state.lengths_count_repeats
        )[:depth]
    dense = None
    if alpha > 0:
        vector = args.get("vector")
        if not vector:
            if class_body["vectorizer"] not in state.modules:
                raise GraphQLError("explorer: get class: vector search: no vector or modules provided for hybrid search")
            vector = module_vector(query)
        distances: dict[str, float] = {}
        nearest = _nearest(class_name, list(candidates), {"vector": vector}, distances)[:depth]
        dense = [(obj, 1 - distances[obj.id]) for obj in nearest]
    return keyword.fuse(sparse, dense, alpha, fusion)


def _select(
    obj: Any, selections: list[Field], distance: float | None, score: tuple[float, str | None] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sel in selections:
        if sel.name == "_additional":
            extra: dict[str, Any] = {}
            for a in sel.selections:
                if a.name == "id":
                    extra["id"] = obj.id
                elif a.name == "distance":
                    extra["distance"] = distance
                elif a.name == "certainty":
                    extra["certainty"] = None if distance is None else 1 - distance / 2
                elif a.name == "score":
                    extra["score"] = None if score is None else keyword.score_text(score[0])
                elif a.name == "explainScore":
                    extra["explainScore"] = None if score is None else (score[1] or "")
                elif a.name == "vector":
                    extra["vector"] = obj.vector
                elif a.name == "creationTimeUnix":
                    extra["creationTimeUnix"] = str(obj.created)
                elif a.name == "lastUpdateTimeUnix":
                    extra["lastUpdateTimeUnix"] = str(obj.updated)
                else:
                    raise GraphQLError(f'Cannot query field "{a.name}" on type "{obj.class_name}AdditionalProperties".')
            out["_additional"] = extra
        else:
            out[sel.name] = obj.properties.get(sel.name)
    return out


DEFAULT_TOP_OCCURRENCES = 5  # Weaviate's default when topOccurrences has no limit


def _numeric_aggregate(values: list[Any], sel: Field, kind: str) -> dict[str, Any]:
    """Weaviate's AggregateInt/AggregateNumber fields over the objects that have the property."""
    present = sorted(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
    total = sum(present)
    out: dict[str, Any] = {}
    for field_ in sel.selections:
        name = field_.name
        if name == "count":
            out[name] = len(present)
        elif name == "sum":
            out[name] = total if present else None
        elif name == "mean":
            out[name] = total / len(present) if present else None
        elif name == "minimum":
            out[name] = present[0] if present else None
        elif name == "maximum":
            out[name] = present[-1] if present else None
        elif name == "median":
            mid = len(present) // 2
            out[name] = (present[mid] if len(present) % 2 else (present[mid - 1] + present[mid]) / 2) if present else None
        elif name == "mode":
            out[name] = Counter(present).most_common(1)[0][0] if present else None
        elif name == "type":
            out[name] = kind
        else:
            type_name = "AggregateInt" if kind == "int" else "AggregateNumber"
            raise GraphQLError(f'Cannot query field "{name}" on type "{type_name}".')
    return out


def _aggregate(state: WeaviateState, f: Field) -> list[dict[str, Any]]:
    class_name = _class_or_error(state, f.name, "AggregateObjectsObj")
    where = f.args.get("where")
    matched = state.select(class_name, where)
    group_by = f.args.get("groupBy")
    kinds = {p["name"]: p["dataType"][0] for p in state.get_class(class_name)["properties"]}
    if group_by is None:
        return [_aggregate_fields(matched, f.selections, None, kinds)]
    path = group_by if isinstance(group_by, list) else [group_by]
    prop = path[0]
    groups: dict[Any, list[Any]] = defaultdict(list)
    for obj in matched:
        groups[obj.properties.get(prop)].append(obj)
    limit = int(f.args.get("limit", len(groups) or 1))
    # Weaviate's grouper returns the largest groups first.
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:limit]
    return [_aggregate_fields(objs, f.selections, (prop, value), kinds) for value, objs in ordered]


def _aggregate_fields(
    objs: list[Any], selections: list[Field], group: tuple[str, Any] | None, kinds: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sel in selections:
        if sel.name == "meta":
            out["meta"] = {"count": len(objs)}
        elif sel.name == "groupedBy":
            if group is None:
                raise GraphQLError('Cannot query field "groupedBy" without groupBy')
            out["groupedBy"] = {"path": [group[0]], "value": group[1]}
        elif kinds.get(sel.name) in ("int", "number"):
            out[sel.name] = _numeric_aggregate([o.properties.get(sel.name) for o in objs], sel, kinds[sel.name])
        else:
            name = sel.name
            counts: dict[Any, int] = {}
            for obj in objs:
                value = obj.properties.get(name)
                counts[value] = counts.get(value, 0) + 1
            top = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))) if len(counts) > 1 else list(counts.items())
            wanted = next((t for t in sel.selections if t.name == "topOccurrences"), None)
            top = top[: int(wanted.args.get("limit", DEFAULT_TOP_OCCURRENCES))] if wanted is not None else top
            out[sel.name] = {
                "count": len(objs),
                "topOccurrences": [{"value": v, "occurs": c} for v, c in top],
                "type": "text",
            }
    return out
