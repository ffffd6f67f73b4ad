"""The package's type hints hold: mypy finds nothing in acolyte_lsp/."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_type_checks() -> None:
    api = pytest.importorskip("mypy.api", reason="mypy comes with the test extra")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "acolyte_lsp")])
    assert status == 0, out + err
