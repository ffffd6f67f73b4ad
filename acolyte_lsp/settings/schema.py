"""What the settings say of themselves: redacted for logs, a JSON Schema for editors, the README's table."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from ..secrecy import mask_url
from .fields import applies_of, description_of
from .tree import Settings, all_fields, default_of, hints, section_classes


def redacted(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict with secrets masked, safe to log or return to a client."""
    out: dict[str, Any] = {}
    for section in dataclasses.fields(settings):
        value = getattr(settings, section.name)
        sec: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("secret") and item:
                item = "***"
            elif isinstance(item, str):
                item = mask_url(item)
            sec[f.name] = list(item) if isinstance(item, tuple) else item
        out[section.name] = sec
    return out


def _json_type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        schema = _json_type(inner[0])
        schema["type"] = [schema["type"], "null"]
        return schema
    if origin is tuple:
        return {"type": "array", "items": {"type": "string"}}
    return {"type": {bool: "boolean", int: "integer", float: "number", str: "string"}[tp]}


TRUSTED_ONLY = " In a workspace's .acolyte, used only once you trust that folder."


def _property(f: dataclasses.Field[Any], tp: Any) -> dict[str, Any]:
    """One setting's JSON Schema: type, default, bounds, choices and description."""
    prop = _json_type(tp)
    default = default_of(f)
    prop["default"] = list(default) if isinstance(default, tuple) else default
    if "min" in f.metadata:
        prop["minimum"] = f.metadata["min"]
    if "max" in f.metadata:
        prop["maximum"] = f.metadata["max"]
    if "choices" in f.metadata:
        prop["enum"] = [*f.metadata["choices"], *([None] if "null" in prop["type"] else [])]
    if f.metadata.get("booleans"):
        prop["type"] = [prop["type"], "boolean"]
        prop["enum"] += [True, False]
    prop["description"] = description_of(f) + (TRUSTED_ONLY if "trust" in f.metadata else "")
    return prop


def json_schema() -> dict[str, Any]:
    """A JSON Schema for `.acolyte`, generated from the settings tree (editors validate and complete with it)."""
    sections: dict[str, Any] = {}
    for section_name, section_cls in section_classes().items():
        field_types = hints(section_cls)
        properties = {f.name: _property(f, field_types[f.name]) for f in dataclasses.fields(section_cls)}
        sections[section_name] = {"type": "object", "additionalProperties": False, "properties": properties}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "acolyte-lsp settings (.acolyte)",
        "type": "object",
        "additionalProperties": False,
        "properties": sections,
    }


def _shown_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`[{', '.join(value)}]`"
    return f"`{value}`"


def settings_table() -> str:
    """The README's table of every setting: key, default, what it means, and how a change applies."""
    rows = ["| Setting | Default | What it does | A change applies |", "|---|---|---|---|"]
    for dotted, f in all_fields():
        trust = " *Trusted folders only.*" if "trust" in f.metadata else ""
        meaning = description_of(f).replace("|", "\\|") + trust
        rows.append(f"| `{dotted}` | {_shown_default(default_of(f))} | {meaning} | {applies_of(f).shown} |")
    return "\n".join(rows) + "\n"
