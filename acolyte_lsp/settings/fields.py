"""How a setting is declared: its default, what it means, how a change to it applies, and its checks."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any


class SettingsChange(StrEnum):
    """How a settings change is applied: each field declares its own, a change takes the most disruptive."""

    NONE = "none"
    IN_PLACE = "in place"  # the next batch or search uses it
    REINDEX = "reindex"  # which files: a normal run converges
    REINDEX_ALL = "reindex all"  # how files are cut: every file is re-sent
    RESTART = "restart"  # where and how chunks are stored: reconnect, then index

    @property
    def rank(self) -> int:
        return list(SettingsChange).index(self)

    @property
    def shown(self) -> str:
        """The words the README's settings table uses."""
        return {
            SettingsChange.IN_PLACE: "live",
            SettingsChange.REINDEX: "re-index",
            SettingsChange.REINDEX_ALL: "re-chunk (every file re-sent)",
            SettingsChange.RESTART: "reconnect",
        }.get(self, self.value)


def setting(default: Any, description: str, applies: SettingsChange, *, repr: bool = True, **checks: Any) -> Any:
    """A settings field: `checks` are min, max, choices, pattern, booleans, secret, trust, harmless."""
    return dataclasses.field(
        default=default, repr=repr, metadata={"description": description, "applies": applies, **checks}
    )


def description_of(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("description", ""))


def applies_of(field: dataclasses.Field[Any]) -> SettingsChange:
    return SettingsChange(field.metadata["applies"])
