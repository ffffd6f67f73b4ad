"""Keeping the Weaviate API key out of every log line, whoever writes it.

pygls logs whole LSP messages at debug level (initializationOptions and
settings changes may carry the key) and libraries may log headers, so the
mask sits on the log handlers rather than in each call site: known keys are
replaced wherever they appear, and anything shaped like an `api_key` value or
a bearer token is masked even before its key is known.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from types import TracebackType

from .display import brief

MASK = "***"
_SHAPES = re.compile(
    r"""(?ix)
    ( api[_-]?key ['"]? \s* [:=] \s* ['"]? )   # api_key: "…", 'api_key': '…', api_key=…
    ( [^'"\s,}\)]+ )
    | ( bearer \s+ ) ( [^'"\s,}\)]+ )            # Authorization: Bearer …
    """
)
# The user-info part of a URL (`https://admin:SECRET@host`): a password in the URL.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]*@")
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Mask `secret` in every log line from now on."""
    if secret and len(secret) >= 4:  # shorter strings would mask ordinary words
        with _lock:
            _known.add(secret)


def mask_url(text: str) -> str:
    """`text` with the user name and password of every URL in it masked (`https://***@host`)."""
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)


def mask_secrets(text: str) -> str:
    """`text` with every known secret, every URL's credentials and every key- or token-shaped value masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return _SHAPES.sub(lambda m: (m.group(1) or m.group(3)) + MASK, mask_url(text))


class SecretFilter(logging.Filter):
    """A handler filter that masks secrets in the formatted message and any traceback, and bounds them.

    Log lines carry what clients and Weaviate sent (pygls logs whole messages at
    debug level): each line is cut to `LOG_LINE_LIMIT` characters, control
    characters escaped, so no log repeats more of an input than any message may.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = _bounded(mask_secrets(message))
        if shown != message:
            record.msg, record.args = shown, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            shown_exc = "\n".join(_bounded(line) for line in mask_secrets(text).splitlines())
            if shown_exc != text:
                record.msg = f"{record.msg}\n{shown_exc}"
                record.exc_info, record.exc_text = None, None
        return True


LOG_LINE_LIMIT = 200


def _bounded(line: str) -> str:
    return brief(line, LOG_LINE_LIMIT)


def install_log_masking() -> None:
    """Mask secrets on every handler of the root logger and in crash reports (call after configuring logging)."""
    register_secret(os.environ.get("WEAVIATE_API_KEY"))
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter())
    sys.excepthook = _masked_excepthook


def _masked_excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An uncaught exception's report, with secrets masked."""
    sys.stderr.write(mask_secrets("".join(traceback.format_exception(kind, value, tb))))
