"""The business-email rule registration shares with lead invitations.

Until the Invitations part lands on main, a minimal stand-in with the same contract keeps
registration working; the real ``invitations.email_domains`` replaces it on merge.
"""

from __future__ import annotations

try:
    from invitations.email_domains import EmailQualification, qualify_business_email
except ImportError:  # pragma: no cover - replaced once invitations.email_domains is on main
    from dataclasses import dataclass

    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    @dataclass(frozen=True)
    class EmailQualification:  # type: ignore[no-redef]
        qualified: bool
        code: str
        reason: str

    _WEBMAIL = {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "gmx.de"}
    _DISPOSABLE = {"mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "trashmail.com"}

    def qualify_business_email(email: str) -> EmailQualification:  # type: ignore[misc]
        try:
            validate_email(email)
        except ValidationError:
            return EmailQualification(False, "malformed", "This is not a valid email address.")
        domain = email.rsplit("@", 1)[-1].lower()
        if domain in _WEBMAIL:
            return EmailQualification(False, "webmail", "Use your work address, not a personal webmail address.")
        if domain in _DISPOSABLE:
            return EmailQualification(False, "disposable", "Disposable email addresses cannot be used.")
        return EmailQualification(True, "ok", "")


__all__ = ["EmailQualification", "qualify_business_email"]
