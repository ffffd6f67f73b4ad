"""When Weaviate Embedded is used instead of the configured URL, and the user's remembered answer.

The editor asks once ("start Weaviate Embedded?") and the answer is kept in
the user's state folder, so no window asks again; the CLI needs no answer (it
uses Embedded whenever it can be had).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from .settings import WeaviateSettings

log = logging.getLogger(__name__)


class Answer(StrEnum):
    """The choices offered when nothing answers at the default URL (in the order shown)."""

    START = "Start Weaviate Embedded"
    SETTINGS = "Open settings"
    NOT_NOW = "Not now"

    @classmethod
    def of(cls, title: object) -> Answer | None:
        """The answer a reply's title names, or None for anything else."""
        return next((answer for answer in cls if answer == title), None)


# "Open settings" leads to a choice made in the settings, so it is not kept.
REMEMBERED_ANSWERS = (Answer.START, Answer.NOT_NOW)


def embedded_always(settings: WeaviateSettings) -> bool:
    """`weaviate.embedded: true`: Embedded whatever answers elsewhere."""
    return settings.embedded == "true"


def embedded_may_be_offered(settings: WeaviateSettings) -> bool:
    """`auto` with no URL set: a Weaviate that does not answer at the default URL may be replaced by Embedded."""
    return settings.embedded == "auto" and settings.url is None


def _answers_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "acolyte-lsp" / "answers.json"


def remembered_answer() -> Answer | None:
    """The user's answer to the Embedded question, when one was remembered."""
    try:
        answer = json.loads(_answers_file().read_text()).get("weaviate_embedded")
    except (OSError, ValueError, AttributeError):
        return None
    return Answer(answer) if answer in REMEMBERED_ANSWERS else None


def remember_answer(answer: Answer) -> None:
    """Keep an answer for every later window (answers not worth keeping are ignored)."""
    if answer not in REMEMBERED_ANSWERS:
        return
    path = _answers_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps({"weaviate_embedded": answer}) + "\n")
        partial.replace(path)
    except OSError as err:  # the answer then holds for this session only
        log.warning("cannot remember the Weaviate Embedded answer in %s: %s", path, err)
