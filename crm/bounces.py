"""What a bounced email address means for the CRM: its contacts' data can no longer be trusted."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from crm.decay import Freshness
from crm.models import Contact


def contacts_mark_bounced(*, email: str, reason: str = "", now: dt.datetime | None = None) -> int:
    """Mark every contact with ``email`` as unverified (stale, verification cleared), and the
    address as bouncing so reconfirmation stops writing to it; its invitations become bounced.

    Set-based and idempotent: a contact already marked is not written again. Returns how many
    contacts changed.
    """
    from iam.audit import audit_record_many

    email = (email or "").strip()
    if not email or "@" not in email:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        # UPPER(email) = UPPER(%s): the crm_contact_email_ci index answers it.
        matching = Contact.objects.alias(email_ci=Upper("email")).filter(email_ci=email.upper())
        affected = list(
            matching.filter(email_bounced_at__isnull=True).select_related("account").only("pk", "account", "email")
        )
        changed = Contact.objects.filter(pk__in=[c.pk for c in affected], email_bounced_at__isnull=True).update(
            email_bounced_at=now,
            last_verified_at=None,
            verified_by=None,
            verification_method="",
            freshness=Freshness.STALE,
            updated_at=now,
        )
        if changed:
            audit_record_many(
                actor=None,
                action="crm.contact.email_bounced",
                items=[(c.account, c) for c in affected],
                data={"email": email, "reason": reason[:200]},
            )
        try:
            from invitations.services import invitations_mark_bounced
        except ImportError:
            pass
        else:
            invitations_mark_bounced(email=email, reason=reason)
    return changed
