"""A local fake portrait comparison service (a thread HTTP server on
loopback) for the http matcher's tests: its answers are set by the test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeMatcher:
    """``mode``: "score" (answers ``score``), "no_reference", "error" (503),
    "bad" (not JSON), "slow" (sleeps ``delay`` seconds first), "reject" (400)."""

    def __init__(self) -> None:
        self.mode = "score"
        self.score = 0.95
        self.delay = 0.0
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                mode = fake.mode
                if mode == "slow":
                    time.sleep(fake.delay)
                    mode = "score"
                if mode == "error":
                    self._send(503, b'{"error": "down"}')
                elif mode == "reject":
                    self._send(400, b'{"error": "bad request"}')
                elif mode == "bad":
                    self._send(200, b"<html>not json</html>")
                elif mode == "no_reference":
                    self._send(200, b'{"result": "no_reference"}')
                else:
                    self._send(200, json.dumps({"score": fake.score}).encode())

            def _send(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/compare"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeMatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
