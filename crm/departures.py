"""Departures as facts: when someone has left their company, the contact says so.

Signals that a person left — their org admin removes them, their login is deactivated, their
address hard-bounces, an automatic reply says they are no longer with the company, they
register again at another company, or an access review says so — all end in
:func:`contacts_mark_left`. The contact is **kept** (history, activities, audit trail stay); it
is marked ``left_at`` and from then on excluded from reconfirmations, invitations and batch
invitations. The owner is told once (``notifications``, kind ``contact.left``). Nothing is
ever deleted, and a contact already marked left is not marked again.

Weaker signals (a bounce, an automatic reply, a registration elsewhere) do not end portal
access by themselves: the owner is told and the next access review asks the org admin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from crm.models import Contact, LeftReason
from history.services import history_record_many, history_snapshot
from iam.audit import audit_record_many
from notifications.models import Notification
from webhooks.services import webhook_emit_records

if TYPE_CHECKING:
    from iam.models import User


def contacts_mark_left(
    *,
    actor: User | None,
    contact_ids: Iterable[int],
    reason: str,
    detail: str = "",
    now: dt.datetime | None = None,
) -> list[Contact]:
    """Mark these contacts as having left (those not marked already); returns the ones marked.

    Set-based, so a batch of bounces costs the same queries for 2 contacts or 1,000: one
    UPDATE, one history INSERT, one audit INSERT (``crm.contact.left``), ``contact.left``
    webhooks, and one notification per owner and contact (deduplicated: told once).
    """
    reason = LeftReason(reason)
    now = now or timezone.now()
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    with transaction.atomic():
        contacts = list(
            Contact.objects.select_for_update(of=("self",))
            .select_related("account", "owner")
            .filter(pk__in=ids, left_at__isnull=True)
            .order_by("pk")
        )
        if not contacts:
            return []
        befores = [history_snapshot(c) for c in contacts]
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(left_at=now, left_reason=reason, updated_at=now)
        for contact in contacts:
            contact.left_at, contact.left_reason, contact.updated_at = now, reason, now
        history_record_many(actor=actor, items=list(zip(contacts, befores, strict=True)))
        data = {"reason": reason.value, **({"detail": detail[:200]} if detail else {})}
        audit_record_many(actor=actor, action="crm.contact.left", items=[(c.account, c) for c in contacts], data=data)
        _tell_owners(contacts, body=reason.label + (f": {detail[:200]}" if detail else ""))
        webhook_emit_records("contact.left", contacts)
    return contacts


def _tell_owners(contacts: list[Contact], *, body: str) -> None:
    """``notifications.services.notify`` for many events at once: each owner once per contact."""
    rows = [
        Notification(
            recipient=c.owner,
            kind="contact.left",
            title=f"{c.full_name} has left {c.account}"[:200],
            body=body,
            url=c.get_absolute_url(),
            target_type=c._meta.label_lower,
            target_id=c.pk,
            dedupe_key=f"contact.left:{c.pk}",
        )
        for c in contacts
        if c.owner is not None and c.owner.is_active
    ]
    # The (recipient, dedupe_key) unique constraint makes a repeat a no-op.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def contact_mark_left(
    *, actor: User | None, contact: Contact, reason: str, detail: str = "", now: dt.datetime | None = None
) -> bool:
    """One contact: True when it was marked now, False when it was already marked left."""
    return bool(contacts_mark_left(actor=actor, contact_ids=[contact.pk], reason=reason, detail=detail, now=now))


# --- The inbound-message classifier ------------------------------------------------------------

# Phrases of automatic replies that say the person has gone for good (not on holiday).
_LEFT_PHRASES = re.compile(
    r"no longer (?:with|at|employed|working|part of)"
    r"|(?:has|have) left (?:the|our|this) (?:company|organi[sz]ation|firm|team)"
    r"|is not with (?:the|our) (?:company|organi[sz]ation) any ?more"
    r"|(?:mailbox|address|account) is no longer (?:monitored|in use|active)"
    r"|ei (?:enää|enaa) (?:töissä|toissa|palveluksessa)"
    r"|nicht mehr (?:für|bei|im unternehmen)",
    re.IGNORECASE,
)


def inbound_message_says_left(*, subject: str, body: str) -> bool:
    """Does this (automatic) reply say its sender is no longer with the company?"""
    return bool(_LEFT_PHRASES.search(f"{subject}\n{body}"))


def inbound_message_receive(*, from_email: str, subject: str, body: str, now: dt.datetime | None = None) -> int:
    """An inbound message (e.g. an out-of-office reply to a reconfirmation email): when it says
    its sender left, every contact with that address is marked left. Returns how many."""
    email = (from_email or "").strip()
    if "@" not in email or not inbound_message_says_left(subject=subject, body=body):
        return 0
    ids = (
        Contact.objects.alias(email_ci=Upper("email"))
        .filter(email_ci=email.upper(), left_at__isnull=True)
        .values_list("pk", flat=True)
    )
    marked = contacts_mark_left(
        actor=None, contact_ids=list(ids), reason=LeftReason.OUT_OF_OFFICE, detail=subject.strip()[:200], now=now
    )
    return len(marked)


def registration_elsewhere(
    *, email: str, first_name: str, last_name: str, account_id: int | None, now: dt.datetime | None = None
) -> int:
    """The same person registered at another company: same first and last name and the same
    local part of the address at another domain, at another account. Returns contacts marked."""
    email = (email or "").strip()
    if "@" not in email or not first_name.strip() or not last_name.strip():
        return 0
    local, _, domain = email.rpartition("@")
    candidates = (
        Contact.objects.filter(
            first_name__iexact=first_name.strip(),
            last_name__iexact=last_name.strip(),
            email__istartswith=f"{local}@",
            left_at__isnull=True,
        )
        .exclude(email__iendswith=f"@{domain}")
        .values_list("pk", "account_id")
    )
    ids = [pk for pk, contact_account in candidates if account_id is None or contact_account != account_id]
    marked = contacts_mark_left(
        actor=None, contact_ids=ids, reason=LeftReason.REGISTERED_ELSEWHERE, detail=f"registered as {email}", now=now
    )
    return len(marked)
