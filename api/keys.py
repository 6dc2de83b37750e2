"""Key material: ``clt_<prefix>_<secret>``, a 256-bit secret of which only the SHA-256 is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "clt"
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class KeyParts:
    prefix: str
    secret: str


def new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def hash_secret(secret: str) -> str:
    # A 256-bit random secret needs no slow hash: nobody can guess it, SHA-256 only hides it.
    return hashlib.sha256(secret.encode()).hexdigest()


def format_key(prefix: str, secret: str) -> str:
    return f"{KEY_PREFIX}_{prefix}_{secret}"


def parse_key(raw: str) -> KeyParts | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or len(parts[2]) < 20:
        return None
    return KeyParts(prefix=parts[1], secret=parts[2])


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
