"""Setting values from any source: typed, checked, and laid over a settings tree, each problem named by key."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .tree import Settings, hints, section_classes


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a settings source, with where it is (line is 1-based)."""

    source: str
    key: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class Located:
    """A YAML value with the 1-based line and column where it starts."""

    def __init__(self, value: Any, line: int | None, column: int | None) -> None:
        self.value = value
        self.line = line
        self.column = column


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin is tuple:
        return "a list of strings"
    return names.get(tp, str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """Return `value` as type `tp`, or raise ValueError with a short reason."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(value, inner[0])
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"expected {_type_name(tp)}, got {describe(value)}")
        if not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings, got a list with a non-string item")
        return tuple(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ValueError(f"expected {_type_name(tp)}, got {describe(value)}")


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        # Bounded: a message must not echo a megabyte a client sent.
        return f"string {value[:60]!r}" + (f" ({len(value):,} characters)" if len(value) > 60 else "")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _check_constraints(value: Any, meta: Mapping[str, Any]) -> None:
    if value is None:
        return
    if "min" in meta and value < meta["min"]:
        raise ValueError(f"must be at least {meta['min']}, got {value}")
    if "max" in meta and value > meta["max"]:
        raise ValueError(f"must be at most {meta['max']}, got {value}")
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(meta["choices"])
        shown = repr(value) if len(repr(value)) <= 60 else describe(value)
        raise ValueError(f"must be one of {choices}, got {shown}")
    if "pattern" in meta and not re.fullmatch(meta["pattern"][0], value):
        raise ValueError(f"must be {meta['pattern'][1]}, got {describe(value)}")


def apply_tree(
    base: Settings, tree: Mapping[str, Any], source: str
) -> tuple[Settings, list[ConfigProblem]]:
    """Overlay a nested mapping (values may be `Located`) onto `base`."""
    problems: list[ConfigProblem] = []
    sections = section_classes()
    new_sections: dict[str, Any] = {}
    for section_name, section_value in tree.items():
        sec_line, sec_col, section_raw = _unwrap(section_value)
        if section_name not in sections:
            known = ", ".join(sections)
            problems.append(
                ConfigProblem(source, section_name, f"unknown section (known: {known})", sec_line, sec_col)
            )
            continue
        if section_raw is None:  # a heading whose keys are all commented out
            continue
        if not isinstance(section_raw, Mapping):
            problems.append(
                ConfigProblem(
                    source, section_name, f"expected a mapping of settings, got {describe(plain(section_raw))}",
                    sec_line, sec_col,
                )
            )
            continue
        section_cls = sections[section_name]
        field_types = hints(section_cls)
        meta = {f.name: f.metadata for f in dataclasses.fields(section_cls)}
        current = new_sections.get(section_name, getattr(base, section_name))
        changes: dict[str, Any] = {}
        for key, raw in section_raw.items():
            line, col, value = _unwrap(raw)
            dotted = f"{section_name}.{key}"
            if key not in field_types:
                known = ", ".join(field_types)
                problems.append(ConfigProblem(source, dotted, f"unknown key (known: {known})", line, col))
                continue
            given = plain(value)
            if meta[key].get("booleans") and isinstance(given, bool):
                given = "true" if given else "false"
            try:
                coerced = _coerce(given, field_types[key])
                _check_constraints(coerced, meta[key])
            except ValueError as err:
                problems.append(ConfigProblem(source, dotted, str(err), line, col))
                continue
            changes[key] = coerced
        new_sections[section_name] = dataclasses.replace(current, **changes)
    return dataclasses.replace(base, **new_sections), problems


def _unwrap(value: Any) -> tuple[int | None, int | None, Any]:
    if isinstance(value, Located):
        return value.line, value.column, value.value
    return None, None, value


def plain(value: Any) -> Any:
    """Strip `Located` wrappers recursively."""
    if isinstance(value, Located):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
