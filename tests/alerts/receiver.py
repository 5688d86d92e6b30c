"""A real webhook receiver on a free local port: it checks each delivery's signature with the
webhook's secret, and can be told to fail its first deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURE_BODY = b"internal: db-primary.corp 10.0.0.5 password=hunter2"


@dataclass
class Receiver:
    url: str = ""
    secret: str = ""
    fail_first: int = 0
    calls: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # verified deliveries, in order
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: Any) -> bool:
        timestamp = headers.get("X-Covey-Timestamp", "")
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        return bool(timestamp) and hmac.compare_digest(expected, headers.get("X-Covey-Signature", ""))


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.calls += 1
                failing = state.calls <= state.fail_first
                if not failing:
                    if state.verify(body, self.headers):
                        state.received.append(json.loads(body))
                    else:
                        state.rejected += 1
            # A failure answers with a body of its own, which no delivery log may keep.
            answer = FAILURE_BODY if failing else b""
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
