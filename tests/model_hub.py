"""A loopback stand-in for the Hugging Face hub's file URLs (`/{repo}/resolve/main/{file}`)."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path
from types import TracebackType


class ModelHub:
    """Serves one repository's files (a folder, or names → bytes); can cut one file short; counts requests."""

    def __init__(self, repo: str, files: Path | dict[str, bytes]) -> None:
        self.repo = repo
        self.files = files
        self.requests: list[str] = []
        self.truncate: str | None = None  # a file name sent only half-way
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hub.requests.append(self.path)
                body = hub._body(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                size, write = body
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                write(self.wfile, size // 2 if self.path.endswith(str(hub.truncate)) else size)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _body(self, path: str):  # type: ignore[no-untyped-def]
        prefix = f"/{self.repo}/resolve/main/"
        if not path.startswith(prefix):
            return None
        name = path[len(prefix):]
        if isinstance(self.files, dict):
            data = self.files.get(name)
            return None if data is None else (len(data), lambda out, n: out.write(data[:n]))
        file = self.files / name
        if not file.is_file():
            return None

        def send(out, n: int) -> None:  # type: ignore[no-untyped-def]
            with file.open("rb") as f:
                shutil.copyfileobj(f, out) if n == file.stat().st_size else out.write(f.read(n))

        return file.stat().st_size, send

    def __enter__(self) -> ModelHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
