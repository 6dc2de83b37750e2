"""The contract lifecycle that runs by the calendar, not by a person."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from crm.models import Contract
from history.services import history_record_many, history_snapshot
from iam.audit import audit_record_many
from iam.services import access_sync
from webhooks.services import webhook_emit_records


def contracts_expire_due(*, today: dt.date | None = None) -> int:
    """Mark active contracts whose end date has passed as expired, and let access follow.

    One set-based UPDATE guarded by the current status: running it twice, or on two workers at
    once, changes each contract exactly once. Then every account's portal access is brought in
    line with its contracts (also set-based and idempotent), which also catches any change a
    crashed earlier run left half done.

    Each expiry is audited as a status change made by nobody (``crm.contract.status_changed``,
    actor None: the system; the job acting is in the event), as ``contract_save`` audits a
    person's, and announced as ``contract.ended``; the access sync suspends the memberships
    (audited), revokes their tokens and ends their sessions.
    """

    today = today or timezone.localdate()
    with transaction.atomic():
        now = timezone.now()
        changed = Contract.objects.filter(status=Contract.Status.ACTIVE, end_date__lt=today).update(
            status=Contract.Status.EXPIRED, updated_at=now
        )
        if changed:
            # This run's UPDATE stamped exactly these rows with its own ``now``.
            ended = list(
                Contract.objects.filter(
                    status=Contract.Status.EXPIRED, end_date__lt=today, updated_at=now
                ).select_related("account")
            )
            audit_record_many(
                actor=None,
                action="crm.contract.status_changed",
                items=[(c.account, c) for c in ended],
                data={"from": Contract.Status.ACTIVE.value, "to": Contract.Status.EXPIRED.value, "reason": "end_date"},
            )
            # A contract's end is a fact people act on (portal access ends with it), not state the
            # system derives for display: each ended contract gets its history row, in one INSERT.
            history_record_many(
                actor=None, items=[(c, history_snapshot(c, status=Contract.Status.ACTIVE)) for c in ended]
            )
            webhook_emit_records("contract.ended", ended)
        access_sync(account_ids=None, actor=None)
    return changed
