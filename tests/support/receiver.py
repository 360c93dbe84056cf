"""A real HTTP receiver for apprise's JSON webhook (`json://127.0.0.1:PORT/PATH`): it keeps
every message it gets, answers `status`, and can hang until released (`gate`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support.servers import HANG_GUARD, wait_for


class Receiver:
    """Messages (path, JSON body) in the order they came."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.status = status
        self.gate = threading.Event()
        if not hang:
            self.gate.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                owner.messages.append((self.path, json.loads(self.rfile.read(size) or b"{}")))
                owner.gate.wait(HANG_GUARD)
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook") -> str:
        """apprise's URL for this receiver (plain HTTP)."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def kinds(self, path: str | None = None) -> list[str]:
        """Each message's first word of its title after `tfhook` (failing, recovered...)."""
        return [body["title"].split()[1].rstrip(":") for at, body in self.messages
                if path is None or at.startswith(f"/{path}")]

    def wait(self, count: int, path: str | None = None) -> list[str]:
        wait_for(lambda: len(self.kinds(path)) >= count, what=f"{count} notification(s)")
        return self.kinds(path)

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(HANG_GUARD)
