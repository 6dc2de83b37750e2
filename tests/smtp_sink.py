"""A real SMTP server for tests and benchmarks: aiosmtpd on 127.0.0.1, in a background thread.

The application sends through Django's real SMTP backend into it, so the whole sending path
runs (connection, MAIL/RCPT/DATA, MIME encoding). Reuse it with the ``smtp_sink`` fixture
(the server) or ``smtp_mail`` (the server, with Django's email settings pointed at it), both
registered in ``tests/conftest.py``; a benchmark or a worker in another process just needs
``sink.host`` and ``sink.port``.

It advertises PIPELINING (RFC 2920), as production mail servers do; ``pipelining=False``
makes it a server that does not, for the plain path.

It keeps what it accepted: ``sink.messages`` (parsed, unless ``keep_messages=False`` for a
100,000-message benchmark) and ``sink.count_by_recipient`` (always). ``sink.hold_after(n)``
makes it stop answering DATA after ``n`` accepted messages until ``sink.release()``, so a
test can stop a sender at a known point; a message whose sender went away while held is
discarded, as a mail server discards a message it never confirmed with "250".
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class SunkMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def _advertise_pipelining(session, hostname: str, responses: list[str]) -> list[str]:
    """aiosmtpd reads commands in order from its buffer but does not say so: say PIPELINING, as Postfix does."""
    session.host_name = hostname
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        self.sink.greetings += 1
        if not self.sink.pipelining:
            session.host_name = hostname
            return responses
        return _advertise_pipelining(session, hostname, responses)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if b"DATA\r\n" in server._reader._buffer:  # the client sent DATA before our reply to RCPT
            self.sink.pipelined += 1
        if address.lower() in self.sink.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        sink = self.sink
        if sink._hold_after is not None and sink.accepted >= sink._hold_after:
            sink.holding.set()
            while not sink._released.is_set():
                await asyncio.sleep(0.005)
            if server.transport is None or server.transport.is_closing():
                return "421 Sender gone, message discarded"
        sink._store(envelope)
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SmtpSink:
    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, *, keep_messages: bool = True, pipelining: bool = True
    ) -> None:
        self.host = host
        self.pipelining = pipelining
        self.refuse: set[str] = set()  # recipients answered "550 No such mailbox"
        self.pipelined = 0  # RCPT commands that arrived with the DATA after them, before their reply
        self.greetings = 0  # EHLOs: one per SMTP session
        self.port = port or _free_port(host)
        self.keep_messages = keep_messages
        self.messages: list[SunkMessage] = []
        self.count_by_recipient: Counter[str] = Counter()
        self.accepted = 0
        self.holding = threading.Event()
        self._released = threading.Event()
        self._hold_after: int | None = None
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port, ready_timeout=10)

    # --- lifecycle ---
    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        with contextlib.suppress(Exception):
            self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what arrived ---
    def _store(self, envelope) -> None:
        with self._lock:
            self.accepted += 1
            for rcpt in envelope.rcpt_tos:
                self.count_by_recipient[rcpt.lower()] += 1
            if self.keep_messages:
                parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                self.messages.append(SunkMessage(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))

    def to(self, address: str) -> list[SunkMessage]:
        address = address.lower()
        return [m for m in list(self.messages) if address in (r.lower() for r in m.rcpt_tos)]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.count_by_recipient.clear()
            self.accepted = 0

    def wait_for(self, count: int, *, timeout: float = 20.0) -> bool:
        """Block until ``count`` messages were accepted (polling, bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepted >= count:
                return True
            time.sleep(0.02)
        return self.accepted >= count

    # --- stopping a sender at a known point ---
    def hold_after(self, count: int) -> None:
        self._released.clear()
        self.holding.clear()
        self._hold_after = count

    def release(self) -> None:
        self._hold_after = None
        self._released.set()


# --- several processes on one port, for benchmarks ---------------------------------------------


class _ReusePortController(Controller):
    """Listens with SO_REUSEPORT, so sibling processes share the port (the kernel spreads connections)."""

    def _create_server(self):
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context, reuse_port=True
        )

    def _trigger_server(self) -> None:
        # A test connection could land on a sibling process; build our protocol factory directly.
        self._factory_invoker()


class _CountingHandler:
    def __init__(self, accepted) -> None:
        self.accepted = accepted
        self.counts: Counter[str] = Counter()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        return _advertise_pipelining(session, hostname, responses)

    async def handle_DATA(self, server, session, envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            self.counts[rcpt.lower()] += 1
        with self.accepted.get_lock():
            self.accepted.value += 1
        return "250 Message accepted for delivery"


def _sink_process(host: str, port: int, accepted, ready, stop, results) -> None:
    handler = _CountingHandler(accepted)
    controller = _ReusePortController(handler, hostname=host, port=port, ready_timeout=30)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.put(dict(handler.counts))


class SmtpSinkPool:
    """The sink as ``processes`` processes on one port: an SMTP server that is not the benchmark's bottleneck.

    Counts only (no messages kept): ``accepted`` live, ``count_by_recipient`` after ``stop()``.
    """

    def __init__(self, processes: int = 2, host: str = "127.0.0.1") -> None:
        import multiprocessing

        self._mp = multiprocessing.get_context("spawn")
        self.host = host
        self.port = _free_port(host)
        self.processes = processes
        self._accepted = self._mp.Value("q", 0)
        self._stop = self._mp.Event()
        self._results = self._mp.Queue()
        self._workers: list = []
        self.count_by_recipient: Counter[str] = Counter()

    @property
    def accepted(self) -> int:
        return self._accepted.value

    def start(self) -> SmtpSinkPool:
        for _ in range(self.processes):
            ready = self._mp.Event()
            process = self._mp.Process(
                target=_sink_process,
                args=(self.host, self.port, self._accepted, ready, self._stop, self._results),
                daemon=True,
            )
            process.start()
            if not ready.wait(60):
                self.stop()
                raise RuntimeError("an SMTP sink process did not start")
            self._workers.append(process)
        return self

    def stop(self) -> None:
        self._stop.set()
        for _ in self._workers:
            try:
                self.count_by_recipient.update(self._results.get(timeout=30))
            except Exception:  # noqa: BLE001, S112 - a sink process that died has no counts to give
                continue
        for process in self._workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self._workers = []
