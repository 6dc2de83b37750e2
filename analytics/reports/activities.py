"""Activities: calls, meetings and tasks per owner per week, and the tasks that are overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from analytics.models import ActivityDay
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
    query_string,
    today,
    week_start,
    weeks_between,
)
from analytics.reports.rollups import ACTIVITIES, live_from, local_midnight, rollup_through
from crm.models import Activity
from iam.models import User
from iam.permissions import is_crm_user

SLUG = "activities"
TITLE = "Activities"
ICON = "calendar-check"
DESCRIPTION = "Calls, meetings and tasks per owner per week, and overdue tasks."
FILTERS = ("tier", "industry", "territory")

KINDS = (Activity.Kind.CALL, Activity.Kind.MEETING, Activity.Kind.TASK, Activity.Kind.EMAIL)
OWNERS_SHOWN = 50


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return week_start(now) - dt.timedelta(weeks=11), now


def base(*, user: User, filters: Filters) -> QuerySet[Activity]:
    qs = Activity.objects.visible_to(user).filter(owner_q(filters))
    if filters.has_account_filters():
        qs = qs.filter(filters.account_q("account__"))
    return qs


def _overdue() -> Q:
    return Q(kind=Activity.Kind.TASK, done=False, due_at__lt=timezone.now())


def build(*, user: User, filters: Filters) -> Report:
    qs = base(user=user, filters=filters)
    # 1: how far the daily rollup reaches (it knows owners, not accounts: account filters count live).
    through = None if filters.has_account_filters() else rollup_through(ACTIVITIES)
    split = live_from(through, filters.start, filters.end)
    # 2: the closed days from the rollup, 3: the rest live (one scan of the covering index), both
    # by week, kind and owner; both tables are sums over these rows.
    rolled = (
        ActivityDay.objects.filter(day__gte=filters.start, day__lt=split, kind__in=KINDS)
        .filter(owner_q(filters))
        .annotate(week=TruncWeek("day"))
        .values("week", "kind", "owner_id")
        .annotate(n=Sum("count"))
        .order_by()
    )
    if not is_crm_user(user):
        rolled = rolled.none()
    live = (
        qs.filter(occurred_at__gte=local_midnight(split), occurred_at__lt=filters.end_before, kind__in=KINDS)
        .annotate(week=TruncWeek("occurred_at"))
        .values("week", "kind", "owner_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    weekly: dict[tuple[dt.date, str], int] = {}
    owners: dict[int, dict[str, Any]] = {}
    for row in (*rolled, *live):
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        week_kind = (week, row["kind"])
        weekly[week_kind] = weekly.get(week_kind, 0) + row["n"]
        book = owners.setdefault(row["owner_id"], {"owner_id": row["owner_id"], "total": 0, **dict.fromkeys(KINDS, 0)})
        book[row["kind"]] += row["n"]
        book["total"] += row["n"]
    by_owner = sorted(owners.values(), key=lambda o: (-o["total"], o["owner_id"]))[:OWNERS_SHOWN]
    # 4: the names of the owners shown.
    # (An empty list would skip the query: ask for id 0 then, so the page's query count stays one.)
    shown = [o["owner_id"] for o in by_owner] or [0]
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=shown)}
    # 5: overdue tasks by owner (today, whatever the period).
    overdue = {
        row["owner_id"]: row["n"] for row in qs.filter(_overdue()).values("owner_id").annotate(n=Count("*")).order_by()
    }

    totals = {kind: sum(n for (_, k), n in weekly.items() if k == kind) for kind in KINDS}
    report = Report()
    report.figures = [
        Figure("Calls", totals[Activity.Kind.CALL], "int", "in the period", {"metric": "done", "kind": "call"}),
        Figure(
            "Meetings", totals[Activity.Kind.MEETING], "int", "in the period", {"metric": "done", "kind": "meeting"}
        ),
        Figure("Tasks", totals[Activity.Kind.TASK], "int", "in the period", {"metric": "done", "kind": "task"}),
        Figure("Emails", totals[Activity.Kind.EMAIL], "int", "in the period", {"metric": "done", "kind": "email"}),
        Figure("Overdue tasks", sum(overdue.values()), "int", "open, due date passed", {"metric": "overdue"}),
    ]
    week_table = Table("by_week", "Per week", ["Week of", "Calls", "Meetings", "Tasks", "Emails"], icon="calendar-week")
    for week in weeks_between(filters.start, filters.end):
        key = week.isoformat()
        week_table.rows.append(
            [Cell(week.strftime("%d %b %Y"), "text")]
            + [
                Cell(weekly.get((week, kind), 0), "int", {"metric": "done", "kind": kind, "week": key})
                for kind in KINDS
            ]
        )
    owner_table = Table(
        "by_owner",
        "Per owner",
        ["Owner", "Calls", "Meetings", "Tasks", "Emails", "Per week", "Overdue tasks"],
        icon="people",
        empty="No activities in this period.",
    )
    weeks = max(1, len(weeks_between(filters.start, filters.end)))
    for row in by_owner:
        name = names.get(row["owner_id"], "")
        owner = str(row["owner_id"])
        owner_table.rows.append(
            [Cell(name, "text")]
            + [Cell(row[kind], "int", {"metric": "done", "kind": kind, "owner": owner}) for kind in KINDS]
            + [
                Cell(round(row["total"] / weeks, 1), "number"),
                Cell(overdue.get(row["owner_id"], 0), "int", {"metric": "overdue", "owner": owner}),
            ]
        )
    report.tables = [week_table, owner_table]
    report.charts = [
        Chart(
            "activity-week-chart",
            "Activities per week",
            "by_week",
            [("Calls", 1), ("Meetings", 2), ("Tasks", 3), ("Emails", 4)],
            stacked=True,
            icon="calendar-week",
        ),
    ]
    report.notes = ["Weeks start on Monday, in the site's time zone; overdue tasks are counted as of now."]
    return report


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    qs = base(user=user, filters=filters)
    if drill.get("metric") == "overdue":
        qs, title = qs.filter(_overdue()), "Overdue tasks"
        list_params = {"kind": "task", "done": "false"}
    else:
        start, end = filters.start_at, filters.end_before
        week = parse_date(drill.get("week"))
        if week is not None:
            week_filters = Filters(start=week, end=week + dt.timedelta(days=6))
            start, end = max(start, week_filters.start_at), min(end, week_filters.end_before)
        qs = qs.filter(occurred_at__gte=start, occurred_at__lt=end, kind__in=KINDS)
        kind = drill.get("kind")
        if kind in Activity.Kind.values:
            qs = qs.filter(kind=kind)
        title = f"{Activity.Kind(kind).label}s" if kind in Activity.Kind.values else "Activities"
        list_params = {"kind": kind or ""}
    list_params["owner"] = str(filters.owner_id) if filters.owner_id else ""
    return Records(
        title=title,
        queryset=qs.select_related("owner").order_by("-occurred_at", "-id"),
        columns=["Activity", "Kind", "When", "Due", "Done", "Owner"],
        row=lambda a: [a.subject, a.get_kind_display(), a.occurred_at, a.due_at, "yes" if a.done else "no", a.owner],
        list_url=f"/activities/?{query_string(list_params)}",
    )
