"""Invitations: per batch and overall, sent, accepted, expired, bounced; how soon people accept; best sources.

An invitation counts in the period it was created in; a rep reads the invitations they sent.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.fields import CharField

from analytics.reports.base import (
    Cell,
    Chart,
    Figure,
    Filters,
    Records,
    Report,
    Table,
    add_months,
    month_start,
    percent,
    today,
)
from crm.models import Lead
from iam.permissions import is_crm_user
from invitations.models import Invitation

if TYPE_CHECKING:
    from iam.models import User

SLUG = "invitations"
TITLE = "Invitations"
ICON = "envelope-paper"
DESCRIPTION = "Sent, accepted, expired and bounced, per batch and overall; how soon people accept; best sources."
FILTERS = ("source",)

BATCHES_SHOWN = 25
STATUSES = ("sent", "accepted", "expired", "bounced", "revoked")
# Days from sending to accepting: (key, label, lower bound, upper bound exclusive) in days.
BUCKETS = (
    ("d0", "Same day", 0, 1),
    ("d1", "Next day", 1, 2),
    ("d3", "2–3 days", 2, 4),
    ("d7", "4–7 days", 4, 8),
    ("d14", "8–14 days", 8, 15),
    ("later", "Later", 15, None),
)


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return add_months(month_start(now), -5), now


def base(*, user: User, filters: Filters) -> QuerySet[Invitation]:
    if not is_crm_user(user):
        return Invitation.objects.none()
    qs = Invitation.objects.filter(created_at__gte=filters.start_at, created_at__lt=filters.end_before)
    if filters.owner_id:
        qs = qs.filter(invited_by_id=filters.owner_id)
    if filters.source:
        qs = qs.filter(lead__source=filters.source)
    return qs


def _status_counts() -> dict[str, Count]:
    counts = {status: Count("id", filter=Q(status=status)) for status in STATUSES}
    # "Sent" means it left: everything but what is still queued (pending).
    counts["sent"] = Count("id", filter=Q(sent_at__isnull=False))
    return counts


def _bucket(key: str) -> Q:
    _, _, low, high = next(b for b in BUCKETS if b[0] == key)
    waited = Q(waited__gte=dt.timedelta(days=low))
    if high is not None:
        waited &= Q(waited__lt=dt.timedelta(days=high))
    return waited


def _with_wait(qs: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return qs.filter(status=Invitation.Status.ACCEPTED, sent_at__isnull=False).annotate(
        waited=ExpressionWrapper(F("accepted_at") - F("sent_at"), output_field=DurationField())
    )


def build(*, user: User, filters: Filters) -> Report:
    qs = base(user=user, filters=filters)
    # 1: per batch (single invitations are the batch "none"), every status.
    by_batch = list(
        qs.values("batch_id", "batch__name", "batch__created_at")
        .annotate(**_status_counts(), total=Count("id"))
        .order_by(F("batch__created_at").desc(nulls_first=True), "batch_id")
    )
    # 2: how long the accepted ones took.
    waits = _with_wait(qs).aggregate(**{key: Count("id", filter=_bucket(key)) for key, *_ in BUCKETS})
    # 3: by source: the lead's source, else the batch's, else a single invitation to an account's contact.
    source = Case(
        When(lead__isnull=False, then=F("lead__source")),
        When(batch__isnull=False, then=Value("batch")),
        default=Value("single"),
        output_field=CharField(),
    )
    by_source = list(
        qs.annotate(origin=source)
        .values("origin")
        .annotate(sent=Count("id", filter=Q(sent_at__isnull=False)), accepted=Count("id", filter=Q(status="accepted")))
        .order_by()
    )

    totals = {key: sum(row[key] for row in by_batch) for key in (*STATUSES, "total")}
    report = Report()
    report.figures = [
        Figure("Sent", totals["sent"], "int", f"of {totals['total']:,} created", {"metric": "sent"}),
        Figure("Accepted", totals["accepted"], "int", "", {"status": "accepted"}),
        Figure(
            "Acceptance", percent(totals["accepted"], totals["sent"]), "percent", "accepted of sent", {"metric": "sent"}
        ),
        Figure("Expired", totals["expired"], "int", "", {"status": "expired"}),
        Figure("Bounced", totals["bounced"], "int", "", {"status": "bounced"}),
        Figure("Revoked", totals["revoked"], "int", "", {"status": "revoked"}),
    ]
    report.figures[1].sub = f"{percent(totals['accepted'], totals['sent']) or 0} % of sent"

    batch_table = Table(
        "by_batch",
        "Per batch",
        ["Batch", "Created", "Sent", "Accepted", "Expired", "Bounced", "Acceptance"],
        icon="envelope-paper",
        empty="No invitations in this period.",
    )
    for row in by_batch[:BATCHES_SHOWN]:
        batch = str(row["batch_id"]) if row["batch_id"] else "none"
        batch_table.rows.append(
            [
                Cell(row["batch__name"] or "Single invitations", "text"),
                Cell(row["total"], "int", {"batch": batch}),
                Cell(row["sent"], "int", {"batch": batch, "metric": "sent"}),
                Cell(row["accepted"], "int", {"batch": batch, "status": "accepted"}),
                Cell(row["expired"], "int", {"batch": batch, "status": "expired"}),
                Cell(row["bounced"], "int", {"batch": batch, "status": "bounced"}),
                Cell(percent(row["accepted"], row["sent"]), "percent"),
            ]
        )

    wait_table = Table(
        "acceptance",
        "How soon people accept",
        ["Accepted", "Invitations", "Share", "Accepted by then"],
        icon="stopwatch",
    )
    cumulative, accepted_total = 0, sum(waits.values())
    for key, label, *_ in BUCKETS:
        cumulative += waits[key]
        wait_table.rows.append(
            [
                Cell(label, "text"),
                Cell(waits[key], "int", {"status": "accepted", "waited": key}),
                Cell(percent(waits[key], accepted_total), "percent"),
                Cell(percent(cumulative, accepted_total), "percent"),
            ]
        )

    labels = {"batch": "Batch invitations", "single": "Single invitations (contacts)", **dict(Lead.Source.choices)}
    source_table = Table(
        "by_source", "Best sources", ["Source", "Sent", "Accepted", "Acceptance"], icon="signpost-split"
    )
    for row in sorted(by_source, key=lambda r: (-(percent(r["accepted"], r["sent"]) or 0), r["origin"])):
        source_table.rows.append(
            [
                Cell(labels.get(row["origin"], row["origin"]), "text"),
                Cell(row["sent"], "int", {"metric": "sent", "origin": row["origin"]}),
                Cell(row["accepted"], "int", {"status": "accepted", "origin": row["origin"]}),
                Cell(percent(row["accepted"], row["sent"]), "percent"),
            ]
        )
    report.tables = [batch_table, wait_table, source_table]
    report.charts = [
        Chart(
            "acceptance-chart", "Accepted, by time since sending", "acceptance", [("Invitations", 1)], icon="stopwatch"
        ),
        Chart("source-chart", "Sent and accepted by source", "by_source", [("Sent", 1), ("Accepted", 2)]),
    ]
    return report


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    qs = base(user=user, filters=filters)
    batch = drill.get("batch")
    if batch == "none":
        qs = qs.filter(batch__isnull=True)
    elif batch and batch.isdecimal():
        qs = qs.filter(batch_id=int(batch))
    if drill.get("metric") == "sent":
        qs = qs.filter(sent_at__isnull=False)
    if drill.get("status") in Invitation.Status.values:
        qs = qs.filter(status=drill["status"])
    origin = drill.get("origin")
    if origin == "batch":
        qs = qs.filter(lead__isnull=True, batch__isnull=False)
    elif origin == "single":
        qs = qs.filter(lead__isnull=True, batch__isnull=True)
    elif origin in Lead.Source.values:
        qs = qs.filter(lead__source=origin)
    if drill.get("waited") in {b[0] for b in BUCKETS}:
        qs = _with_wait(qs).filter(_bucket(drill["waited"]))
    return Records(
        title="Invitations",
        queryset=qs.select_related("account", "lead", "invited_by").order_by("-created_at", "-id"),
        columns=["Email", "For", "Status", "Sent", "Accepted", "Invited by"],
        row=lambda i: [
            i.email,
            (str(i.account), i.account.get_absolute_url())
            if i.account_id
            else (str(i.lead), i.lead.get_absolute_url()),
            i.get_status_display(),
            i.sent_at,
            i.accepted_at,
            i.invited_by,
        ],
    )
