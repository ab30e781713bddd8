"""A small scripted identity authority for tests, served over real HTTP on loopback.

Use it as a context manager::

    with FakeAuthority(registry={("CN_ID", "110...X"): ("Test Person 1", VALID)}) as fake:
        backend = HttpAuthorityBackend(fake.url, fake.username, fake.password, timeout=0.2)
        fake.fail_next(Failure.ERROR_500, count=2)
        ...
        assert fake.request_count == 3

Behaviour, per request (every request is recorded first):

1. wrong or missing HTTP Basic credentials -> 401;
2. else, if a scripted failure is queued, it is consumed and performed;
3. else the registry answers: unknown key -> ``not_found``; status
   ``revoked`` -> ``revoked``; a different name -> ``mismatch``; else ``match``.

Only synthetic identities belong in the registry.
"""

from __future__ import annotations

import base64
import enum
import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

VALID = "valid"
REVOKED = "revoked"


class Failure(enum.Enum):
    """Ways the fake can misbehave for a scripted number of requests."""

    ERROR_500 = "500"
    ERROR_503 = "503"
    TOO_MANY_REQUESTS = "429"
    SLOW = "slow"  # waits ``slow_delay`` seconds, then answers normally
    MALFORMED_JSON = "malformed_json"
    UNKNOWN_RESULT = "unknown_result"  # valid JSON, result the client must not accept
    CLOSE_CONNECTION = "close"  # reads the request, then hangs up without a reply


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    authorized: bool
    body: dict[str, Any] | None
    failure: Failure | None


@dataclass
class _State:
    username: str
    password: str
    registry: dict[tuple[str, str], tuple[str, str]]
    slow_delay: float
    retry_after: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: deque[Failure] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    serial: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # Silence the default stderr access log; tests inspect ``requests``.
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        authorized = self._authorized(state)
        with state.lock:
            failure = state.failures.popleft() if authorized and state.failures else None
            state.serial += 1
            reference = f"FAKE-{state.serial:06d}"
            state.requests.append(RecordedRequest(self.path, authorized, body, failure))

        if not authorized:
            self._send(401, b'{"error": "unauthorized"}', {"WWW-Authenticate": 'Basic realm="x"'})
            return
        if failure is Failure.ERROR_500:
            self._send(500, b'{"error": "internal"}')
        elif failure is Failure.ERROR_503:
            self._send(503, b'{"error": "maintenance"}')
        elif failure is Failure.TOO_MANY_REQUESTS:
            headers = {"Retry-After": state.retry_after} if state.retry_after else {}
            self._send(429, b'{"error": "slow down"}', headers)
        elif failure is Failure.MALFORMED_JSON:
            self._send(200, b'{"result": "match", "reference": ')
        elif failure is Failure.UNKNOWN_RESULT:
            self._send(200, json.dumps({"result": "probably", "reference": reference}).encode())
        elif failure is Failure.CLOSE_CONNECTION:
            self.close_connection = True
            # Hard reset rather than a polite FIN, like a crashed upstream.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            if failure is Failure.SLOW:
                # An Event, not time.sleep, so stop() can cut the wait short.
                if state.stopping.wait(state.slow_delay):
                    return
            self._answer(state, body, reference)

    def _authorized(self, state: _State) -> bool:
        expected = base64.b64encode(f"{state.username}:{state.password}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def _answer(self, state: _State, body: dict[str, Any] | None, reference: str) -> None:
        if not isinstance(body, dict):
            self._send(400, b'{"error": "bad request"}')
            return
        entry = state.registry.get((body.get("id_type"), body.get("id_number")))
        if entry is None:
            result = "not_found"
        elif entry[1] == REVOKED:
            result = "revoked"
        elif entry[0] != body.get("name"):
            result = "mismatch"
        else:
            result = "match"
        self._send(200, json.dumps({"result": result, "reference": reference}).encode())

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up (timeout) before we answered; nothing to do.
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    # Handler threads must never hold up shutdown (a SLOW one may still wait).
    daemon_threads = True
    block_on_close = False
    state: _State


class FakeAuthority:
    """A threaded loopback HTTP authority with a registry and scripted failures."""

    def __init__(
        self,
        registry: dict[tuple[str, str], tuple[str, str]] | None = None,
        *,
        username: str = "telereg-test",
        password: str = "not-a-real-secret",  # noqa: S107 - test-only credential
        slow_delay: float = 0.5,
        retry_after: str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self._state = _State(
            username=username,
            password=password,
            registry=dict(registry or {}),
            slow_delay=slow_delay,
            retry_after=retry_after,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------

    def start(self) -> FakeAuthority:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.state = self._state
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeAuthority:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- scripting and inspection ----------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeAuthority is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/verify"

    def add(self, id_type: str, id_number: str, name: str, status: str = VALID) -> None:
        with self._state.lock:
            self._state.registry[(id_type, id_number)] = (name, status)

    def fail_next(self, failure: Failure, count: int = 1) -> None:
        """Make the next ``count`` authorized requests fail with ``failure``."""
        with self._state.lock:
            self._state.failures.extend([failure] * count)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def request_count(self) -> int:
        with self._state.lock:
            return len(self._state.requests)
