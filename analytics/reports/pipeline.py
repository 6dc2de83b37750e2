"""Pipeline: open opportunities by stage, owner and close month; won and lost; the forecast.

Opportunities carry no closing date of their own, so a won or lost deal counts in the month of
its expected close date (the date the rep keeps current until the deal closes). The period is
a window of close dates: the forecast is the open deals expected to close in it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncMonth

from analytics.models import ReportSnapshot
from analytics.reports.base import (
    Cell,
    Chart,
    Figure,
    Filters,
    Records,
    Report,
    Table,
    add_months,
    choice_fields,
    money,
    month_start,
    months_between,
    owner_q,
    parse_date,
    percent,
    plural,
    query_string,
    today,
    week_start,
)
from crm.models import Opportunity
from iam.models import User
from iam.permissions import is_crm_user

SLUG = "pipeline"
TITLE = "Pipeline"
ICON = "graph-up-arrow"
DESCRIPTION = "Open deals by stage, owner and close month, won and lost, win rate and the forecast."
FILTERS = ("tier", "industry", "territory")
RECORD_TYPE = "crm.opportunity"  # its filterable single-choice custom fields filter and group the report

ZERO = Decimal(0)


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(F("amount") * F("probability") / 100, output_field=DecimalField())


_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return add_months(month_start(now), -11), add_months(month_start(now), 7) - dt.timedelta(days=1)


def base(*, user: User, filters: Filters) -> QuerySet[Opportunity]:
    """The user's opportunities with every filter but the period applied."""
    qs = Opportunity.objects.visible_to(user).filter(owner_q(filters), filters.custom_q())
    if filters.has_account_filters():
        qs = qs.filter(filters.account_q("account__"))
    return qs


def _in_period(filters: Filters) -> Q:
    return Q(expected_close_date__gte=filters.start, expected_close_date__lte=filters.end)


def _sums(qs: QuerySet[Opportunity]) -> dict[str, object]:
    return qs.aggregate(
        count=Count("id"),
        amount=Coalesce(Sum("amount"), ZERO, output_field=_MONEY),
        weighted=Coalesce(Sum(_weighted()), ZERO, output_field=_MONEY),
    )


def build(*, user: User, filters: Filters) -> Report:
    qs = base(user=user, filters=filters)
    period = qs.filter(_in_period(filters))

    # 1: the period's deals by close month and stage (every figure, the stage and month tables),
    # 2: the open ones by owner. Two small groupings rather than one by month x stage x owner:
    # thousands of rows cost more to convert in Python than a second scan of the index costs.
    groups = list(
        period.annotate(month=TruncMonth("expected_close_date"))
        .values("month", "stage")
        .annotate(
            count=Count("id"),
            total=Sum("amount"),
            weighted=Sum(_weighted()),
            cycle=Sum(
                ExpressionWrapper(F("expected_close_date") - F("created_at__date"), output_field=DurationField())
            ),
        )
        .order_by()
    )
    owner_rows = list(
        period.filter(stage__in=Opportunity.OPEN_STAGES)
        .values("owner_id")
        .annotate(count=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by()
    )

    def add(into: dict[str, Any], row: dict[str, Any]) -> None:
        into["count"] = into.get("count", 0) + row["count"]
        into["total"] = into.get("total", ZERO) + (row["total"] or ZERO)
        into["weighted"] = into.get("weighted", ZERO) + (row["weighted"] or ZERO)

    by_stage: dict[str, dict[str, Any]] = {}
    monthly: dict[tuple[dt.date, str], dict[str, Any]] = {}
    owners = {row["owner_id"]: {**row, "total": row["total"] or ZERO} for row in owner_rows}
    won_sum: dict[str, Any] = {"count": 0, "total": ZERO, "cycle": dt.timedelta(0)}
    lost = 0
    for row in groups:
        month = row["month"] if isinstance(row["month"], dt.date) else row["month"].date()
        add(monthly.setdefault((month, row["stage"]), {}), row)
        if row["stage"] in Opportunity.OPEN_STAGES:
            add(by_stage.setdefault(row["stage"], {}), row)
        elif row["stage"] == Opportunity.Stage.WON:
            won_sum["count"] += row["count"]
            won_sum["total"] += row["total"] or ZERO
            won_sum["cycle"] += _duration(row["cycle"])
        else:
            lost += row["count"]
    by_owner = sorted(owners.values(), key=lambda o: (-o["total"], o["owner_id"]))[:50]
    # 3: the names of the owners shown, by primary key: grouping by them would join every user.
    # (An empty list would skip the query: ask for id 0 then, so the query count stays the same.)
    shown = [o["owner_id"] for o in by_owner] or [0]
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=shown)}
    won_count = won_sum["count"]
    closed: dict[str, Any] = {
        "won": won_count,
        "lost": lost,
        "won_amount": won_sum["total"],
        "avg_won": won_sum["total"] / won_count if won_count else None,
        "cycle": won_sum["cycle"] / won_count if won_count else None,
    }

    open_count = sum(row["count"] for row in by_stage.values())
    open_amount = money(sum((row["total"] or ZERO for row in by_stage.values()), ZERO))
    open_weighted = money(sum((row["weighted"] or ZERO for row in by_stage.values()), ZERO))
    decided = closed["won"] + closed["lost"]
    report = Report()
    report.figures = [
        Figure(
            "Open pipeline",
            open_amount,
            "money",
            f"{plural(open_count, 'deal')} closing in the period",
            {"metric": "open"},
        ),
        Figure("Weighted forecast", open_weighted, "money", "amount × probability", {"metric": "open"}),
        Figure(
            "Won",
            money(closed["won_amount"]),
            "money",
            plural(closed["won"], "deal"),
            {"metric": "won"},
        ),
        Figure(
            "Win rate",
            percent(closed["won"], decided),
            "percent",
            f"{closed['won']:,} won of {decided:,} closed",
            {"metric": "closed"},
        ),
        Figure(
            "Average deal",
            money(Decimal(closed["avg_won"])) if closed["avg_won"] is not None else None,
            "money",
            "won deals",
            {"metric": "won"},
        ),
        Figure(
            "Sales cycle",
            round(_days(closed["cycle"])) if closed["cycle"] is not None else None,
            "days",
            "created to close, won deals",
            {"metric": "won"},
        ),
    ]

    stage_table = Table("by_stage", "Open deals by stage", ["Stage", "Deals", "Amount", "Weighted"], icon="funnel")
    for stage in Opportunity.OPEN_STAGES:
        row = by_stage.get(stage, {})
        drill = {"metric": "open", "stage": stage}
        stage_table.rows.append(
            [
                Cell(Opportunity.Stage(stage).label, "text"),
                Cell(row.get("count", 0), "int", drill),
                Cell(money(row.get("total")), "money", drill),
                Cell(money(row.get("weighted")), "money", drill),
            ]
        )

    months = months_between(filters.start, filters.end)
    month_table = Table(
        "by_month",
        "Forecast and results by close month",
        ["Month", "Open deals", "Open amount", "Weighted forecast", "Won", "Won amount", "Lost"],
        icon="calendar3",
    )
    for month in months:
        opened = [monthly.get((month, stage), {}) for stage in Opportunity.OPEN_STAGES]
        won = monthly.get((month, Opportunity.Stage.WON), {})
        lost_row = monthly.get((month, Opportunity.Stage.LOST), {})
        key = month.strftime("%Y-%m")
        month_table.rows.append(
            [
                Cell(month.strftime("%b %Y"), "text"),
                Cell(sum(r.get("count", 0) for r in opened), "int", {"metric": "open", "month": key}),
                Cell(
                    money(sum((r.get("total") or ZERO for r in opened), ZERO)),
                    "money",
                    {"metric": "open", "month": key},
                ),
                Cell(
                    money(sum((r.get("weighted") or ZERO for r in opened), ZERO)),
                    "money",
                    {"metric": "open", "month": key},
                ),
                Cell(won.get("count", 0), "int", {"metric": "won", "month": key}),
                Cell(money(won.get("total")), "money", {"metric": "won", "month": key}),
                Cell(lost_row.get("count", 0), "int", {"metric": "lost", "month": key}),
            ]
        )

    owner_table = Table(
        "by_owner",
        "Open deals by owner",
        ["Owner", "Deals", "Amount", "Weighted"],
        icon="people",
        empty="No open deals.",
    )
    for row in by_owner:
        name = names.get(row["owner_id"], "")
        # The owner is a filter: a drill that names one narrows the report's own scope, never widens it.
        drill = {"metric": "open", "owner": str(row["owner_id"])}
        owner_table.rows.append(
            [
                Cell(name, "text"),
                Cell(row["count"], "int", drill),
                Cell(money(row["total"]), "money", drill),
                Cell(money(row["weighted"]), "money", drill),
            ]
        )

    report.tables = [stage_table, month_table, owner_table, _trend(user=user, filters=filters)]
    grouped = _by_custom_field(period, filters)
    if grouped is not None:
        report.tables.insert(3, grouped)
    report.charts = [
        Chart("stage-chart", "Open pipeline by stage", "by_stage", [("Amount", 2), ("Weighted", 3)], kind="money"),
        Chart(
            "month-chart",
            "Forecast and won by close month",
            "by_month",
            [("Weighted forecast", 3), ("Won amount", 5)],
            icon="calendar3",
            kind="money",
        ),
    ]
    report.charts.append(
        Chart(
            "trend-chart",
            "Open pipeline over time (daily snapshots)",
            "trend",
            [("Open amount", 1), ("Weighted", 2)],
            type="line",
            icon="graph-up",
            kind="money",
        )
    )
    report.notes = [
        "Won and lost deals count in the month of their expected close date; the period is a window of close dates.",
        "The trend comes from the nightly snapshot of each owner's book: owner filter only, up to today.",
    ]
    return report


def _by_custom_field(period: QuerySet[Opportunity], filters: Filters) -> Table | None:
    """Open deals by the value of the custom choice field the user groups by (one more query)."""
    field = next((f for f in choice_fields(RECORD_TYPE) if f.key == filters.group), None)
    if field is None:
        return None
    rows = {
        row["value"]: row
        for row in period.filter(stage__in=Opportunity.OPEN_STAGES)
        .annotate(value=KeyTextTransform(field.key, "custom_fields"))
        .values("value")
        .annotate(count=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by()
    }
    table = Table(
        "by_custom",
        f"Open deals by {field.label.lower()}",
        [field.label, "Deals", "Amount", "Weighted"],
        icon="ui-radios",
        empty="No open deals.",
    )
    for value, label in [*field.choice_labels().items(), (None, "No value")]:
        row = rows.get(value)
        if row is None:
            continue
        # The drill sets the field's own filter: its records are exactly the ones counted here.
        drill = {"metric": "open", f"cf_{field.key}": value} if value is not None else None
        table.rows.append(
            [
                Cell(label, "text"),
                Cell(row["count"], "int", drill),
                Cell(money(row["total"]), "money", drill),
                Cell(money(row["weighted"]), "money", drill),
            ]
        )
    return table


def _trend(*, user: User, filters: Filters) -> Table:
    """The open pipeline as the nightly snapshots saw it: the last snapshot of each week."""
    table = Table(
        "trend",
        "Open pipeline over time",
        ["Week of", "Open amount", "Weighted", "Open deals"],
        icon="graph-up",
        empty="No snapshots in this period yet: the first is taken tonight.",
    )
    if not is_crm_user(user):
        return table
    rows = (
        ReportSnapshot.objects.filter(day__gte=filters.start, day__lte=filters.end)
        .filter(owner_q(filters))
        .values("day")
        .annotate(amount=Sum("open_amount"), weighted=Sum("weighted_amount"), deals=Sum("open_deals"))
        .order_by("day")
    )
    weekly = {week_start(row["day"]): row for row in rows}
    for week, row in weekly.items():
        table.rows.append(
            [
                Cell(week.strftime("%d %b %Y"), "text"),
                Cell(money(row["amount"]), "money"),
                Cell(money(row["weighted"]), "money"),
                Cell(row["deals"], "int"),
            ]
        )
    return table


def _duration(value: object) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(days=float(value or 0))  # type: ignore[arg-type]


def _days(value: object) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    return float(value)  # type: ignore[arg-type]


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    qs = base(user=user, filters=filters)
    start, end = filters.start, filters.end
    month = parse_date(f"{drill.get('month')}-01") if drill.get("month") else None
    if month is not None:
        start, end = max(start, month), min(end, add_months(month, 1) - dt.timedelta(days=1))
    qs = qs.filter(expected_close_date__gte=start, expected_close_date__lte=end)
    metric = drill.get("metric", "open")
    if metric == "won":
        qs = qs.filter(stage=Opportunity.Stage.WON)
    elif metric == "lost":
        qs = qs.filter(stage=Opportunity.Stage.LOST)
    elif metric == "closed":
        qs = qs.filter(stage__in=(Opportunity.Stage.WON, Opportunity.Stage.LOST))
    else:
        qs = qs.filter(stage__in=Opportunity.OPEN_STAGES)
    if drill.get("stage") in Opportunity.Stage.values:
        qs = qs.filter(stage=drill["stage"])
    list_params = {"owner": str(filters.owner_id) if filters.owner_id else ""}
    if drill.get("stage"):
        list_params["stage"] = drill["stage"]
    elif metric == "open":
        list_params["open"] = "true"
    return Records(
        title={"won": "Won deals", "lost": "Lost deals", "closed": "Closed deals"}.get(metric, "Open deals"),
        queryset=qs.select_related("account", "owner").order_by("expected_close_date", "id"),
        columns=["Opportunity", "Account", "Stage", "Amount", "Probability", "Close date", "Owner"],
        row=lambda o: [
            (o.name, o.get_absolute_url()),
            (o.account.name, o.account.get_absolute_url()),
            o.get_stage_display(),
            ("money", o.amount),
            f"{o.probability} %",
            o.expected_close_date,
            o.owner,
        ],
        amount_field="amount",
        list_url=f"/opportunities/?{query_string(list_params)}",
    )
