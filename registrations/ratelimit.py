"""How many registration forms one client address, and one email address, may send per hour.

Fixed one-hour windows on the shared cache (Redis in production): cheap, and shared by every
web process. allauth's own limits guard sign-in and sign-up; this one guards our form.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

WINDOW_SECONDS = 3600


def _key(kind: str, value: str) -> str:
    window = int(timezone.now().timestamp()) // WINDOW_SECONDS
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"registrations:rl:{kind}:{window}:{digest}"


def _hit(kind: str, value: str, limit: int) -> bool:
    """Count one attempt; True when this one is over the limit."""
    if not value or limit <= 0:
        return False
    key = _key(kind, value)
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count > limit


def registration_attempt_limited(*, ip: str | None, email: str) -> bool:
    over_ip = _hit("ip", ip or "", settings.REGISTRATIONS_RATE_LIMIT_PER_IP)
    over_email = _hit("email", email, settings.REGISTRATIONS_RATE_LIMIT_PER_EMAIL)
    return over_ip or over_email
