"""Data health as a report: the data-health page's snapshot figures, plus decay and self-service.

The snapshot figures come from ``analytics.selectors.data_health`` as the data-health page
reads them. This module adds two things the page does not show:

- *expected decay against observed*: from the first daily snapshot in the period, the share
  of contacts the decay policy still counts as current (fresh or ageing) if nobody verified
  anything (``share * (1 - monthly rate) ** months``), against the share the snapshots saw.
  Observed above expected is the verification work (reps, self-service, reconfirmation) paying off;
- *self-service updates per week*: contact changes people made in the portal (record history,
  channel ``portal``) and reconfirmation links they confirmed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncWeek

from analytics import selectors
from analytics.models import StateCounts
from analytics.reports.base import (
    Cell,
    Chart,
    Figure,
    Filters,
    Records,
    Report,
    Table,
    owner_q,
    parse_date,
    percent,
    today,
    week_start,
    weeks_between,
)
from core.context import Channel
from crm.decay import MONTH
from crm.models import Contact, ContactReconfirmation
from history.models import RecordChange
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

SLUG = "data-health"
TITLE = "Data health"
ICON = "heart-pulse"
DESCRIPTION = "Fresh, ageing and stale contacts; expected decay against observed; self-service updates per week."
FILTERS: tuple[str, ...] = ()


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return week_start(now) - dt.timedelta(weeks=11), now


def _contacts(*, user: User, filters: Filters) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).filter(owner_q(filters))


def _portal_changes(*, user: User, filters: Filters) -> QuerySet[RecordChange]:
    if not is_crm_user(user):
        return RecordChange.objects.none()
    qs = RecordChange.objects.filter(
        record_type="crm.contact",
        channel=Channel.PORTAL,
        changed_at__gte=filters.start_at,
        changed_at__lt=filters.end_before,
    )
    if filters.owner_id:
        qs = qs.filter(Exists(_contacts(user=user, filters=filters).filter(pk=OuterRef("record_id"))))
    return qs


def _confirmations(*, user: User, filters: Filters) -> QuerySet[ContactReconfirmation]:
    return ContactReconfirmation.objects.filter(
        outcome=ContactReconfirmation.Outcome.CONFIRMED,
        used_at__gte=filters.start_at,
        used_at__lt=filters.end_before,
        contact__in=_contacts(user=user, filters=filters).values("pk"),
    )


def build(*, user: User, filters: Filters) -> Report:
    health = selectors.data_health(user=user, trend_days=(today() - filters.start).days + 1)
    snapshot = health.snapshot
    # One owner's numbers (a rep's always their own) from the snapshot's owner rows, else everyone's.
    counts: StateCounts | None = snapshot
    if filters.owner_id == user.pk:
        counts = health.mine
    elif filters.owner_id:
        counts = next((row for row in health.owners if row.owner_id == filters.owner_id), None)
    trend = [row for row in health.trend if filters.start <= row["day"] <= filters.end]
    changes = {
        row["week"].date(): row["n"]
        for row in _portal_changes(user=user, filters=filters)
        .annotate(week=TruncWeek("changed_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    }
    confirmed = {
        row["week"].date(): row["n"]
        for row in _confirmations(user=user, filters=filters)
        .annotate(week=TruncWeek("used_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    }

    report = Report()
    if counts is not None:
        report.figures = [
            Figure("Contacts", counts.total, "int", "in the latest snapshot"),
            Figure("Fresh", counts.fresh_percent, "percent", f"{counts.fresh:,} contacts"),
            Figure("Ageing", counts.ageing_percent, "percent", f"{counts.ageing:,} contacts"),
            Figure("Stale", counts.stale_percent, "percent", f"{counts.stale:,} contacts"),
        ]
    report.figures += [
        Figure("Portal updates", sum(changes.values()), "int", "contact changes by the people", {"metric": "changes"}),
        Figure("Confirmed", sum(confirmed.values()), "int", "reconfirmation links used", {"metric": "confirmed"}),
    ]

    decay_table = Table(
        "decay",
        "Expected decay against observed (share of contacts current by the policy)",
        ["Week of", "Observed", "Expected without verification", "Difference"],
        icon="graph-down",
        empty="No daily snapshots in this period yet: the trend starts with the nightly job.",
    )
    rate = settings.DECAY_MONTHLY_RATE
    if trend:
        first = trend[0]
        start_share = _current_share(first)
        by_week: dict[dt.date, Mapping[str, Any]] = {}
        for row in trend:
            by_week[week_start(row["day"])] = row  # the last snapshot of each week
        for week, row in sorted(by_week.items()):
            observed = _current_share(row)
            months = (row["day"] - first["day"]) / MONTH
            expected = round(start_share * (1 - rate) ** months, 1) if start_share is not None else None
            decay_table.rows.append(
                [
                    Cell(week.strftime("%d %b %Y"), "text"),
                    Cell(observed, "percent"),
                    Cell(expected, "percent"),
                    Cell(
                        round(observed - expected, 1) if observed is not None and expected is not None else None,
                        "percent",
                    ),
                ]
            )
    self_table = Table(
        "self_service",
        "Self-service updates per week",
        ["Week of", "Changed in the portal", "Confirmed by link"],
        icon="person-check",
    )
    for week in weeks_between(filters.start, filters.end):
        key = week.isoformat()
        self_table.rows.append(
            [
                Cell(week.strftime("%d %b %Y"), "text"),
                Cell(changes.get(week, 0), "int", {"metric": "changes", "week": key}),
                Cell(confirmed.get(week, 0), "int", {"metric": "confirmed", "week": key}),
            ]
        )
    report.tables = [decay_table, self_table]
    report.charts = [
        Chart(
            "decay-chart",
            "Current share: observed and expected",
            "decay",
            [("Observed", 1), ("Expected", 2)],
            type="line",
        ),
        Chart(
            "self-service-chart",
            "Self-service updates per week",
            "self_service",
            [("Changed in the portal", 1), ("Confirmed by link", 2)],
            stacked=True,
        ),
    ]
    report.notes = [
        "Fresh, ageing and stale come from the latest nightly snapshot (the data-health page has them per account).",
        f"Expected: the first snapshot's current share, decaying by {rate:.0%} a month as if nobody verified anything.",
    ]
    return report


def _current_share(row: Mapping[str, Any]) -> float | None:
    return percent(row["fresh"] + row["ageing"], row["fresh"] + row["ageing"] + row["stale"])


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    week = parse_date(drill.get("week"))
    if week is not None:
        one = Filters(
            start=max(week, filters.start), end=min(week + dt.timedelta(days=6), filters.end), owner_id=filters.owner_id
        )
        filters = one
    if drill.get("metric") == "confirmed":
        confirmations = _confirmations(user=user, filters=filters).select_related("contact")
        return Records(
            title="Contacts who confirmed their data by link",
            queryset=confirmations.order_by("-used_at", "-id"),
            columns=["Contact", "Sent to", "Confirmed"],
            row=lambda r: [(r.contact.full_name, r.contact.get_absolute_url()), r.sent_to, r.used_at],
        )
    return Records(
        title="Contact changes made in the portal",
        queryset=_portal_changes(user=user, filters=filters).order_by("-changed_at", "-id"),
        columns=["Contact", "Fields", "When", "By"],
        row=lambda c: [
            (c.record_label, f"/contacts/{c.record_id}/"),
            ", ".join(sorted(c.changes)),
            c.changed_at,
            c.actor_label,
        ],
    )
