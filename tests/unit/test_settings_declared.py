"""Each setting declares what it means and how a change applies; the schema, README and classifier read that."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from acolyte_lsp.settings import Settings, SettingsChange, classify_settings_change, json_schema
from acolyte_lsp.settings.fields import applies_of, description_of
from acolyte_lsp.settings.tree import all_fields, get, replaced
from scripts.sync_readme_settings import README, with_table

FIELDS = list(all_fields())


@pytest.mark.parametrize(("dotted", "declared"), FIELDS, ids=[d for d, _ in FIELDS])
def test_every_setting_says_what_it_does(dotted: str, declared: dataclasses.Field[Any]) -> None:
    description = description_of(declared)
    assert description.strip(), f"{dotted} has no description"
    assert description.endswith("."), f"{dotted}: a description is a sentence"


@pytest.mark.parametrize(("dotted", "declared"), FIELDS, ids=[d for d, _ in FIELDS])
def test_every_setting_declares_how_a_change_applies(dotted: str, declared: dataclasses.Field[Any]) -> None:
    assert applies_of(declared) is not SettingsChange.NONE


def _other_value(value: Any, declared: dataclasses.Field[Any]) -> Any:
    if "choices" in declared.metadata:
        return next(c for c in declared.metadata["choices"] if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, tuple):
        return ("*.tmp",)
    return "Other" if value is None or isinstance(value, str) else value


@pytest.mark.parametrize(("dotted", "declared"), FIELDS, ids=[d for d, _ in FIELDS])
def test_changing_one_setting_is_applied_as_it_declares(dotted: str, declared: dataclasses.Field[Any]) -> None:
    changed = replaced(Settings(), dotted, _other_value(get(Settings(), dotted), declared))
    assert classify_settings_change(Settings(), changed) is applies_of(declared)


def test_a_change_of_several_settings_takes_the_most_disruptive_way() -> None:
    changed = replaced(replaced(Settings(), "search.alpha", 0.9), "indexing.chunk_lines", 30)
    assert classify_settings_change(Settings(), changed) is SettingsChange.REINDEX_ALL
    assert classify_settings_change(Settings(), Settings()) is SettingsChange.NONE


def test_the_json_schema_carries_each_description() -> None:
    schema = json_schema()["properties"]
    for dotted, declared in FIELDS:
        section, key = dotted.split(".")
        assert schema[section]["properties"][key]["description"].startswith(description_of(declared))


def test_the_readme_table_is_the_one_the_settings_describe() -> None:
    readme = Path(README).read_text()
    assert readme == with_table(readme), "run scripts/sync_readme_settings.py"
