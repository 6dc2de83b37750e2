"""The contract lifecycle that runs by the calendar, not by a person."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from crm.models import Contract


def contracts_expire_due(*, today: dt.date | None = None) -> int:
    """Mark active contracts whose end date has passed as expired, and let access follow.

    One set-based UPDATE guarded by the current status: running it twice, or on two workers at
    once, changes each contract exactly once. Then every account's portal access is brought in
    line with its contracts (also set-based and idempotent), which also catches any change a
    crashed earlier run left half done.
    """
    from iam.services import access_sync

    today = today or timezone.localdate()
    with transaction.atomic():
        changed = Contract.objects.filter(status=Contract.Status.ACTIVE, end_date__lt=today).update(
            status=Contract.Status.EXPIRED, updated_at=timezone.now()
        )
        access_sync(account_ids=None, actor=None)
    return changed
