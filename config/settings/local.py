"""Developer laptop: `make run`. Debug on unless told otherwise; mail to the console."""

from __future__ import annotations

from config.env import env_bool, env_list, env_str

from .base import *  # noqa: F403
from .base import IDP_OIDC_PRIVATE_KEY, VAR_DIR

DEBUG = env_bool("DEBUG", True)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
VAR_DIR.mkdir(parents=True, exist_ok=True)
# `make run` serves assets straight from static/ and node_modules, with or without DEBUG.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Passkeys on http://127.0.0.1 during development.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", True)
# OpenID Connect: without IDP_OIDC_PRIVATE_KEY, a key generated on first run under var/ (never committed).
if not IDP_OIDC_PRIVATE_KEY:
    from iam.oidc.keys import development_private_key

    IDP_OIDC_PRIVATE_KEY = development_private_key(VAR_DIR / "oidc-development-key.pem")
# The demo's leads live at *.example, a reserved TLD that cannot receive mail: let them qualify here.
INVITATIONS_ALLOWED_EMAIL_DOMAINS = env_list("INVITATIONS_ALLOWED_EMAIL_DOMAINS", ["example"])
