"""A webhook receiver written from the Standard Webhooks specification, not from our code.

The spec (standardwebhooks.com, "Verifying webhook signatures"): the signed content is the
``webhook-id``, the ``webhook-timestamp`` and the raw body, joined by full stops; the key is
the base64-decoded secret after its ``whsec_`` prefix; the signature is HMAC-SHA256, base64
encoded and versioned ``v1,``; the header may carry several space-separated signatures, and
the receiver rejects timestamps more than five minutes from now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SignatureInvalid(Exception):
    pass


def verify_from_spec(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> dict:
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (lowered.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures):
        raise SignatureInvalid("missing headers")
    if abs(time.time() - int(stamp)) > tolerance:
        raise SignatureInvalid("timestamp outside the tolerance")
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(value), expected):
            return json.loads(body)
    raise SignatureInvalid("no matching signature")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers from ``responses``."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    # (status, body, extra headers) per request, in order; the last one repeats.
    responses: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=lambda: [(200, b"ok", {})])
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/clientele?source=test"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def wait_for(self, count: int, timeout: float = 20) -> bool:
        """Block until ``count`` requests have arrived (a worker sends them), or the timeout passes."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def answer(self, *responses: int | tuple[int, bytes, dict[str, str]]) -> None:
        self.responses = [r if isinstance(r, tuple) else (r, b"", {}) for r in responses]


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN (slow, and useless here).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            index = len(receiver.requests)
            receiver.requests.append(
                Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            status, payload, extra = receiver.responses[min(index, len(receiver.responses) - 1)]
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            with receiver.arrived:
                receiver.arrived.notify_all()

        def log_message(self, *args) -> None:
            pass

    server = _LoopbackServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server=server)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return receiver


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
