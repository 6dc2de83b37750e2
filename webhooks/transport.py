"""One HTTP POST to a checked address: no redirects, short timeouts, a capped response read.

urllib3 is used directly, so the request goes to the IP address that
:func:`webhooks.targets.target_resolve` checked (no second DNS lookup), while the Host header,
TLS SNI and certificate check use the endpoint's host name. Proxy variables are not read.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings

from webhooks.targets import Target, UnsafeTarget, target_resolve


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int
    remote_address: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def _pool(target: Target, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    common: dict[str, Any] = {
        "host": str(target.address),
        "port": target.port,
        "timeout": timeout,
        "retries": False,
        "maxsize": 1,
    }
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            **common,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ssl_context=ssl.create_default_context(),
        )
    return urllib3.HTTPConnectionPool(**common)


def _read_capped(response: urllib3.BaseHTTPResponse, *, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of the body, read until ``deadline`` at the latest."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            break
        chunk = response.read(min(1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url`` once. Never raises for network trouble: the result says what went wrong."""
    started = time.monotonic()

    def result(status: int | None = None, excerpt: str = "", error: str = "", address: str = "") -> PostResult:
        return PostResult(
            status_code=status,
            response_excerpt=excerpt,
            error=error[:500],
            duration_ms=int((time.monotonic() - started) * 1000),
            remote_address=address,
        )

    try:
        target = target_resolve(url)
    except UnsafeTarget as exc:
        return result(error=f"Refused: {exc}")
    address = str(target.address)
    total = settings.WEBHOOKS_TIMEOUT_SECONDS
    timeout = urllib3.Timeout(connect=min(settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS, total), read=total)
    pool = _pool(target, timeout)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            # A body that drips in slowly is cut at the deadline: only its status matters.
            raw = _read_capped(response, limit=settings.WEBHOOKS_RESPONSE_MAX_BYTES, deadline=started + total)
        finally:
            response.close()
    except urllib3.exceptions.HTTPError as exc:
        return result(error=f"{type(exc).__name__}: {exc}", address=address)
    except OSError as exc:
        return result(error=f"{type(exc).__name__}: {exc}", address=address)
    finally:
        pool.close()
    excerpt = raw.decode("utf-8", errors="replace")
    error = ""
    if 300 <= response.status < 400:
        error = f"Redirects are not followed (Location: {response.headers.get('Location', '')[:300]})."
    return result(status=response.status, excerpt=excerpt, error=error, address=address)
