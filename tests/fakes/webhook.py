"""A small HTTP server on 127.0.0.1 that records every request (method, path, headers, body) and answers with
the status the test queued for it (200 when none), for tests of webhook and Slack channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Webhook:
    port: int
    requests: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to the next requests, in order; then 200

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                hook.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
                status = hook.statuses.pop(0) if hook.statuses else 200
            payload = b"ok" if status < 300 else json.dumps({"error": f"status {status}"}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = Webhook(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
