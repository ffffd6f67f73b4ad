"""A loopback HTTP proxy in front of a real Weaviate that keeps a log of the requests, as the stand-in does.

Tests that only read what acolyte-lsp sent (how many batches, which GraphQL, which
consistency level) run against the real server through it instead of skipping.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import orjson

from tests.weaviate_server.server import RequestRecord

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class RecordingProxy:
    """Forwards every request to `target` and records it (`requests`, `requests_to`) like WeaviateTestServer."""

    def __init__(self, target: str) -> None:
        self.target = urlparse(target)
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.record(self.command, self.path, body)
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=300)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    reply = upstream.getresponse()
                    data = reply.read()
                finally:
                    upstream.close()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward  # noqa: N815 - http.server's names

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def record(self, method: str, raw_path: str, body: bytes) -> None:
        parsed = urlparse(raw_path)
        record = RequestRecord(method, parsed.path, query=parsed.query)
        decoded: Any = None
        if body:
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError:
                decoded = None
        if isinstance(decoded, dict):
            if parsed.path == "/v1/batch/objects" and method == "POST":
                record.objects = len(decoded.get("objects") or [])
            elif parsed.path.startswith("/v1/objects") and method in ("POST", "PUT"):
                record.objects = 1  # one object per request
            if parsed.path == "/v1/graphql":
                record.graphql = str(decoded.get("query") or "")
        with self._lock:
            self.requests.append(record)

    def requests_to(self, method: str, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def __enter__(self) -> "RecordingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
