"""Text from a workspace or a server, made safe to show: no control characters, bounded length.

File names, Markdown headings and Weaviate's messages come from places we do not
control. Printed raw, an escape sequence clears a terminal or retitles its
window, a newline splits one result into two, bidirectional overrides reorder
what a reader sees, and a message echoing a whole query buries its cause.
"""

from __future__ import annotations

import re

MAX_ECHO = 200  # characters of input any message may repeat

# C0 and C1 controls, DEL, line/paragraph separators, bidirectional embeddings,
# overrides and isolates (the "Trojan Source" characters), and the BOM.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\ufeff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, separator and direction character shown as an escape (`\\x1b`, `\\n`)."""
    return _UNSAFE.sub(_escape, text)


def brief(text: str, limit: int = MAX_ECHO) -> str:
    """`printable(text)`, cut to `limit` characters with a note of how long it was."""
    shown = printable(text)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}… ({len(text):,} characters)"
