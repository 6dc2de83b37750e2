"""Contracts: active count and value, what expires soon, renewals against losses, access at risk.

A contract that ended (its end date passed, or it was terminated) in the period is *renewed*
when the account has a later contract (one that starts after it started), else *lost*.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, DecimalField, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from analytics.reports.base import (
    Cell,
    Chart,
    Figure,
    Filters,
    Records,
    Report,
    Table,
    add_months,
    money,
    month_start,
    months_between,
    owner_q,
    parse_date,
    query_string,
    today,
)
from crm.models import Contract
from iam.models import Membership

if TYPE_CHECKING:
    from iam.models import User

SLUG = "contracts"
TITLE = "Contracts"
ICON = "file-earmark-text"
DESCRIPTION = "Active contracts and value, what expires in 30/60/90 days, renewals against losses, access at risk."
FILTERS = ("tier", "industry", "territory")
RECORD_TYPE = "crm.contract"  # its filterable single-choice custom fields filter the report

HORIZONS = (30, 60, 90)
AT_RISK_SHOWN = 50
ZERO = Decimal(0)
_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return add_months(month_start(now), -11), now


def base(*, user: User, filters: Filters) -> QuerySet[Contract]:
    qs = Contract.objects.visible_to(user).filter(owner_q(filters), filters.custom_q())
    if filters.has_account_filters():
        qs = qs.filter(filters.account_q("account__"))
    return qs


def _successor() -> Exists:
    return Exists(
        Contract.objects.filter(account=OuterRef("account_id"), start_date__gt=OuterRef("start_date")).exclude(
            pk=OuterRef("pk")
        )
    )


def _ended(filters: Filters) -> Q:
    now = today()
    return Q(end_date__gte=filters.start, end_date__lte=min(filters.end, now - dt.timedelta(days=1))) & ~Q(
        status=Contract.Status.DRAFT
    )


def _losing_access() -> Q:
    """Active, ends within the longest horizon, no other contract of the account carries on after it."""
    now = today()
    carries_on = Contract.objects.filter(
        account=OuterRef("account_id"),
        status__in=(Contract.Status.ACTIVE, Contract.Status.DRAFT),
        end_date__gt=OuterRef("end_date"),
    )
    portal_users = Membership.objects.filter(
        account=OuterRef("account_id"), status=Membership.Status.ACTIVE, is_lead_only=False
    )
    return (
        Q(status=Contract.Status.ACTIVE, end_date__gte=now, end_date__lte=now + dt.timedelta(days=HORIZONS[-1]))
        & ~Q(Exists(carries_on))
        & Q(Exists(portal_users))
    )


def build(*, user: User, filters: Filters) -> Report:
    qs = base(user=user, filters=filters)
    now = today()
    active = Q(status=Contract.Status.ACTIVE)
    # 1: active count and value, and what of it expires within each horizon.
    horizon_aggregates: dict[str, Count | Coalesce] = {}
    for days in HORIZONS:
        expiring = active & Q(end_date__gte=now, end_date__lte=now + dt.timedelta(days=days))
        horizon_aggregates[f"exp{days}"] = Count("id", filter=expiring)
        horizon_aggregates[f"exp{days}_value"] = Coalesce(Sum("value", filter=expiring), ZERO, output_field=_MONEY)
    # Every total is of active contracts: read only those (the covering index of analytics 0004).
    totals = qs.filter(active).aggregate(
        active=Count("id", filter=active),
        active_value=Coalesce(Sum("value", filter=active), ZERO, output_field=_MONEY),
        **horizon_aggregates,
    )
    # 2: ended in the period, by month and outcome.
    ended: dict[tuple[dt.date, bool], dict] = {}
    for row in (
        qs.filter(_ended(filters))
        .annotate(month=TruncMonth("end_date"), renewed=_successor())
        .values("month", "renewed")
        .annotate(count=Count("id"), total=Sum("value"))
        .order_by()
    ):
        month = row["month"] if isinstance(row["month"], dt.date) else row["month"].date()
        ended[(month_start(month), row["renewed"])] = row
    # 3: the accounts whose people lose portal access when their contract ends.
    users_count = (
        Membership.objects.filter(account=OuterRef("account_id"), status=Membership.Status.ACTIVE, is_lead_only=False)
        .order_by()
        .values("account")
        .annotate(n=Count("id"))
        .values("n")
    )
    at_risk = list(
        qs.filter(_losing_access())
        .annotate(portal_users=Subquery(users_count, output_field=IntegerField()))
        .select_related("account", "owner")
        .order_by("end_date", "id")[:AT_RISK_SHOWN]
    )

    renewed = sum(row["count"] for (_, flag), row in ended.items() if flag)
    lost = sum(row["count"] for (_, flag), row in ended.items() if not flag)
    report = Report()
    report.figures = [
        Figure("Active contracts", totals["active"], "int", "today", {"metric": "active"}),
        Figure("Active value", money(totals["active_value"]), "money", "today", {"metric": "active"}),
        *(
            Figure(
                f"Expiring in {days} days",
                totals[f"exp{days}"],
                "int",
                f"{money(totals[f'exp{days}_value']):,.0f} in value",
                {"metric": "expiring", "days": str(days)},
            )
            for days in HORIZONS
        ),
        Figure(
            "Renewed / lost",
            f"{renewed:,} / {lost:,}",
            "text",
            "contracts that ended in the period",
            {"metric": "ended"},
        ),
    ]

    expiring_table = Table(
        "expiring", "Expiring active contracts", ["Within", "Contracts", "Value"], icon="hourglass-split"
    )
    for days in HORIZONS:
        drill = {"metric": "expiring", "days": str(days)}
        expiring_table.rows.append(
            [
                Cell(f"{days} days", "text"),
                Cell(totals[f"exp{days}"], "int", drill),
                Cell(money(totals[f"exp{days}_value"]), "money", drill),
            ]
        )

    ended_table = Table(
        "renewals",
        "Renewals and losses by month the contract ended",
        ["Month", "Renewed", "Renewed value", "Lost", "Lost value"],
        icon="arrow-repeat",
    )
    for month in months_between(filters.start, min(filters.end, now)):
        key = month.strftime("%Y-%m")
        won, gone = ended.get((month, True), {}), ended.get((month, False), {})
        ended_table.rows.append(
            [
                Cell(month.strftime("%b %Y"), "text"),
                Cell(won.get("count", 0), "int", {"metric": "ended", "outcome": "renewed", "month": key}),
                Cell(money(won.get("total")), "money", {"metric": "ended", "outcome": "renewed", "month": key}),
                Cell(gone.get("count", 0), "int", {"metric": "ended", "outcome": "lost", "month": key}),
                Cell(money(gone.get("total")), "money", {"metric": "ended", "outcome": "lost", "month": key}),
            ]
        )

    risk_table = Table(
        "access_at_risk",
        f"Accounts whose people lose portal access (contract ends within {HORIZONS[-1]} days, no successor)",
        ["Account", "Contract", "Ends", "Portal users", "Owner"],
        icon="shield-exclamation",
        empty="No account loses portal access in the next 90 days.",
    )
    for contract in at_risk:
        risk_table.rows.append(
            [
                Cell(contract.account.name, "text", href=contract.account.get_absolute_url()),
                Cell(contract.number, "text", href=contract.get_absolute_url()),
                Cell(contract.end_date.isoformat(), "text"),
                Cell(contract.portal_users or 0, "int"),
                Cell(str(contract.owner), "text"),
            ]
        )
    report.tables = [expiring_table, ended_table, risk_table]
    report.charts = [
        Chart(
            "renewals-chart",
            "Renewed and lost contracts by month",
            "renewals",
            [("Renewed", 1), ("Lost", 3)],
            stacked=True,
            icon="arrow-repeat",
        ),
        Chart("expiring-chart", "Expiring value", "expiring", [("Value", 2)], icon="hourglass-split", kind="money"),
    ]
    report.notes = [
        "A contract that ended is renewed when its account has a later contract, else lost.",
        "Active and expiring figures are as of today; the period applies to renewals and losses.",
    ]
    return report


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    qs = base(user=user, filters=filters)
    now = today()
    metric = drill.get("metric", "active")
    list_params = {"owner": str(filters.owner_id) if filters.owner_id else ""}
    title = "Active contracts"
    if metric == "expiring":
        days = int(drill["days"]) if drill.get("days", "").isdecimal() else HORIZONS[-1]
        qs = qs.filter(status=Contract.Status.ACTIVE, end_date__gte=now, end_date__lte=now + dt.timedelta(days=days))
        title = f"Active contracts ending within {days} days"
        list_params.update(status="active", ends_before=(now + dt.timedelta(days=days)).isoformat())
    elif metric == "ended":
        qs = qs.filter(_ended(filters)).annotate(renewed=_successor())
        month = parse_date(f"{drill.get('month')}-01") if drill.get("month") else None
        if month is not None:
            qs = qs.filter(end_date__gte=month, end_date__lt=add_months(month, 1))
        if drill.get("outcome") == "renewed":
            qs, title = qs.filter(renewed=True), "Renewed contracts"
        elif drill.get("outcome") == "lost":
            qs, title = qs.filter(renewed=False), "Lost contracts"
        else:
            title = "Contracts that ended"
    elif metric == "losing_access":
        qs, title = qs.filter(_losing_access()), "Contracts whose end takes portal access away"
    else:
        qs = qs.filter(status=Contract.Status.ACTIVE)
        list_params["status"] = "active"
    return Records(
        title=title,
        queryset=qs.select_related("account", "owner").order_by("end_date", "id"),
        columns=["Contract", "Account", "Status", "Value", "Start", "End", "Owner"],
        row=lambda c: [
            (c.number, c.get_absolute_url()),
            (c.account.name, c.account.get_absolute_url()),
            c.get_status_display(),
            ("money", c.value),
            c.start_date,
            c.end_date,
            c.owner,
        ],
        amount_field="value",
        list_url=f"/contracts/?{query_string(list_params)}",
    )
