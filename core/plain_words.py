"""What people read instead of developer vocabulary (#15).

Audit action codes become sentences, audit data becomes labelled values without internal ids,
API scopes become "Contacts (read)", and browsers' user-agent strings become "Chrome on Linux".
The codes themselves stay in the database, the API and the CSV export, where integrators want them.
"""

from __future__ import annotations

import re
from typing import Any

# Sentences for the actions people meet most; every other code is read out of its own words.
AUDIT_SENTENCES: dict[str, str] = {
    "iam.membership.created": "User added",
    "iam.membership.roles_changed": "Roles changed",
    "iam.membership.suspended": "User suspended",
    "iam.membership.reactivated": "User reactivated",
    "iam.membership.removed": "User removed",
    "iam.account.left_without_admin": "No active admin left",
    "iam.user.created": "Sign-in created",
    "iam.user.signed_in": "Signed in",
    "iam.user.sign_in_failed": "Sign-in failed",
    "iam.user.signed_out": "Signed out",
    "iam.profile.updated": "Profile updated",
    "invitations.invitation.created": "Invitation created",
    "invitations.invitation.sent": "Invitation sent",
    "invitations.invitation.resent": "Invitation sent again",
    "invitations.invitation.accepted": "Invitation accepted",
    "invitations.invitation.revoked": "Invitation withdrawn",
    "invitations.invitation.expired": "Invitation expired",
    "invitations.batch.started": "Batch invitation started",
    "invitations.batch.finished": "Batch invitation finished",
    "registrations.registration.submitted": "Registration submitted",
    "registrations.registration.approved": "Registration approved",
    "registrations.registration.rejected": "Registration rejected",
    "registrations.registration.info_requested": "More information asked of a registrant",
    "registrations.registration.info_provided": "Registrant answered a question",
    "crm.contact.reconfirmed": "Contact confirmed their details",
    "crm.lead.registered": "Lead registered in the portal",
}

# Keys whose values are internal ids: meaningless to a reader (the row already names its target).
_ID_KEYS = {"account", "contact", "lead", "invitation", "registration", "membership", "batch", "user_id", "id"}

DETAIL_LABELS: dict[str, str] = {
    "user_created": "New sign-in",
    "email": "Email",
    "user": "User",
    "roles": "Roles",
    "before": "Before",
    "after": "After",
    "via": "Through",
    "invited_by": "Invited by",
    "decision": "Decision",
    "reason": "Reason",
    "admin_confirmation": "Admin confirms",
    "requested_at": "Asked on",
    "score": "Lead score",
    "business_id": "Business ID",
}

_WORDS = re.compile(r"[_\-]+")


def _words(code: str) -> str:
    return _WORDS.sub(" ", code).strip()


def audit_sentence(action: str) -> str:
    """``invitations.invitation.sent`` → "Invitation sent"."""
    if action in AUDIT_SENTENCES:
        return AUDIT_SENTENCES[action]
    parts = action.split(".")
    if len(parts) >= 3:
        return f"{_words(parts[-2])} {_words(parts[-1])}".capitalize()
    return _words(action).capitalize()


def _value(value: Any, *, listed: bool = False) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value in (None, ""):
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v, listed=True) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{_words(str(k))}: {_value(v)}" for k, v in value.items()) or "—"
    text = str(value)
    # Role and status keys ("org_admin") read as words; addresses, dates and names stay as they are.
    if re.fullmatch(r"[a-z]+(_[a-z]+)+" if not listed else r"[a-z]+(_[a-z]+)*", text):
        return _words(text).capitalize()
    return text


def audit_details(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Labelled values of an event's data, internal ids left out."""
    rows = []
    for key, value in sorted((data or {}).items()):
        if key in _ID_KEYS or key.endswith("_id") or key.endswith("_pk"):
            continue
        rows.append((DETAIL_LABELS.get(key, _words(key).capitalize()), _value(value)))
    return rows


def scope_label(scope: str) -> str:
    """``contacts:read`` → "Contacts (read)"; ``contacts:write`` → "Contacts (read and change)"."""
    from api.scopes import RESOURCES, WRITE

    resource, _, access = scope.partition(":")
    name = RESOURCES.get(resource, _words(resource).capitalize())
    return f"{name} ({'read and change' if access == WRITE else 'read'})"


_BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def user_agent_label(user_agent: str | None) -> str:
    """ "Chrome on Linux", "Safari on iPhone"; "Unknown browser" when it cannot tell."""
    agent = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(agent)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(agent)), "")
    if "HeadlessChrome" in agent:
        browser = "Chrome (headless)"
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "A program" if agent else "Unknown browser"
