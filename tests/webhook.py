"""A real HTTP server on 127.0.0.1 that receives webhook posts (or hangs on them), for the tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Hook:
    """``Hook(mode="ok" | "hang" | "500")``: ``url``, ``posts`` (each ``{"path", "headers", "body", "json"}``)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posts: list[dict[str, Any]] = []
        self.hanging = 0
        self._release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                hook.posts.append({"path": self.path, "headers": dict(self.headers), "body": body, "json": parsed})
                if hook.mode == "hang":
                    hook.hanging += 1
                    hook._release.wait(120)
                    return
                self.send_response(500 if hook.mode == "500" else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/SECRET-TOKEN"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, pred, timeout: float = 120) -> list[dict[str, Any]]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred(self.posts):
                return self.posts
            time.sleep(0.2)
        raise AssertionError(f"webhook: condition not met in {timeout}s; received {[p['json'] for p in self.posts]}")

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
