"""What a bounced email address means for the CRM: its contacts' data can no longer be trusted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from crm.departures import contacts_mark_left
from crm.models import Contact, LeftReason
from iam.audit import audit_record_many
from invitations.services import invitations_mark_bounced_many


def contacts_mark_bounced(*, email: str, reason: str = "", now: dt.datetime | None = None) -> int:
    """Mark every contact with ``email`` as unverified (stale, verification cleared), and the
    address as bouncing so reconfirmation stops writing to it; its invitations become bounced.

    Set-based and idempotent: a contact already marked is not written again. Returns how many
    contacts changed.
    """
    return contacts_mark_bounced_many(bounces=[(email, reason)], now=now)


def contacts_mark_bounced_many(*, bounces: Sequence[tuple[str, str]], now: dt.datetime | None = None) -> int:
    """``contacts_mark_bounced`` for many (email, reason) pairs at once: a few queries, not a few per address."""
    reasons: dict[str, tuple[str, str]] = {}  # UPPER(email) -> (email as reported, reason)
    for email, reason in bounces:
        email = (email or "").strip()
        if email and "@" in email:
            reasons.setdefault(email.upper(), (email, (reason or "")[:200]))
    if not reasons:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        # UPPER(email) IN (…): the crm_contact_email_ci index answers it.
        affected = list(
            Contact.objects.alias(email_ci=Upper("email"))
            .filter(email_ci__in=list(reasons), email_bounced_at__isnull=True)
            .select_related("account")  # the audit labels read the name and the account: no deferred fields
        )
        # Deliberately no record history: bouncing is state the mail provider reports, set-based for
        # any number of contacts, and each contact gets its audit event below.
        changed = Contact.objects.filter(pk__in=[c.pk for c in affected], email_bounced_at__isnull=True).update(
            email_bounced_at=now,
            last_verified_at=None,
            verified_by=None,
            verification_method="",
            updated_at=now,
        )
        if changed:
            items = []
            for c in affected:
                email, reason = reasons[c.email.upper()]
                items.append((c.account, c, {"email": email, "reason": reason}))
            audit_record_many(actor=None, action="crm.contact.email_bounced", items=items)
            # A hard bounce of a work address: the person has most likely left (a fact, kept).
            contacts_mark_left(actor=None, contact_ids=[c.pk for c in affected], reason=LeftReason.HARD_BOUNCE, now=now)
        invitations_mark_bounced_many(bounces=list(reasons.values()))
    return changed
