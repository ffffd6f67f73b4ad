"""Trusting a test's folder as its user would, by the answer acolyte-lsp remembers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acolyte_lsp.settings import load_settings
from acolyte_lsp.trust import TrustAnswers


def trust_folder(root: Path, options: Any = None, env: Mapping[str, str] | None = None) -> None:
    """Remember "trusted" for what `root/.acolyte` asks now (with these editor options and environment)."""
    asked = load_settings(root, options, env=os.environ if env is None else env).withheld
    assert asked is not None, "the folder's .acolyte asks for nothing that needs trust"
    TrustAnswers().remember(asked, True)
