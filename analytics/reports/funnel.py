"""Funnel: lead → invited → registered → qualified → customer, by source and month.

Of the leads created in the period, how many reached each step (by now), the conversion from
each step to the next, and the median time between steps. Registered leads (those who took
up an invitation and so hold the portal's lead role) are a segment of their own: the
product's claim is that they qualify more often and sooner.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncMonth

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
    months_between,
    owner_q,
    parse_date,
    percent,
    query_string,
    today,
)
from crm.models import Contract, Lead
from invitations.models import Invitation

if TYPE_CHECKING:
    from iam.models import User

SLUG = "funnel"
TITLE = "Funnel"
ICON = "funnel"
DESCRIPTION = "Leads to invited, registered, qualified and customer: conversion and time between steps."
FILTERS = ("source",)
RECORD_TYPE = "crm.lead"  # its filterable single-choice custom fields filter the report

STEPS = (
    ("leads", "Leads"),
    ("invited", "Invited"),
    ("registered", "Registered"),
    ("qualified", "Qualified"),
    ("customer", "Customer"),
)


class Median(Aggregate):
    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return add_months(month_start(now), -11), now


def _invited_leads(**conditions: Any) -> QuerySet[Invitation, Any]:
    # NULLs kept out: ``NOT IN`` a set holding NULL is never true.
    return Invitation.objects.filter(lead__isnull=False, **conditions).values("lead_id")


def registered_q() -> Q:
    """The lead took up an invitation: it holds the portal's lead role (the funnel's segment)."""
    return Q(pk__in=_invited_leads(status=Invitation.Status.ACCEPTED))


def step_conditions() -> dict[str, Q]:
    """What "reached the step" means, as conditions on a lead.

    ``IN (subquery)`` rather than a correlated ``EXISTS``: PostgreSQL hashes the subquery's
    rows once instead of probing an index for each of the period's leads.
    """
    return {
        "leads": Q(),
        "invited": Q(pk__in=_invited_leads()),
        "registered": registered_q() | Q(status=Lead.Status.REGISTERED),
        "qualified": Q(status__in=(Lead.Status.QUALIFIED, Lead.Status.CONVERTED)),
        "customer": Q(
            converted_account_id__in=Contract.objects.filter(status=Contract.Status.ACTIVE).values("account_id")
        ),
    }


def base(*, user: User, filters: Filters) -> QuerySet[Lead]:
    qs = Lead.objects.visible_to(user).filter(
        owner_q(filters), filters.custom_q(), created_at__gte=filters.start_at, created_at__lt=filters.end_before
    )
    if filters.source:
        qs = qs.filter(source=filters.source)
    return qs


def _counts(conditions: dict[str, Q]) -> dict[str, Any]:
    return {
        key: Count("id", filter=condition) if key != "leads" else Count("id") for key, condition in conditions.items()
    }


def build(*, user: User, filters: Filters) -> Report:
    qs = base(user=user, filters=filters)
    conditions = step_conditions()
    registered = registered_q()

    # 1: every step count by month of creation, source and "registered", in one scan; the
    # source, segment and month tables are sums over these rows (months x sources x 2).
    grouped = list(
        qs.annotate(
            month=TruncMonth("created_at"), is_registered=ExpressionWrapper(registered, output_field=BooleanField())
        )
        .values("month", "source", "is_registered")
        .annotate(**_counts(conditions))
        .order_by()
    )
    by_month: dict[dt.date, dict[str, int]] = {}
    for row in grouped:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        into = by_month.setdefault(month, dict.fromkeys((key for key, _ in STEPS), 0))
        for key, _ in STEPS:
            into[key] += row[key]
    # 3: median time between steps (PostgreSQL; elsewhere the table says "—").
    medians: dict[str, dt.timedelta | None] = {"invite": None, "accept": None, "convert": None}
    if connection.vendor == "postgresql":
        first = Invitation.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
        # Only leads with an invitation or a conversion have a duration (percentile_cont skips NULLs).
        medians = (
            qs.filter(conditions["invited"] | Q(converted_at__isnull=False))
            .annotate(
                first_sent=Subquery(first.annotate(v=Min("sent_at")).values("v")),
                first_accepted=Subquery(first.annotate(v=Min("accepted_at")).values("v")),
            )
            .aggregate(
                invite=Median(F("first_sent") - F("created_at")),
                accept=Median(F("first_accepted") - F("first_sent")),
                convert=Median(F("converted_at") - F("created_at")),
            )
        )

    totals = {key: sum(row[key] for row in grouped) for key, _ in STEPS}
    report = Report()
    report.figures = [Figure(label, totals[key], "int", _rate_sub(totals, key), {"step": key}) for key, label in STEPS]

    steps_table = Table(
        "steps", "Steps", ["Step", "Leads", "Of leads", "From previous step", "Median time to here"], icon="funnel"
    )
    median_for = {"invited": medians["invite"], "registered": medians["accept"], "customer": medians["convert"]}
    previous = None
    for key, label in STEPS:
        median = median_for.get(key)
        steps_table.rows.append(
            [
                Cell(label, "text"),
                Cell(totals[key], "int", {"step": key}),
                Cell(percent(totals[key], totals["leads"]), "percent"),
                Cell(percent(totals[key], totals[previous]) if previous else None, "percent"),
                Cell(round(median.total_seconds() / 86400, 1) if median is not None else None, "days"),
            ]
        )
        previous = key
    steps_table.note = "Median time: lead to first invitation sent, invitation sent to accepted, lead to conversion."

    source_table = Table(
        "by_source",
        "By lead source",
        ["Source", *(label for _, label in STEPS), "Lead → customer"],
        icon="signpost-split",
    )
    for source, source_label in Lead.Source.choices:
        rows = [row for row in grouped if row["source"] == source]
        if not rows:
            continue
        counts = {key: sum(row[key] for row in rows) for key, _ in STEPS}
        source_table.rows.append(
            [
                Cell(source_label, "text"),
                *(Cell(counts[key], "int", {"step": key, "lead_source": source}) for key, _ in STEPS),
                Cell(percent(counts["customer"], counts["leads"]), "percent"),
            ]
        )

    segment_table = Table(
        "segment",
        "Registered leads (portal lead role) against the rest",
        ["Segment", "Leads", "Qualified", "Customer", "Qualified rate", "Customer rate"],
        icon="person-badge",
    )
    for flag, label, segment in ((True, "Registered in the portal", "yes"), (False, "Not registered", "no")):
        rows = [row for row in grouped if bool(row["is_registered"]) is flag]
        counts = {key: sum(row[key] for row in rows) for key, _ in STEPS}
        segment_table.rows.append(
            [
                Cell(label, "text"),
                Cell(counts["leads"], "int", {"step": "leads", "segment": segment}),
                Cell(counts["qualified"], "int", {"step": "qualified", "segment": segment}),
                Cell(counts["customer"], "int", {"step": "customer", "segment": segment}),
                Cell(percent(counts["qualified"], counts["leads"]), "percent"),
                Cell(percent(counts["customer"], counts["leads"]), "percent"),
            ]
        )

    month_table = Table(
        "by_month", "By month the lead came in", ["Month", *(label for _, label in STEPS)], icon="calendar3"
    )
    for month in months_between(filters.start, filters.end):
        row = by_month.get(month, {})
        key = month.strftime("%Y-%m")
        month_table.rows.append(
            [Cell(month.strftime("%b %Y"), "text")]
            + [Cell(row.get(step, 0), "int", {"step": step, "month": key}) for step, _ in STEPS]
        )

    report.tables = [steps_table, source_table, segment_table, month_table]
    report.charts = [
        Chart("funnel-chart", "Funnel", "steps", [("Leads", 1)], icon="funnel"),
        Chart(
            "funnel-month-chart",
            "Leads and what became of them, by month",
            "by_month",
            [(label, i + 1) for i, (_, label) in enumerate(STEPS)],
            icon="calendar3",
        ),
    ]
    report.notes = ["A lead counts in the month it came in; the steps it reached are counted as of today."]
    return report


def _rate_sub(totals: dict[str, int], key: str) -> str:
    if key == "leads":
        return "created in the period"
    rate = percent(totals[key], totals["leads"])
    return f"{rate} % of leads" if rate is not None else "no leads"


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    qs = base(user=user, filters=filters)
    month = parse_date(f"{drill.get('month')}-01") if drill.get("month") else None
    if month is not None:
        filters_month = Filters(start=month, end=add_months(month, 1) - dt.timedelta(days=1))
        qs = qs.filter(created_at__gte=filters_month.start_at, created_at__lt=filters_month.end_before)
    if drill.get("lead_source") in Lead.Source.values:
        qs = qs.filter(source=drill["lead_source"])
    registered = registered_q()
    if drill.get("segment") == "yes":
        qs = qs.filter(registered)
    elif drill.get("segment") == "no":
        qs = qs.exclude(registered)
    step = drill.get("step", "leads")
    condition = step_conditions().get(step, Q())
    qs = qs.filter(condition)
    label = dict(STEPS).get(step, "Leads")
    list_params = {
        "owner": str(filters.owner_id) if filters.owner_id else "",
        "source": drill.get("lead_source") or filters.source,
    }
    return Records(
        title=f"{label}: leads that reached this step" if step != "leads" else "Leads",
        queryset=qs.select_related("owner").order_by("-created_at", "-id"),
        columns=["Lead", "Company", "Source", "Status", "Came in", "Owner"],
        row=lambda lead: [
            (lead.full_name, lead.get_absolute_url()),
            lead.company_name,
            lead.get_source_display(),
            lead.get_status_display(),
            lead.created_at,
            lead.owner,
        ],
        list_url=f"/leads/?{query_string(list_params)}",
    )
