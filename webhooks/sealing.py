"""Webhook signing secrets at rest: encrypted (Fernet) under a key derived from ``SECRET_KEY``.

Signing needs the secret itself, so it cannot be hashed like an API key; what a database
dump or a read-only SQL account shows is ciphertext instead. The key is derived from
``SECRET_KEY`` with HKDF, so there is no second secret to deploy; rotating ``SECRET_KEY`` the
Django way (the old one in ``SECRET_KEY_FALLBACKS``) keeps every endpoint signing, and an
endpoint's secret is sealed under the new key the next time it is saved.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_INFO = b"clientele webhooks: endpoint signing secrets v1"


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@functools.lru_cache(maxsize=4)
def _keyring(secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in (secret_key, *fallbacks)])


def _current() -> MultiFernet:
    return _keyring(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A webhook signing secret cannot be decrypted: SECRET_KEY changed and the key it was sealed "
            "under is not in SECRET_KEY_FALLBACKS. Put the old key there, or rotate the endpoint's secret."
        ) from None


class SealedSecretField(models.TextField):
    """A text column that holds ``seal(value)``; the model attribute is the plain value.

    Sealing is randomized, so the column cannot be filtered on: nothing looks a secret up.
    """

    def from_db_value(self, value, expression, connection):
        return unseal(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return seal(value) if value else value
