"""The SLA beat job: cases turn amber near a target and red past it, set-based and idempotent.

Two UPDATEs over the running cases (new or open; a case waiting on the customer is paused),
each only taking rows that are not in that state yet (``sla_state`` is the claim), so a re-run,
or two workers at once, changes and notifies nothing twice. Breaches escalate to the managers
of the assignee (the sales managers, until teams and workflow rules say otherwise) and to the
assignee; near-breaches go to the assignee. Notifications are written in one INSERT with their
dedupe keys (``case-breach:<id>:<stage>``), which the notifications core keeps unique.
SLA state is derived, like contact freshness: it is not written to history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from iam.models import User
from notifications.models import Notification

_RUNNING = tuple(str(s) for s in Case.RUNNING_STATUSES)

_RED = """
UPDATE cases_case SET sla_state = 'red'
WHERE status IN (%s, %s) AND sla_state IN ('ok', 'amber') AND merged_into_id IS NULL
  AND (resolution_due_at <= %s OR (first_responded_at IS NULL AND first_response_due_at <= %s))
RETURNING id, assignee_id, subject
"""

_AMBER = """
UPDATE cases_case SET sla_state = 'amber'
WHERE status IN (%s, %s) AND sla_state = 'ok' AND merged_into_id IS NULL
  AND (resolution_warn_at <= %s OR (first_responded_at IS NULL AND first_response_warn_at <= %s))
RETURNING id, assignee_id, subject
"""


@dataclass(frozen=True)
class ScanResult:
    red: int
    amber: int
    notified: int


def _escalation_managers() -> list[int]:
    return list(
        User.objects.filter(is_active=True, is_staff=True, staff_role=User.StaffRole.SALES_MANAGER).values_list(
            "pk", flat=True
        )
    )


def cases_sla_scan(*, now: dt.datetime | None = None) -> ScanResult:
    now = now or timezone.now()
    # The backend's own form of the instant (SQLite stores UTC text): raw SQL gets no conversion.
    at = connection.ops.adapt_datetimefield_value(now.astimezone(dt.UTC))
    params: list[Any] = [*_RUNNING, at, at]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RED, params)
        red = cursor.fetchall()
        cursor.execute(_AMBER, params)
        amber = cursor.fetchall()
        managers = _escalation_managers() if red else []
        rows: list[Notification] = []
        for stage, found, extra in (("red", red, managers), ("amber", amber, [])):
            verb = "breached its SLA" if stage == "red" else "is about to breach its SLA"
            for case_id, assignee_id, subject in found:
                recipients = {*extra, *([assignee_id] if assignee_id else [])}
                url = reverse("cases:detail", args=[case_id])
                rows.extend(
                    Notification(
                        recipient_id=user_id,
                        kind="case.breached",
                        title=f"Case #{case_id} {verb}: {subject}"[:200],
                        url=url,
                        target_type="cases.case",
                        target_id=case_id,
                        dedupe_key=f"case-breach:{case_id}:{stage}",
                        created_at=now,
                    )
                    for user_id in recipients
                )
        Notification.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        if red:
            from workflows.triggers import cases_breached

            cases_breached([case_id for case_id, _assignee, _subject in red])
    return ScanResult(red=len(red), amber=len(amber), notified=len(rows))
