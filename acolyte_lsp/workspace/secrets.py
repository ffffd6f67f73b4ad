"""High-confidence secret patterns in source text: find them, or mask them keeping every line.

Only token shapes that are unambiguous (a provider's fixed prefix and length, a
private key block) are matched, so ordinary code is never withheld by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Each pattern with literals one of which any match contains: `str.__contains__` over a
# file is far faster than a regex that starts with `\b`, so the regex runs only when it may match.
_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (kind, literals, re.compile(pattern))
    for kind, literals, pattern in (
        ("private key block", ("PRIVATE KEY",), r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[^\n]*)"),
        ("AWS access key id", ("AKIA", "ASIA", "ABIA", "ACCA"), r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
        ("AWS secret access key", ("secret", "SECRET", "Secret"), r"(?i)\baws_?secret_?access_?key\b['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"),
        ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
        ("GitHub token", ("github_pat_",), r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"),
        ("Slack token", ("xox",), r"\bxox[abposr]-[0-9A-Za-z-]{10,250}"),
        ("Slack webhook", ("hooks.slack.com",), r"https://hooks\.slack\.com/services/T[0-9A-Za-z_]{6,}/B[0-9A-Za-z_]{6,}/[0-9A-Za-z_]{16,}"),
        ("npm token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("npm auth token", ("_authToken=",), r"(?<=_authToken=)[^\s'\"]{8,}"),
        ("Stripe secret key", ("_live_",), r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"),
        ("Google API key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
        ("PyPI token", ("pypi-AgE",), r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    )
)


def _candidates(text: str) -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, pattern) for kind, literals, pattern in _PATTERNS if any(lit in text for lit in literals)]


@dataclass(frozen=True)
class SecretMatch:
    """One secret found: its kind and the 1-based line where it starts."""

    kind: str
    line: int


def find_secrets(text: str) -> list[SecretMatch]:
    """Every high-confidence secret in `text`, in order of position."""
    found: list[tuple[int, str]] = []
    for kind, pattern in _candidates(text):
        found.extend((m.start(), kind) for m in pattern.finditer(text))
    found.sort()
    return [SecretMatch(kind, text.count("\n", 0, start) + 1) for start, kind in found]


def redact_secrets(text: str) -> str:
    """`text` with each secret replaced by a marker; line breaks inside a secret are kept."""
    for kind, pattern in _candidates(text):
        text = pattern.sub(_marker(kind), text)
    return text


def _marker(kind: str) -> Callable[[re.Match[str]], str]:
    """What stands in for a secret of `kind`: a marker, keeping the secret's line breaks."""
    return lambda m: f"[redacted {kind}]" + "\n" * m.group(0).count("\n")
