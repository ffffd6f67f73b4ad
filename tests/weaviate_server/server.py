"""A loopback HTTP server that speaks Weaviate's REST protocol (from its OpenAPI spec).

Routes: `/v1/meta`, `/v1/.well-known/{ready,live,openid-configuration}`,
`/v1/nodes`, `/v1/schema` (GET/POST, class GET/DELETE), `/v1/batch/objects`
(POST; DELETE with a `where` filter), `/v1/objects` (POST, GET list) and
`/v1/objects/{class}/{id}` (GET/PUT/DELETE/HEAD), `/v1/graphql` (Get, Aggregate).

`Faults` injects failures: non-200 answers, replies slower than a client's
timeout, dropped connections, per-object rejections, latency on every request;
`restart()` stops listening and comes back on the same port with the same data.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

from . import graphql
from .state import QUERY_MAXIMUM_RESULTS, BodyParseError, WeaviateError, WeaviateState, capitalize_class, parse_vector

ObjectRejecter = Callable[[dict[str, Any]], str | None]


@dataclass
class _Rule:
    method: str
    path_prefix: str
    remaining: int | None  # None: forever
    action: str  # "status" | "delay" | "drop" | "raw"
    status: int = 500
    message: str = "internal server error"
    seconds: float = 0.0
    body: bytes = b""
    truncate: bool = False


@dataclass
class Faults:
    """Failures to inject; each rule applies to requests matching its method and path prefix."""

    _rules: list[_Rule] = field(default_factory=list)
    _rejecters: list[ObjectRejecter] = field(default_factory=list)
    latency_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_requests(
        self,
        count: int | None = 1,
        *,
        status: int = 500,
        message: str = "internal server error",
        method: str = "POST",
        path: str = "/v1/batch/objects",
    ) -> None:
        """Answer the next `count` matching requests with `status` and an ErrorResponse body."""
        with self._lock:
            self._rules.append(_Rule(method, path, count, "status", status=status, message=message))

    def delay_requests(
        self, seconds: float, count: int | None = 1, *, method: str = "POST", path: str = "/v1/batch/objects"
    ) -> None:
        """Hold the next `count` matching requests for `seconds` before answering."""
        with self._lock:
            self._rules.append(_Rule(method, path, count, "delay", seconds=seconds))

    def drop_requests(self, count: int | None = 1, *, method: str = "POST", path: str = "/v1/batch/objects") -> None:
        """Close the connection of the next `count` matching requests without answering."""
        with self._lock:
            self._rules.append(_Rule(method, path, count, "drop"))

    def answer_raw(
        self,
        body: bytes,
        count: int | None = 1,
        *,
        status: int = 200,
        truncate: bool = False,
        method: str = "POST",
        path: str = "/v1/batch/objects",
    ) -> None:
        """Answer the next `count` matching requests with `body` as JSON (malformed, wrong shape, enormous);
        `truncate` announces the whole length but hangs up halfway."""
        with self._lock:
            self._rules.append(_Rule(method, path, count, "raw", status=status, body=body, truncate=truncate))

    def reject_objects(self, rejecter: ObjectRejecter) -> None:
        """Reject every object (batch or single) for which `rejecter` returns a message."""
        with self._lock:
            self._rejecters.append(rejecter)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rejecters.clear()
            self.latency_s = 0.0

    def take(self, method: str, path: str) -> list[_Rule]:
        """The rules that fire for this request, consuming one use of each."""
        fired = []
        with self._lock:
            for rule in list(self._rules):
                if rule.method == method and path.startswith(rule.path_prefix):
                    fired.append(rule)
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
        return fired

    def rejection(self, body: dict[str, Any]) -> str | None:
        with self._lock:
            rejecters = list(self._rejecters)
        for rejecter in rejecters:
            message = rejecter(body)
            if message:
                return message
        return None


@dataclass
class RequestRecord:
    method: str
    path: str
    objects: int = 0
    query: str = ""
    graphql: str = ""  # the GraphQL query a POST /v1/graphql asked


_NEW_NODE = re.compile(r"new node has a vector with length (\d+)\. Existing nodes have vectors with length (\d+)")


def _batch_vector_error(message: str, length_before: int | None, state: WeaviateState, class_name: str) -> str:
    """Weaviate checks a vector's length against the index's only once the index had vectors before
    the batch; a length set by an earlier object of the same batch shows up as the HNSW distancer's error."""
    found = _NEW_NODE.search(message)
    if found is None or length_before is not None:
        return message
    doc_id = len(state.objects.get(class_name, {}))
    return (
        f"insert to vector index: insert doc id {doc_id} to vector index: find and connect neighbors: at level 0: "
        "pick entrypoint at level beginning: calculate distance between insert node and entrypoint: "
        f"vector lengths don't match: {found.group(2)} vs {found.group(1)}"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits
    # for the client's delayed ACK (~40 ms a request), which no Weaviate does.
    disable_nagle_algorithm = True
    server: "_HTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logs
        return

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        owner.request_started()
        try:
            self._handle(method)
        finally:
            owner.request_finished()

    def _handle(self, method: str) -> None:
        parsed = urlparse(self.path)
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        with owner.work_lock:
            raw = self.rfile.read(length) if length else b""
        record = RequestRecord(method, parsed.path, query=parsed.query)
        owner.record(record)
        if owner.faults.latency_s:
            time.sleep(owner.faults.latency_s)
        for rule in owner.faults.take(method, parsed.path):
            if rule.action == "delay":
                owner.stopping.wait(rule.seconds)
            elif rule.action == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            elif rule.action == "status":
                self._send(rule.status, {"error": [{"message": rule.message}]})
                return
            elif rule.action == "raw":
                self._send_raw(rule.status, rule.body, rule.truncate)
                return
        with owner.work_lock:
            self._answer(method, parsed.path, parsed.query, raw, record)

    def _answer(self, method: str, path: str, query: str, raw: bytes, record: RequestRecord) -> None:
        owner = self.server.owner
        try:
            body = _decode_body(path, raw) if raw else None
        except (orjson.JSONDecodeError, BodyParseError) as err:
            # go-swagger's answer when the body does not decode into the route's Go types.
            self._send(422, {"code": 602, "message": f'parsing body body from "" failed, because {err}'})
            return
        if owner.api_key and not path.startswith("/v1/.well-known/"):
            if self.headers.get("Authorization") != f"Bearer {owner.api_key}":
                # Weaviate's API-key auth answers 401 with an ErrorResponse.
                self._send(401, {"error": [{"message": "unauthorized: invalid api key"}]})
                return
        elif self.headers.get("Authorization", "").startswith("Bearer ") and not path.startswith("/v1/.well-known/"):
            # Weaviate with anonymous access only (no API keys, no OIDC) refuses any bearer token.
            self._send(401, {"code": 401, "message": "oidc auth is not configured, please try another auth scheme "
                                                     "or set up weaviate with OIDC configured"})
            return
        try:
            status, payload = owner.route(method, path, parse_qs(query), body, record)
        except WeaviateError as err:
            status, payload = err.status, {"error": [{"message": err.message}]}
        self._send(status, payload)

    def _send(self, status: int, payload: Any) -> None:
        # float32 vectors (numpy) are written in their shortest form, as Go writes a float32.
        data = b"" if payload is None else orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_raw(self, status: int, data: bytes, truncate: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncate else data)
        if truncate:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: "WeaviateTestServer") -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def drop_connections(self) -> None:
        """Hang up on every client, as a server that goes down does (keep-alive ones included)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-request are part of the faults we test.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class WeaviateTestServer:
    """Start with `start()` (or as a context manager); `url` is where clients connect."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auto_schema: bool = False,
        api_key: str | None = None,
        modules: tuple[str, ...] = (),
        nodes: int = 1,
        version: str = "1.25.4",
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.state = WeaviateState(auto_schema=auto_schema, modules=frozenset(modules), nodes=nodes, version=version)
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests handled at once (shows client-side parallelism)
        self.stopping = threading.Event()
        # Requests wait (latency, delays) side by side but compute one at a time: Python
        # threads would only take turns on the GIL, and a thread waiting for the GIL between
        # the reads of a large body stalls far longer than it waits here.
        self.work_lock = threading.Lock()
        self._requests_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "WeaviateTestServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "WeaviateTestServer":
        self.stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="weaviate-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and release held (delayed) requests; the data stays."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.drop_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def restart(self, downtime_s: float = 0.0) -> None:
        """Go away for `downtime_s` and come back on the same port with the same data."""
        self.stop()
        if downtime_s:
            time.sleep(downtime_s)
        self.start()

    def request_started(self) -> None:
        with self._requests_lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def request_finished(self) -> None:
        with self._requests_lock:
            self.in_flight -= 1

    def record(self, record: RequestRecord) -> None:
        with self._requests_lock:
            self.requests.append(record)

    def requests_to(self, method: str, path: str) -> list[RequestRecord]:
        with self._requests_lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # -- routes ---------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, record: RequestRecord
    ) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != "v1":
            return 404, None
        parts = parts[1:]
        if parts == [".well-known", "ready"] or parts == [".well-known", "live"]:
            return 200, None
        if parts == [".well-known", "openid-configuration"]:
            return 404, None  # no OIDC configured, as a default Weaviate answers
        if method == "GET" and parts == ["meta"]:
            modules = {name: {"name": name, "stand_in": True} for name in sorted(self.state.modules)}
            return 200, {"hostname": f"http://[::]:{self.port}", "version": self.state.version, "modules": modules}
        if method == "GET" and parts == ["nodes"]:
            return 200, self._nodes()
        if parts[:1] == ["schema"]:
            return self._schema(method, parts[1:], body)
        if parts == ["batch", "objects"]:
            if method == "POST":
                return self._batch_create(body, record)
            if method == "DELETE":
                return self._batch_delete(body)
        if parts[:1] == ["objects"]:
            return self._objects(method, parts[1:], query, body, record)
        if method == "POST" and parts == ["graphql"]:
            record.graphql = str((body or {}).get("query", ""))
            return 200, graphql.execute(self.state, record.graphql)
        return 404, None

    def _nodes(self) -> dict[str, Any]:
        with self.state.lock:
            count = sum(len(b) for b in self.state.objects.values())
            shards = len(self.state.classes)
        return {
            "nodes": [
                {
                    "name": "node1",
                    "status": "HEALTHY",
                    "version": self.state.version,
                    "gitHash": "test",
                    "stats": {"shardCount": shards, "objectCount": count},
                    "batchStats": {"queueLength": 0, "ratePerSecond": 0},
                }
            ]
        }

    def _schema(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if not rest:
            if method == "GET":
                return 200, self.state.schema()
            if method == "POST":
                if not isinstance(body, dict):
                    raise WeaviateError(422, "invalid class: body must be an object")
                return 200, self.state.create_class(body)
        elif len(rest) == 1:
            if method == "GET":
                with self.state.lock:
                    cls = self.state.classes.get(capitalize_class(rest[0]))
                return (200, cls) if cls is not None else (404, None)
            if method == "DELETE":
                self.state.delete_class(rest[0])
                return 200, None
        elif len(rest) == 2 and rest[1] == "properties" and method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                raise WeaviateError(422, "invalid property: body must be an object with a name")
            return 200, self.state.add_property(rest[0], body)
        return 404, None

    def _object_response(self, class_name: str, object_id: str, properties: dict[str, Any], vector: Any, error: str | None) -> dict[str, Any]:
        stored = self.state.get(class_name, object_id) if error is None else None
        body: dict[str, Any] = {
            "class": class_name,
            "id": object_id,
            "properties": properties,
            "creationTimeUnix": stored.created if stored else 0,
            "lastUpdateTimeUnix": stored.updated if stored else 0,
        }
        if vector is not None:
            body["vector"] = vector
        if error is None:
            body["result"] = {"status": "SUCCESS"}
        else:
            body["result"] = {"status": "FAILED", "errors": {"error": [{"message": error}]}}
        return body

    def _batch_create(self, body: Any, record: RequestRecord) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
            raise WeaviateError(422, "invalid batch: body must contain an objects array")
        record.objects = len(body["objects"])
        out = []
        lengths_before: dict[str, int | None] = {}  # each class's vector length when the batch began
        for obj in body["objects"]:
            obj = obj if isinstance(obj, dict) else {}
            class_name = capitalize_class(str(obj.get("class", "")))
            object_id = str(obj.get("id", ""))
            error = self.faults.rejection(obj)
            if error is None:
                try:
                    if class_name not in lengths_before and class_name in self.state.classes:
                        lengths_before[class_name] = self.state.vector_length(class_name)
                    class_name, object_id, properties, vector = self.state.validate(obj)
                    self.state.put(class_name, object_id, properties, vector)
                except WeaviateError as err:
                    error = _batch_vector_error(err.message, lengths_before.get(class_name), self.state, class_name)
            out.append(
                self._object_response(class_name, object_id, obj.get("properties") or {}, obj.get("vector"), error)
            )
        return 200, out

    def _batch_delete(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("match"), dict):
            raise WeaviateError(422, "invalid batch delete: match is required")
        match = body["match"]
        class_name = capitalize_class(str(match.get("class", "")))
        where = match.get("where")
        if not where:
            raise WeaviateError(422, "validate: invalid 'where' filter: filter cannot be empty")
        self.state.get_class(class_name)
        output = body.get("output", "minimal")
        dry_run = bool(body.get("dryRun", False))
        with self.state.lock:
            matched = self.state.select(class_name, where)
            matched.sort(key=lambda o: o.id)
            chosen = matched[:QUERY_MAXIMUM_RESULTS]
            if not dry_run:
                for obj in chosen:
                    self.state.delete(class_name, obj.id)
        results: dict[str, Any] = {
            "matches": len(chosen),
            "limit": QUERY_MAXIMUM_RESULTS,
            "successful": 0 if dry_run else len(chosen),
            "failed": 0,
        }
        if output == "verbose":
            results["objects"] = [{"id": o.id, "status": "DRYRUN" if dry_run else "SUCCESS"} for o in chosen]
        return 200, {"match": match, "output": output, "dryRun": dry_run, "results": results}

    def _objects(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: Any, record: RequestRecord
    ) -> tuple[int, Any]:
        include_vector = "vector" in ",".join(query.get("include", []))
        if not rest:
            if method == "POST":
                if not isinstance(body, dict):
                    raise WeaviateError(422, "invalid object: body must be an object")
                record.objects = 1
                rejection = self.faults.rejection(body)
                if rejection:
                    raise WeaviateError(422, rejection)
                class_name, object_id, properties, vector = self.state.validate(body)
                if self.state.get(class_name, object_id) is not None:
                    raise WeaviateError(422, f"id '{object_id}' already exists")
                stored = self.state.put(class_name, object_id, properties, vector)
                return 200, stored.as_json()
            if method == "GET":
                class_name = (query.get("class") or [""])[0]
                limit = int((query.get("limit") or ["25"])[0])
                objs = self.state.all_objects(class_name) if class_name else [
                    o for c in list(self.state.classes) for o in self.state.all_objects(c)
                ]
                objs.sort(key=lambda o: o.id)
                return 200, {
                    "objects": [o.as_json(include_vector) for o in objs[:limit]],
                    "totalResults": min(limit, len(objs)),
                    "deprecations": [],
                }
            return 405, None
        if len(rest) == 1:  # the deprecated /objects/{id} form
            obj = self.state.find_by_id(rest[0])
            if obj is None or method not in ("GET", "HEAD"):
                return 404, None
            return (200, obj.as_json(include_vector)) if method == "GET" else (204, None)
        class_name, object_id = capitalize_class(rest[0]), rest[1]
        if method in ("GET", "HEAD"):
            obj = self.state.get(class_name, object_id)
            if obj is None:
                return 404, None
            return (200, obj.as_json(include_vector)) if method == "GET" else (204, None)
        if method == "DELETE":
            return (204, None) if self.state.delete(class_name, object_id) else (404, None)
        if method == "PUT":
            if not isinstance(body, dict):
                raise WeaviateError(422, "invalid object: body must be an object")
            record.objects = 1
            body = {**body, "class": class_name, "id": object_id}
            rejection = self.faults.rejection(body)
            if rejection:
                raise WeaviateError(422, rejection)
            if self.state.get(class_name, object_id) is None:
                return 404, None
            class_name, object_id, properties, vector = self.state.validate(body)
            stored = self.state.put(class_name, object_id, properties, vector)
            return 200, stored.as_json()
        return 405, None


def _decode_body(path: str, raw: bytes) -> Any:
    """The JSON body, with object vectors decoded as Weaviate's `[]float32` (a failure fails the request)."""
    body = orjson.loads(raw)
    if path == "/v1/batch/objects" and isinstance(body, dict) and isinstance(body.get("objects"), list):
        for obj in body["objects"]:
            if isinstance(obj, dict) and "vector" in obj:
                obj["vector"] = parse_vector(obj["vector"], "Object.objects.vector")
    elif path.startswith("/v1/objects") and isinstance(body, dict) and "vector" in body:
        body["vector"] = parse_vector(body["vector"], "Object.vector")
    return body


def main() -> None:
    """Run standalone: `python -m tests.weaviate_server --port 8080`."""
    import argparse

    parser = argparse.ArgumentParser(description="Weaviate REST protocol test server (in memory).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    # The Weaviate binary's own flag: Weaviate Embedded starts it with `--scheme http`.
    parser.add_argument("--scheme", choices=("http",), default="http")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request (stands in for a real server's work)")
    args = parser.parse_args()
    server = WeaviateTestServer(args.host, args.port).start()
    server.faults.latency_s = args.latency_ms / 1000
    print(f"Weaviate test server listening on {server.url} (in memory; Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
