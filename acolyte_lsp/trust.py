"""Workspace trust: the user's answer to what a folder's `.acolyte` asks for, kept per folder and content.

A cloned repository's `.acolyte` is read the moment an editor opens the folder.
The settings in it that decide where code and credentials go or what runs
(`config.trusted_keys()`) apply only once the user has trusted that folder for
exactly what the file asks; until then acolyte-lsp runs on safe defaults. The
answers live in the user's state folder, keyed by the folder's real path and a
digest of what was asked, so an edited `.acolyte` (or one that now would send the
user's API key) is asked about again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .settings import CONFIG_FILE_NAME, WithheldSettings, trusted_keys
from .display import brief
from .secrecy import mask_url

log = logging.getLogger(__name__)

TRUST = "Trust these settings"
DISTRUST = "Keep ignoring them"
ANSWERS = (TRUST, DISTRUST)


def digest(request: WithheldSettings) -> str:
    """What trust is given to: the folder, each value asked for, and whether the user's API key would go along."""
    canonical = json.dumps(
        [str(request.folder), [[k, v] for k, v in request.values], request.sends_api_key], default=str, sort_keys=True
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def asks(request: WithheldSettings) -> list[str]:
    """Each thing the file asks acolyte-lsp to do, in words (values shown escaped and bounded, secrets never)."""
    phrases = trusted_keys()
    lines = []
    for key, value in request.values:
        shown = "***" if key == "weaviate.api_key" else brief(mask_url(str(value)), 120)
        lines.append(f"{phrases[key].format(value=shown)} ({key})")
        if key == "weaviate.url" and request.sends_api_key:
            lines.append("send your API key (WEAVIATE_API_KEY or your editor's setting) to that URL")
    return lines


def question(request: WithheldSettings) -> str:
    """The question put to the user, naming everything the file asks for."""
    wanted = "; ".join(asks(request))
    return (
        f"acolyte-lsp: {brief(str(request.folder / CONFIG_FILE_NAME), 160)} asks to: {wanted}. "
        "A cloned repository can ask for these, so they are ignored (safe defaults are used) until you trust "
        "this folder for exactly these settings."
    )


def ignored_warning(request: WithheldSettings, how: str) -> str:
    """One line saying which settings were ignored and how to use them."""
    return (
        f"{brief(str(request.folder / CONFIG_FILE_NAME), 160)} sets {', '.join(request.keys)}, which only a trusted "
        f"folder may set; ignored, safe defaults used. {how}"
    )


class TrustAnswers:
    """The user's remembered answers, in `$XDG_STATE_HOME/acolyte-lsp/trust.json`."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        self.path = state / "acolyte-lsp" / "trust.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def answer(self, request: WithheldSettings) -> bool | None:
        """True (trusted) or False (declined) for exactly this request; None when never answered."""
        entry = self._read().get(str(request.folder))
        if not isinstance(entry, dict) or entry.get("digest") != digest(request):
            return None
        trusted = entry.get("trusted")
        return trusted if isinstance(trusted, bool) else None

    def trusted(self, request: WithheldSettings) -> bool:
        return self.answer(request) is True

    def remember(self, request: WithheldSettings, trusted: bool) -> None:
        """Keep the answer for this folder and content (one answer per folder: a new one replaces it)."""
        data = self._read()
        data[str(request.folder)] = {"digest": digest(request), "trusted": trusted}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            partial.write_text(json.dumps(data, indent=1) + "\n")
            os.chmod(partial, 0o600)
            partial.replace(self.path)
        except OSError as err:  # the answer then holds for this session only
            log.warning("cannot remember the trust answer in %s: %s", self.path, err)
