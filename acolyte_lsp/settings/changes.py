"""How a settings change is applied: the most disruptive of what each changed field declares."""

from __future__ import annotations

from .fields import SettingsChange, applies_of
from .tree import Settings, all_fields, get


def classify_settings_change(old: Settings, new: Settings) -> SettingsChange:
    """The least disruptive way to apply `new` over `old` (`SettingsChange.NONE` when nothing changed)."""
    change = SettingsChange.NONE
    for dotted, f in all_fields():
        if get(old, dotted) != get(new, dotted) and applies_of(f).rank > change.rank:
            change = applies_of(f)
    return change
