"""Signed links a registrant follows from an email: answer an information request, or continue
a registration with an existing sign-in. Each names one request and its email address; the
request's status makes a used link inert (an answered request no longer takes answers), and
an answer link also names the question it answers, so it stays dead when staff ask again.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_RESPOND = "registrations.respond"
_CONTINUE = "registrations.continue"


def _dump(salt: str, registration, **extra: str) -> str:
    return signing.dumps({"r": registration.pk, "e": registration.email, **extra}, salt=salt, compress=True)


def _load_data(salt: str, token: str, max_age_days: int) -> dict | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age_days * 86400)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        return None
    return data


def _load(salt: str, token: str, max_age_days: int) -> tuple[int, str] | None:
    data = _load_data(salt, token, max_age_days)
    return None if data is None else (data["r"], str(data.get("e", "")))


def _question(registration) -> str:
    asked = registration.info_requested_at
    return asked.isoformat() if asked else ""


def respond_token(registration) -> str:
    return _dump(_RESPOND, registration, q=_question(registration))


def respond_token_load(token: str) -> tuple[int, str, str] | None:
    """(request id, email, which question) — the view compares the question with the request's."""
    data = _load_data(_RESPOND, token, settings.REGISTRATIONS_INFO_LINK_DAYS)
    return None if data is None else (data["r"], str(data.get("e", "")), str(data.get("q", "")))


def respond_token_answers(registration, question: str) -> bool:
    return question == _question(registration)


def continue_token(registration) -> str:
    return _dump(_CONTINUE, registration)


def continue_token_load(token: str) -> tuple[int, str] | None:
    from allauth.account import app_settings

    return _load(_CONTINUE, token, app_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS)
