"""Records in the states decay cares about, built the way the CRM gets them."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from crm.models import Contact
from tests.factories import ContactFactory, MembershipFactory

LONG_AGO = dt.timedelta(days=2 * 365)


def verified(days_ago: float, **kwargs) -> Contact:
    """A contact verified by import ``days_ago`` days ago (its stored freshness follows)."""
    return ContactFactory(
        last_verified_at=timezone.now() - dt.timedelta(days=days_ago),
        verification_method=Contact.VerificationMethod.IMPORT,
        **kwargs,
    )


def stale_portal_user(**kwargs):
    """A portal user (usable membership) whose contact was last verified two years ago."""
    membership = MembershipFactory(**kwargs)
    contact = membership.contact
    contact.last_verified_at = timezone.now() - LONG_AGO
    contact.verification_method = Contact.VerificationMethod.IMPORT
    contact.save()
    return membership
