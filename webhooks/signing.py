"""Signatures in the manner of the Standard Webhooks specification (standardwebhooks.com).

The receiver gets three headers: ``webhook-id`` (the event's id, the same on every retry),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``: ``v1,`` and
the base64 HMAC-SHA256, keyed with the base64-decoded part of the secret after ``whsec_``,
of ``"{webhook-id}.{webhook-timestamp}.{body}"``. Several signatures are separated by
spaces (during a secret rotation both secrets sign).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    content = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secrets: list[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets),
        "content-type": "application/json",
        "user-agent": "Clientele-Webhooks/1.0",
    }
