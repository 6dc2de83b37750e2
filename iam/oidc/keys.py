"""The provider's signing key: from the environment in production, a generated one elsewhere.

Importable from settings: nothing here touches Django's app registry.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_private_key_pem() -> str:
    """A fresh RSA-2048 key (RS256 is what allauth signs with), PEM, unencrypted PKCS#8."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def development_private_key(path: Path) -> str:
    """The key at ``path``, generated there (mode 0600) on first use: for laptops, never committed."""
    if path.exists():
        return path.read_text(encoding="ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key_pem()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(pem)
    try:
        # Two processes starting at once (runserver's reloader, a worker): the first key wins.
        os.link(tmp, path)
    except FileExistsError:
        pem = path.read_text(encoding="ascii")
    finally:
        tmp.unlink()
    return pem


def check_private_key_pem(pem: str) -> None:
    """Raise ValueError unless ``pem`` is an RSA private key in PEM form."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("not a PEM private key without a passphrase") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA key is required (tokens are signed with RS256)")
