"""The invitation email, HTML and plain text, rendered once and filled in per recipient.

A batch renders the templates once per chunk with placeholders for what differs between
recipients (their name, organisation and link), then substitutes them: the template
engine runs once, not 500 times.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

# Placeholders survive template rendering and HTML escaping unchanged (letters and digits only).
_NAME = "XINVITEENAMEX"
_ORG = "XINVITEEORGX"
_URL = "XINVITEURLX"
_EMAIL = "XINVITEEEMAILX"


@dataclass(frozen=True)
class InvitationEmail:
    subject: str
    text: str
    html: str


def accept_url(token: str) -> str:
    return settings.INVITATIONS_SITE_URL + reverse("invitations:accept", args=[token])


def invitation_email_render(
    *, inviter_name: str, note: str, role_names: list[str], expires_at, is_lead: bool
) -> InvitationEmail:
    context = {
        "company_name": settings.INVITATIONS_COMPANY_NAME,
        "site_url": settings.INVITATIONS_SITE_URL,
        "inviter_name": inviter_name,
        "note": note.strip(),
        "role_names": role_names,
        "expires_at": expires_at,
        "is_lead": is_lead,
        "recipient_name": _NAME,
        "recipient_email": _EMAIL,
        "organisation": _ORG,
        "accept_url": _URL,
    }
    subject = render_to_string("invitations/email/invitation_subject.txt", context)
    return InvitationEmail(
        subject=" ".join(subject.split()),
        text=render_to_string("invitations/email/invitation.txt", context),
        html=render_to_string("invitations/email/invitation.html", context),
    )


def invitation_message(
    rendered: InvitationEmail, *, email: str, name: str, organisation: str, token: str, connection=None
) -> EmailMultiAlternatives:
    url = accept_url(token)
    display_name = name or email

    def fill(text: str, escape) -> str:
        return (
            text.replace(_URL, escape(url))
            .replace(_NAME, escape(display_name))
            .replace(_ORG, escape(organisation))
            .replace(_EMAIL, escape(email))
        )

    message = EmailMultiAlternatives(
        subject=fill(rendered.subject, str),
        body=fill(rendered.text, str),
        to=[email],
        connection=connection,
    )
    message.attach_alternative(fill(rendered.html, html.escape), "text/html")
    return message
