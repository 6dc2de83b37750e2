"""The test suite: fast hashing, in-memory cache and mail, eager tasks unless a test opts out."""

from __future__ import annotations

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-that-is-only-used-by-the-test-suite-0123456789"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Custom field definitions: their own store, which the tests clearing the default cache keep.
CACHES["customfields"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "customfields"}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None  # type: ignore[assignment]  # base.py's Path, unset here; nothing is collected in tests; WhiteNoise serves from the finders
WHITENOISE_USE_FINDERS = True
# A signing key made for this test run only: nothing secret is committed.
from iam.oidc.keys import generate_private_key_pem  # noqa: E402

IDP_OIDC_PRIVATE_KEY = generate_private_key_pem()
