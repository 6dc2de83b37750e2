"""Benchmarks (`make bench`): production-like (DEBUG off, real templates, no query logging) on loopback.

No TLS redirect or secure cookies, because the harness talks plain HTTP to 127.0.0.1; a
``Server-Timing`` header reports the time the request spent inside Django.
"""

from __future__ import annotations

from config.env import env_str

from .base import *  # noqa: F403
from .base import IDP_OIDC_PRIVATE_KEY, MIDDLEWARE

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]
# The product's URLs plus the benchmark's hand-written comparison views (bench/urls.py).
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
if not IDP_OIDC_PRIVATE_KEY:
    from iam.oidc.keys import generate_private_key_pem

    IDP_OIDC_PRIVATE_KEY = generate_private_key_pem()
