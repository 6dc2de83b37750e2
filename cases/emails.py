"""Case email going out: each reply carries the case's own signed reply address.

The address is the support mailbox with plus-addressing, ``support+case-42-<sig>@example.com``;
the signature (an HMAC of the case id under ``SECRET_KEY``) lets inbound mail name its case
without anyone being able to guess another case's address.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "cases.reply-address"
ADDRESS_PATTERN = re.compile(r"\+case-(\d+)-([0-9a-f]{20})@", re.IGNORECASE)


def _signature(case_id: int) -> str:
    return salted_hmac(_SALT, str(case_id)).hexdigest()[:20]


def reply_address(case_id: int) -> str:
    local, _at, domain = settings.CASES_REPLY_ADDRESS.partition("@")
    return f"{local}+case-{case_id}-{_signature(case_id)}@{domain}"


def case_id_from_address(address: str) -> int | None:
    """The case a reply address names, if its signature is right; else None."""
    match = ADDRESS_PATTERN.search(address)
    if match is None:
        return None
    case_id = int(match.group(1))
    if not constant_time_compare(match.group(2).lower(), _signature(case_id)):
        return None
    return case_id


def send_reply(message_id: int) -> None:
    """Email a staff member's public reply to the customer who raised the case."""
    from cases.models import CaseMessage

    message = CaseMessage.objects.select_related("case", "author").get(pk=message_id)
    case = message.case
    if not case.requester_email or not message.is_public:
        return
    context = {
        "case": case,
        "message": message,
        "company": settings.INVITATIONS_COMPANY_NAME,
        "portal_url": f"{settings.SITE_URL}{case.get_portal_url()}",
    }
    msgid = make_msgid(domain=settings.CASES_REPLY_ADDRESS.partition("@")[2] or None)
    email = EmailMultiAlternatives(
        subject=f"[Case #{case.pk}] {case.subject}",
        body=render_to_string("emails/case_reply.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[case.requester_email],
        reply_to=[reply_address(case.pk)],
        headers={"Message-ID": msgid},
        connection=get_connection(),
    )
    email.attach_alternative(render_to_string("emails/case_reply.html", context), "text/html")
    email.send()
    # Replies to this email name it in In-Reply-To: that threads them too.
    CaseMessage.objects.filter(pk=message.pk, email_message_id="").update(email_message_id=msgid)
