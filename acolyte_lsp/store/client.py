"""Connecting to Weaviate with the v3 REST client."""

from __future__ import annotations

import warnings

import requests
import weaviate

from ..config import WeaviateSettings
from .client_compat import use_fast_json
from .errors import WeaviateUnavailableError

# weaviate-client 3.x warns on every client creation that v3 is deprecated; that
# is our pinned, chosen client, so the warning is noise for our users.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"weaviate(\..*)?")


def connect(settings: WeaviateSettings, *, fast_json: bool = True) -> weaviate.Client:
    """A connected client, or `WeaviateUnavailableError` saying what was tried and what to do.

    `fast_json` (the default) sends bodies and reads replies through `wire_json`;
    False keeps the client's own JSON (the benchmarks' baseline).
    """
    client = _client(settings)
    if fast_json:
        use_fast_json(client)
    return client


def _client(settings: WeaviateSettings) -> weaviate.Client:
    auth = weaviate.AuthApiKey(api_key=settings.api_key) if settings.api_key else None
    timeouts = (settings.connect_timeout_s, settings.read_timeout_s)
    try:
        return weaviate.Client(
            url=settings.endpoint,
            auth_client_secret=auth,
            timeout_config=timeouts,
            startup_period=None,
        )
    except (requests.exceptions.RequestException, weaviate.exceptions.WeaviateBaseError, OSError) as err:
        raise WeaviateUnavailableError(settings.endpoint, short_reason(err)) from err


def short_reason(err: BaseException) -> str:
    """A few words on why, not urllib3's whole retry chain."""
    text = str(err)
    if isinstance(err, requests.exceptions.Timeout):
        return "no answer in time"
    if isinstance(err, requests.exceptions.ConnectionError):
        lowered = text.lower()
        for needle, words in (
            ("refused", "connection refused"),
            ("name or service not known", "unknown host"),
            ("nodename nor servname", "unknown host"),
            ("temporary failure in name resolution", "unknown host"),
            ("reset by peer", "connection reset"),
            ("remote end closed", "connection closed without an answer"),
        ):
            if needle in lowered:
                return words
        return "connection failed"
    status = getattr(err, "status_code", None)
    if status in (401, 403):
        return f"HTTP {status}: the server wants a valid API key; set WEAVIATE_API_KEY or weaviate.api_key"
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return first if len(first) <= 200 else first[:197] + "..."
