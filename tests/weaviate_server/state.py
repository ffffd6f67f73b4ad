"""In-memory Weaviate state: classes, objects, validation and where-filters.

Error texts are Weaviate's own (entities/schema/errors.go,
usecases/objects/validation/properties_validation.go, the vector index's
ValidateBeforeInsert), so clients see what a real server would say.
Auto-schema is off by default because acolyte-lsp creates its schema
explicitly; `auto_schema=True` models Weaviate's default instead.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import math
import re
import threading
import time
import uuid as uuid_lib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .keyword import class_stopwords

ERROR_NO_SUCH_CLASS = (
    "no such class with name '%s' found in the schema. Check your schema files for which classes are available"
)
ERROR_NO_SUCH_PROPERTY = (
    "no such prop with name '%s' found in class '%s' in the schema. "
    "Check your schema files for which properties in this class are available"
)
QUERY_MAXIMUM_RESULTS = 10000

_WORD = re.compile(r"[A-Za-z0-9]+")


# Go's unicode.IsSpace, which `field` tokenization trims (strings.TrimSpace): not Python's str.strip set.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def go_trim_space(text: str) -> str:
    """`text` trimmed as Go's strings.TrimSpace trims it."""
    return text.strip(_GO_SPACE)


STOPWORDS_ONLY = (
    "invalid search term, only stopwords provided. Stopwords can be configured in class.invertedIndexConfig.stopwords"
)


class WeaviateError(Exception):
    """An error Weaviate answers with `{"error": [{"message": ...}]}` and `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def go_type_name(value: Any) -> str:
    """What Go's %T prints for a value decoded from JSON with UseNumber."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "json.Number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def capitalize_class(name: str) -> str:
    return name[:1].upper() + name[1:]


def _validate_value(prop: str, class_name: str, data_type: str, value: Any) -> Any:
    def fail(kind: str, reason: str) -> WeaviateError:
        return WeaviateError(422, f"invalid {kind} property '{prop}' on class '{class_name}': {reason}")

    if data_type in ("text", "string"):
        if not isinstance(value, str):
            raise fail(data_type, f"not a string, but {go_type_name(value)}")
        return value
    if data_type == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise fail("integer", f"requires an integer, the given value is '{value}'")
        return int(value)
    if data_type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("number", f"requires a float, the given value is '{value}'")
        return float(value)
    if data_type == "boolean":
        if not isinstance(value, bool):
            raise fail("boolean", f"not a bool, but {go_type_name(value)}")
        return value
    if data_type == "date":
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return value
            except ValueError:
                pass
        raise fail("date", f"requires a string with a RFC3339 formatted date, but the given value is '{value}'")
    if data_type in ("text[]", "string[]"):
        if not isinstance(value, list):
            raise fail(f"{data_type[:-2]} array", f"not a {data_type[:-2]} array, but {go_type_name(value)}")
        if not all(isinstance(v, str) for v in value):
            raise fail(f"{data_type[:-2]} array", f"invalid {data_type[:-2]} array value: {value}")
        return value
    raise WeaviateError(422, f"unrecognized data type '{data_type}'")


def _infer_data_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "text[]"
    return "text"


def tokens(text: str) -> list[str]:
    """Weaviate's `word` tokenization: lower-cased alphanumeric runs."""
    return [t.lower() for t in _WORD.findall(text)]


def cosine_distance(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = math.sqrt(float(x @ x)), math.sqrt(float(y @ y))
    if na == 0 or nb == 0:
        return 1.0
    return 1.0 - float(x @ y) / (na * nb)


class BodyParseError(Exception):
    """The request body does not decode into Weaviate's Go types: the whole request fails (422, code 602)."""


# JSON types as Go's encoding/json names them in its errors.
_GO_JSON_KIND = {str: "string", bool: "bool", dict: "object", list: "array"}


def parse_vector(value: Any, field_path: str) -> np.ndarray | None:
    """A JSON vector decoded as Weaviate's `[]float32` is.

    Like Go's decoder: a non-number element or a number beyond float32's range
    fails the whole body; a `null` element leaves a zero.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        kind = _GO_JSON_KIND.get(type(value), "number")
        raise BodyParseError(f"json: cannot unmarshal {kind} into Go struct field {field_path} of type models.C11yVector")
    kinds = set(map(type, value))
    if not kinds <= {float, int, type(None)}:
        kind = next(_GO_JSON_KIND.get(k, k.__name__) for k in kinds if k not in (float, int, type(None)))
        raise BodyParseError(f"json: cannot unmarshal {kind} into Go struct field {field_path} of type float32")
    if type(None) in kinds:
        value = [0.0 if v is None else v for v in value]
    with np.errstate(over="ignore"):
        vector = np.asarray(value, dtype=np.float32)
    if not np.isfinite(vector).all():
        number = next(v for v, f in zip(value, np.isfinite(vector)) if not f)
        raise BodyParseError(f"json: cannot unmarshal number {number} into Go struct field {field_path} of type float32")
    return vector


@dataclass
class StoredObject:
    class_name: str
    id: str
    properties: dict[str, Any]
    vector: np.ndarray | None  # float32, as Weaviate stores vectors
    created: int
    updated: int
    # Each searched property's term counts and length, built on its first keyword search
    # (an object is replaced, never changed, so they stay right).
    terms: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def as_json(self, include_vector: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "class": self.class_name,
            "id": self.id,
            "properties": copy.deepcopy(self.properties),
            "creationTimeUnix": self.created,
            "lastUpdateTimeUnix": self.updated,
        }
        if include_vector and self.vector is not None:
            body["vector"] = self.vector  # the server's encoder writes float32 as Go does: shortest form
        return body


MODULE_DIMENSIONS = 64


def module_vector(text: str) -> list[float]:
    """The stand-in vectorizer module: hashed words, unit length (deterministic, no model)."""
    vector = [0.0] * MODULE_DIMENSIONS
    for word in tokens(text):
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        vector[digest[0] % MODULE_DIMENSIONS] += 1.0 if digest[1] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@dataclass
class WeaviateState:
    """Everything the server stores; survives a server restart.

    `modules` names the vectorizer modules this server has (none by default, like
    a Weaviate started without modules); each stands in with `module_vector`.
    """

    auto_schema: bool = False
    nodes: int = 1  # storage nodes: a replication factor above this is refused, as Weaviate does
    version: str = "1.25.4"
    modules: frozenset[str] = frozenset()
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, StoredObject]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Weaviate answers filters from an inverted index and walks its cursor in id order without
    # scanning the class; these two keep the stand-in's costs shaped the same way.
    _field_index: dict[str, dict[str, dict[str, set[str]]]] = field(default_factory=dict)
    _sorted_ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def lengths_count_repeats(self) -> bool:
        """BM25's document length: distinct terms up to Weaviate 1.25, every term in later versions
        (their inverted buckets; read in 1.35.2's source, held by the parity suite)."""
        return tuple(int(p) for p in self.version.split(".")[:2]) > (1, 25)

    # ---- schema -------------------------------------------------------------

    def get_class(self, name: str) -> dict[str, Any]:
        key = capitalize_class(name)
        with self.lock:
            if key not in self.classes:
                raise WeaviateError(404, ERROR_NO_SUCH_CLASS % key)
            return self.classes[key]

    def create_class(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("class")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][_0-9A-Za-z]*", name):
            raise WeaviateError(422, f"'{name}' is not a valid class name")
        name = capitalize_class(name)
        with self.lock:
            if name in self.classes:
                raise WeaviateError(422, f'class name "{name}" already exists')
            vectorizer = body.get("vectorizer", "none")
            if vectorizer != "none" and vectorizer not in self.modules:
                raise WeaviateError(422, f'vectorizer: no module with name "{vectorizer}" present')
            properties = [_property(prop) for prop in body.get("properties") or []]
            vector_config = {"distance": "cosine", "ef": -1, "efConstruction": 128, "maxConnections": 32}
            vector_config.update(body.get("vectorIndexConfig") or {})
            factor = (body.get("replicationConfig") or {}).get("factor", 1)
            if not isinstance(factor, int) or factor < 1:
                raise WeaviateError(422, f"replication factor must be at least 1, got {factor!r}")
            if factor > self.nodes:
                # Weaviate's sharding state cannot place more replicas than it has storage nodes.
                raise WeaviateError(
                    422, f"init sharding state: not enough storage replicas: found {self.nodes} want {factor}"
                )
            stored = {
                "class": name,
                "replicationConfig": {"factor": factor},
                "description": body.get("description", ""),
                "vectorizer": body.get("vectorizer", "none"),
                "vectorIndexType": body.get("vectorIndexType", "hnsw"),
                "vectorIndexConfig": vector_config,
                "invertedIndexConfig": body.get("invertedIndexConfig") or {"cleanupIntervalSeconds": 60},
                "properties": properties,
                "moduleConfig": body.get("moduleConfig") or {},
            }
            self.classes[name] = stored
            self.objects[name] = {}
            self._field_index[name] = {p["name"]: {} for p in properties if _equality_indexed(p)}
            self._sorted_ids.pop(name, None)
            return copy.deepcopy(stored)

    def add_property(self, class_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/schema/{className}/properties`: a new property; existing objects do not have it."""
        key = capitalize_class(class_name)
        with self.lock:
            if key not in self.classes:
                raise WeaviateError(404, ERROR_NO_SUCH_CLASS % key)
            cls = self.classes[key]
            name = body.get("name")
            if any(str(p["name"]).lower() == str(name).lower() for p in cls["properties"]):
                raise WeaviateError(
                    422, f'class "{key}": conflict for property "{name}": already in use or provided multiple times'
                )
            prop = _property(body)
            cls["properties"].append(prop)
            if _equality_indexed(prop):
                index = self._field_index.setdefault(key, {})[prop["name"]] = {}
                for obj in self.objects.get(key, {}).values():
                    if prop["name"] in obj.properties:
                        index.setdefault(_index_key(obj.properties[prop["name"]]), set()).add(obj.id)
            return copy.deepcopy(prop)

    def delete_class(self, name: str) -> None:
        key = capitalize_class(name)
        with self.lock:
            self.classes.pop(key, None)
            self.objects.pop(key, None)
            self._field_index.pop(key, None)
            self._sorted_ids.pop(key, None)

    def schema(self) -> dict[str, Any]:
        with self.lock:
            return {"classes": copy.deepcopy(list(self.classes.values()))}

    # ---- objects ------------------------------------------------------------

    def vector_length(self, class_name: str) -> int | None:
        for obj in self.objects.get(class_name, {}).values():
            if obj.vector is not None:
                return len(obj.vector)
        return None

    def validate(self, body: dict[str, Any]) -> tuple[str, str, dict[str, Any], np.ndarray | None]:
        """Check one object like Weaviate; return (class, id, properties, vector).

        `body["vector"]` is already decoded (`parse_vector`), as Weaviate's REST layer does before this.
        """
        class_name = body.get("class")
        if not isinstance(class_name, str) or not class_name:
            raise WeaviateError(422, "invalid object: the given class is empty")
        class_name = capitalize_class(class_name)
        object_id = body.get("id") or str(uuid_lib.uuid4())
        try:
            object_id = str(uuid_lib.UUID(str(object_id)))
        except ValueError as err:
            raise WeaviateError(422, f"invalid object: invalid UUID length: {len(str(object_id))}") from err
        with self.lock:
            if class_name not in self.classes:
                if not self.auto_schema:
                    raise WeaviateError(422, ERROR_NO_SUCH_CLASS % class_name)
                self.create_class({"class": class_name, "properties": []})
            cls = self.classes[class_name]
            schema_props = {p["name"]: p for p in cls["properties"]}
            properties = body.get("properties") or {}
            if not isinstance(properties, dict):
                raise WeaviateError(422, "invalid object: properties must be a map")
            clean: dict[str, Any] = {}
            for name, value in properties.items():
                if name not in schema_props:
                    if not self.auto_schema:
                        raise WeaviateError(422, ERROR_NO_SUCH_PROPERTY % (name, class_name))
                    schema_props[name] = {"name": name, "dataType": [_infer_data_type(value)]}
                    cls["properties"].append(schema_props[name])
                if value is None:
                    continue
                clean[name] = _validate_value(name, class_name, schema_props[name]["dataType"][0], value)
            vector = body.get("vector")
            if vector is None and cls["vectorizer"] in self.modules:
                text = " ".join(str(v) for v in clean.values() if isinstance(v, str))
                vector = np.asarray(module_vector(text), dtype=np.float32)
            if vector is not None:
                existing = self.vector_length(class_name)
                if existing is not None and existing != len(vector):
                    raise WeaviateError(
                        422,
                        f"Validate vector index for {object_id}: new node has a vector with length "
                        f"{len(vector)}. Existing nodes have vectors with length {existing}",
                    )
        return class_name, object_id, clean, vector

    def put(self, class_name: str, object_id: str, properties: dict[str, Any], vector: np.ndarray | None) -> StoredObject:
        now = int(time.time() * 1000)
        with self.lock:
            bucket = self.objects.setdefault(class_name, {})
            previous = bucket.get(object_id)
            created = previous.created if previous is not None else now
            stored = StoredObject(class_name, object_id, properties, vector, created, now)
            bucket[object_id] = stored
            if previous is not None:
                self._unindex(previous)
            else:
                self._sorted_ids.pop(class_name, None)
            self._index(stored)
            return stored

    def _index(self, obj: StoredObject) -> None:
        for prop, values in self._field_index.get(obj.class_name, {}).items():
            value = obj.properties.get(prop)
            if value is not None:
                values.setdefault(_index_key(value), set()).add(obj.id)

    def _unindex(self, obj: StoredObject) -> None:
        for prop, values in self._field_index.get(obj.class_name, {}).items():
            value = obj.properties.get(prop)
            if value is not None:
                ids = values.get(_index_key(value))
                if ids is not None:
                    ids.discard(obj.id)
                    if not ids:
                        del values[_index_key(value)]

    def get(self, class_name: str, object_id: str) -> StoredObject | None:
        with self.lock:
            return self.objects.get(capitalize_class(class_name), {}).get(object_id)

    def find_by_id(self, object_id: str) -> StoredObject | None:
        with self.lock:
            for bucket in self.objects.values():
                if object_id in bucket:
                    return bucket[object_id]
        return None

    def delete(self, class_name: str, object_id: str) -> bool:
        key = capitalize_class(class_name)
        with self.lock:
            removed = self.objects.get(key, {}).pop(object_id, None)
            if removed is None:
                return False
            self._unindex(removed)
            self._sorted_ids.pop(key, None)
            return True

    def all_objects(self, class_name: str) -> list[StoredObject]:
        with self.lock:
            return list(self.objects.get(capitalize_class(class_name), {}).values())

    def select(self, class_name: str, where: dict[str, Any] | None) -> list[StoredObject]:
        """The objects matching `where`, narrowed first by the equality index where the filter allows."""
        key = capitalize_class(class_name)
        if where:
            self._check_terms(key, where)
        with self.lock:
            ids, exact = self._indexed_candidates(key, where)
            bucket = self.objects.get(key, {})
            pool = list(bucket.values()) if ids is None else [bucket[i] for i in ids if i in bucket]
        if not where or exact:
            return pool
        props = {p["name"]: p for p in self.get_class(key)["properties"]}
        return [o for o in pool if self.matches(key, o, where, props)]

    def _check_terms(self, key: str, where: dict[str, Any]) -> None:
        """Weaviate's searcher refuses a text filter whose value has no term left once stopwords are dropped
        (field tokenization too: a file named `a` in a class with English stopwords)."""
        if where.get("operator") in ("And", "Or", "Not"):
            for operand in where.get("operands") or []:
                self._check_terms(key, operand)
            return
        path = where.get("path") or []
        value = where.get("valueText", where.get("valueString"))
        if value is None or len(path) != 1 or path[0] == "id":
            return
        body = self.get_class(key)
        prop = next((p for p in body["properties"] if p["name"] == path[0]), None)
        if prop is None or prop["dataType"][0] not in ("text", "string"):
            return
        tokenization = prop.get("tokenization", "word")
        terms = [go_trim_space(value)] if tokenization == "field" else tokens(value)
        stopwords = class_stopwords(body)
        if not [t for t in terms if t and t not in stopwords]:
            raise WeaviateError(500, STOPWORDS_ONLY)

    def _indexed_candidates(self, key: str, where: dict[str, Any] | None) -> tuple[set[str] | None, bool]:
        """Ids that can match, from Equal filters on field-tokenized text (None: no help), and
        whether they are exactly the matches (every part of the filter was answered by the index)."""
        if not where:
            return None, False
        if where.get("operator") == "And":
            found = [self._indexed_candidates(key, w) for w in where.get("operands") or []]
            sets = [ids for ids, _ in found if ids is not None]
            if not sets:
                return None, False
            return set.intersection(*sets), all(exact for _, exact in found)
        if where.get("operator") == "Or":
            found = [self._indexed_candidates(key, w) for w in where.get("operands") or []]
            if not found or any(ids is None for ids, _ in found):
                return None, False  # one operand the index cannot answer: scan
            return set().union(*(ids for ids, _ in found if ids is not None)), all(exact for _, exact in found)
        path = where.get("path") or []
        values = self._field_index.get(key, {}).get(path[0]) if where.get("operator") == "Equal" and len(path) == 1 else None
        wanted = next((where[k] for k in ("valueText", "valueInt") if k in where), None)
        if values is None or wanted is None:
            return None, False
        return set(values.get(_index_key(wanted), ())), True

    def page_after(self, class_name: str, after: str | None, limit: int) -> list[StoredObject]:
        """The cursor API: up to `limit` objects in id order, after the id `after`."""
        key = capitalize_class(class_name)
        with self.lock:
            ordered = self._sorted_ids.get(key)
            bucket = self.objects.get(key, {})
            if ordered is None:
                ordered = self._sorted_ids[key] = sorted(bucket)
            start = 0 if after is None else bisect.bisect_right(ordered, str(after))
            return [bucket[i] for i in ordered[start : start + limit]]

    # ---- filters ------------------------------------------------------------

    def matches(
        self, class_name: str, obj: StoredObject, where: dict[str, Any] | None, props: dict[str, Any] | None = None
    ) -> bool:
        if not where:
            return True
        if props is None:
            props = {p["name"]: p for p in self.get_class(class_name)["properties"]}
        operator = where.get("operator")
        if operator in ("And", "Or"):
            results = (self.matches(class_name, obj, w, props) for w in where.get("operands") or [])
            return all(results) if operator == "And" else any(results)
        if operator == "Not":
            operands = where.get("operands") or []
            return not all(self.matches(class_name, obj, w, props) for w in operands)
        path = where.get("path") or []
        if len(path) != 1:
            raise WeaviateError(422, f"invalid where filter: unsupported path {path}")
        prop = path[0]
        if prop == "id":
            value: Any = obj.id
            tokenization = "field"
            data_type = "text"
        else:
            schema_prop = props.get(prop)
            if schema_prop is None:
                raise WeaviateError(422, ERROR_NO_SUCH_PROPERTY % (prop, class_name))
            value = obj.properties.get(prop)
            data_type = schema_prop["dataType"][0]
            tokenization = schema_prop.get("tokenization", "word")
        expected = _filter_value(where)
        if operator == "IsNull":
            return (value is None) == bool(expected)
        if value is None:
            return operator == "NotEqual"
        if data_type in ("text", "string"):
            return _match_text(operator, str(value), str(expected), tokenization)
        return _compare(operator, value, expected)


def _filter_value(where: dict[str, Any]) -> Any:
    for key in ("valueText", "valueString", "valueInt", "valueNumber", "valueBoolean", "valueDate"):
        if key in where:
            return where[key]
    raise WeaviateError(422, "invalid where filter: no value given")


def _match_text(operator: str, value: str, expected: str, tokenization: str) -> bool:
    if operator in ("Equal", "NotEqual"):
        if tokenization == "field":
            equal = go_trim_space(value) == go_trim_space(expected)
        else:
            have = set(tokens(value))
            equal = all(t in have for t in tokens(expected))
        return equal if operator == "Equal" else not equal
    if operator == "Like":
        if tokenization == "field":
            return _like(expected).fullmatch(value) is not None
        pattern = _like(expected.lower())
        return any(pattern.fullmatch(t) for t in tokens(value))
    raise WeaviateError(422, f"invalid where filter: operator {operator} is not supported for text")


def _like(pattern: str) -> re.Pattern[str]:
    """Weaviate's `Like`: `*` is any run of characters, `?` any one; everything else is literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _compare(operator: str, value: Any, expected: Any) -> bool:
    ops = {
        "Equal": lambda a, b: a == b,
        "NotEqual": lambda a, b: a != b,
        "GreaterThan": lambda a, b: a > b,
        "GreaterThanEqual": lambda a, b: a >= b,
        "LessThan": lambda a, b: a < b,
        "LessThanEqual": lambda a, b: a <= b,
    }
    if operator not in ops:
        raise WeaviateError(422, f"invalid where filter: unsupported operator {operator}")
    return ops[operator](value, expected)


def _property(body: dict[str, Any]) -> dict[str, Any]:
    """A property as Weaviate stores it (its defaults filled in)."""
    data_type = body.get("dataType") or []
    if len(data_type) != 1:
        raise WeaviateError(422, f"property '{body.get('name')}': dataType must have exactly one entry")
    entry = {
        "name": body["name"],
        "dataType": list(data_type),
        "indexFilterable": body.get("indexFilterable", True),
        "indexSearchable": body.get("indexSearchable", data_type[0] in ("text", "text[]")),
    }
    if data_type[0] in ("text", "text[]"):
        entry["tokenization"] = body.get("tokenization", "word")
    return entry


def _equality_indexed(prop: dict[str, Any]) -> bool:
    """Properties whose Equal filters the stand-in answers from an index: field-tokenized text and ints."""
    kind = prop["dataType"][0]
    return (kind == "text" and prop.get("tokenization") == "field") or (kind == "int" and prop.get("indexFilterable", True))


def _index_key(value: Any) -> str:
    return go_trim_space(str(value)) if isinstance(value, str) else f"int:{int(value)}"
