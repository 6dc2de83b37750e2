"""The invitation email, HTML and plain text, rendered once and filled in per recipient.

A batch renders the templates once per chunk with placeholders for what differs between
recipients (their name, organisation and link), then substitutes them: the template
engine runs once, not 500 times. ``InvitationMime`` does the same for the MIME encoding, and
gives the SMTP path (``invitations.smtp``) the bytes to send.
"""

from __future__ import annotations

import html
import re
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
_TOKEN = "XINVITETOKENX"  # noqa: S105 - a placeholder, replaced by each recipient's token


@dataclass(frozen=True)
class InvitationEmail:
    subject: str
    text: str
    html: str


def accept_url(token: str) -> str:
    return settings.SITE_URL + reverse("invitations:accept", args=[token])


def invitation_email_render(
    *, inviter_name: str, note: str, role_names: list[str], expires_at, is_lead: bool
) -> InvitationEmail:
    context = {
        "company_name": settings.INVITATIONS_COMPANY_NAME,
        "site_url": settings.SITE_URL,
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


# --- one MIME serialization per chunk --------------------------------------------------------

_HEADER_NAMES_PER_MESSAGE = (b"subject:", b"to:", b"date:", b"message-id:")
_LINE_LIMIT = 900  # below RFC 5322's 998, with room for the longest substituted value


class InvitationMime:
    """The invitation email serialized to MIME once per chunk; each recipient's copy is a substitution.

    Building MIME with Python's email package costs more than everything else per message.
    The bodies are 8-bit UTF-8 (Django's default for short lines), so the placeholders sit
    in them verbatim and can be replaced in the bytes; the per-recipient headers (Subject,
    To, Date, Message-ID) are encoded per message. When the template is not of that shape
    (long lines, quoted-printable or base64 bodies) ``usable`` is False and ``raw`` builds
    each message normally. Only the SMTP path sends these bytes; other email backends get
    ``invitation_message`` objects, which is what they know how to handle.
    """

    def __init__(self, rendered: InvitationEmail) -> None:
        from email.utils import formatdate

        self.rendered = rendered
        probe = EmailMultiAlternatives(subject="XSUBJECTX", body=rendered.text, to=["placeholder@invalid.invalid"])
        probe.attach_alternative(rendered.html, "text/html")
        raw = probe.message().as_bytes(linesep="\r\n")
        head, _, body = raw.partition(b"\r\n\r\n")
        kept = []
        for line in _unfold(head):
            if not line.lower().startswith(_HEADER_NAMES_PER_MESSAGE):
                kept.append(line)
        self.head = b"\r\n".join(kept)
        self.body = body.replace(b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: 8bit")
        self.date = formatdate(localtime=False).encode()
        self.from_email = probe.from_email
        self.accept_url_template = accept_url(_TOKEN)
        self.usable = (
            b"quoted-printable" not in body.lower()
            and b"base64" not in body.lower()
            and max((len(line) for line in body.split(b"\r\n")), default=0) < _LINE_LIMIT
        )

    def raw(self, *, email: str, name: str, organisation: str, token: str) -> bytes:
        """The recipient's message as SMTP's DATA carries it: MIME bytes with CRLF line ends."""
        if not self.usable:
            message = invitation_message(self.rendered, email=email, name=name, organisation=organisation, token=token)
            return message.message().as_bytes(linesep="\r\n")
        from email.header import Header
        from email.utils import make_msgid

        from django.core.mail.utils import DNS_NAME

        text_values = self._values(email=email, name=name, organisation=organisation, token=token)
        body = self.body
        # The text part comes first, then the HTML part: fill each with its own escaping.
        split = body.find(b"Content-Type: text/html")
        text_part, html_part = body[:split], body[split:]
        for placeholder, value in text_values.items():
            token_bytes = placeholder.encode()
            text_part = text_part.replace(token_bytes, value.encode())
            html_part = html_part.replace(token_bytes, html.escape(value).encode())
        subject = _fill(self.rendered.subject, text_values)
        subject_header = subject if subject.isascii() else Header(subject, "utf-8").encode(linesep="\r\n")
        headers = b"\r\n".join(
            [
                self.head,
                b"Subject: " + subject_header.encode(),
                b"To: " + envelope_address(email).encode(),
                b"Date: " + self.date,
                b"Message-ID: " + make_msgid(domain=DNS_NAME).encode(),
            ]
        )
        return headers + b"\r\n\r\n" + text_part + html_part

    def _values(self, *, email: str, name: str, organisation: str, token: str) -> dict[str, str]:
        url = self.accept_url_template.replace(_TOKEN, token)  # tokens are URL-safe: no reverse() per message
        return {_URL: url, _NAME: name or email, _ORG: organisation, _EMAIL: email}


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def envelope_address(address: str) -> str:
    """The address as SMTP and the To header carry it, as Django's SMTP backend would send it.

    Plain ASCII addresses go as they are; anything else (an internationalised domain, a
    stray character) goes through Django's ``sanitize_address``, which encodes the domain
    with IDNA and raises ``ValueError`` for what no header may hold.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    from django.core.mail.message import sanitize_address

    return sanitize_address(address, "utf-8")


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _unfold(head: bytes) -> list[bytes]:
    """Header lines with their continuation lines joined back (RFC 5322 folding)."""
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\r\n" + line
        else:
            lines.append(line)
    return lines
