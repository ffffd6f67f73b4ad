"""Connecting to Weaviate with the v3 REST client."""

from __future__ import annotations

import ast
import re
import warnings

import requests
import weaviate

from ..settings import WeaviateSettings
from ..display import brief
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
        raise WeaviateUnavailableError(settings.endpoint, short_reason(err, key_sent=auth is not None)) from err


_MAX_PARSED_BODY = 100_000  # a longer reply is a batch's or a query's echo, not an error worth parsing


def weaviate_message(err: BaseException) -> str | None:
    """What Weaviate said in an error reply (`{"error": [{"message"}]}` or `{"message"}`), bounded; None without one.

    The v3 client's own text goes on with the whole reply body (a batch's objects,
    a query's vectors); only Weaviate's message says what went wrong.
    """
    response = getattr(err, "response", None)
    try:
        body = response.json() if response is not None else None
    except ValueError:
        body = None
    if body is None:
        match = re.search(r"with response body: (\{.*\})\.", str(err)[:_MAX_PARSED_BODY], re.S)
        if match is None:
            return None
        try:
            body = ast.literal_eval(match.group(1))  # the client prints the body as a Python dict
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    messages: list[str] = []
    if isinstance(body, dict):
        errors = body.get("error") or body.get("errors")
        if isinstance(errors, list):
            messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:3]]
        elif body.get("message"):
            messages = [str(body["message"])]
    if not messages:
        return None
    return brief("; ".join(m.strip().split("\n", 1)[0] for m in messages))


def short_reason(err: BaseException, key_sent: bool = False) -> str:
    """A few words on why, not urllib3's whole retry chain nor the reply's body.

    `key_sent`: whether the request carried an API key (a refusal then may be of the key itself).
    """
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
    said = weaviate_message(err)
    if status in (401, 403):
        if key_sent:
            return (
                f"HTTP {status}: Weaviate refused the API key acolyte-lsp sent ({said or 'no reason given'}); if this "
                "Weaviate allows anonymous access and takes no keys, unset WEAVIATE_API_KEY and weaviate.api_key, "
                "else check the key"
            )
        return f"HTTP {status}: the server wants a valid API key; set WEAVIATE_API_KEY or weaviate.api_key"
    if status is not None and said is not None:
        return f"HTTP {status}: {said}"
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    first = re.sub(r"with response body: .*", "", first, flags=re.S).rstrip(" ,!.") or type(err).__name__
    return brief(first)
