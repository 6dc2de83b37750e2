"""The reports' rollups: closed days summed once, today counted live, the same figures either way."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import ActivityDay, RollupWatermark
from analytics.reports import activities
from analytics.reports.base import Filters
from analytics.reports.rollups import report_rollups_refresh
from crm.models import Activity
from tests.factories import AccountFactory, ActivityFactory

pytestmark = pytest.mark.django_db

URL = reverse("analytics:report_detail", args=["activities"])


@pytest.fixture
def history(sales_rep, other_rep):
    """Calls, meetings, tasks and emails over five weeks for two reps, some of them today."""
    mine, theirs = AccountFactory(owner=sales_rep), AccountFactory(owner=other_rep)
    now = timezone.now()
    for days_ago, kind, account in (
        (0, "call", mine),
        (0, "email", theirs),
        (1, "call", mine),
        (1, "meeting", mine),
        (3, "task", theirs),
        (9, "call", theirs),
        (15, "email", mine),
        (22, "meeting", mine),
        (33, "call", theirs),
        (33, "note", mine),
        (200, "call", mine),
    ):
        ActivityFactory(account=account, kind=kind, occurred_at=now - dt.timedelta(days=days_ago, minutes=1))
    return mine


def _figures(user, filters: Filters) -> dict:
    report = activities.build(user=user, filters=filters)
    return {
        "figures": [(f.label, f.value) for f in report.figures],
        "tables": {t.key: [[cell.value for cell in row] for row in t.rows] for t in report.tables},
    }


def _period() -> Filters:
    today = timezone.localdate()
    return Filters(start=today - dt.timedelta(days=60), end=today)


def _rows() -> list[tuple]:
    rows = ActivityDay.objects.order_by("day", "owner_id", "kind")
    return list(rows.values_list("id", "day", "owner_id", "kind", "count"))


def test_rollup_plus_todays_live_slice_equals_a_full_live_count(history, manager, sales_rep):
    live = _figures(manager, _period())
    live_rep = _figures(sales_rep, Filters(**{**_period().__dict__, "owner_id": sales_rep.pk}))
    assert report_rollups_refresh() == timezone.localdate()
    assert ActivityDay.objects.exists()
    assert not ActivityDay.objects.filter(day__gte=timezone.localdate()).exists()  # today stays live
    assert _figures(manager, _period()) == live
    assert _figures(sales_rep, Filters(**{**_period().__dict__, "owner_id": sales_rep.pk})) == live_rep
    # Something logged today after the refresh counts at once.
    ActivityFactory(account=history, kind="call", occurred_at=timezone.now())
    calls = dict(_figures(manager, _period())["figures"])["Calls"]
    assert calls == dict(live["figures"])["Calls"] + 1


def test_drill_down_from_rolled_up_cells_lists_exactly_the_counted_activities(history, manager_client):
    report_rollups_refresh()
    report = manager_client.get(URL, {"start": (timezone.localdate() - dt.timedelta(days=60)).isoformat()}).context[
        "report"
    ]
    for key, columns in (("by_week", (1, 2, 3, 4)), ("by_owner", (1, 2, 3, 4))):
        for row in report.table(key).rows:
            for column in columns:
                cell = row[column]
                assert manager_client.get(cell.href).context["summary"]["count"] == cell.value, (key, row[0].value)
    assert sum(row[1].value for row in report.table("by_week").rows) == 4  # calls in the last 60 days


def test_refresh_is_idempotent(history):
    report_rollups_refresh()
    rows, watermark = _rows(), RollupWatermark.objects.get()
    assert report_rollups_refresh() == timezone.localdate()
    assert _rows() == rows
    assert RollupWatermark.objects.get().taken_at == watermark.taken_at
    assert report_rollups_refresh(full=True) == timezone.localdate()
    assert _rows() == rows


def test_late_logged_moved_and_deleted_activities_come_right_at_the_next_refresh(history, manager):
    report_rollups_refresh()
    ActivityFactory(account=history, kind="meeting", occurred_at=timezone.now() - dt.timedelta(days=5))
    Activity.objects.filter(kind="email", occurred_at__lt=timezone.now() - dt.timedelta(days=10)).delete()
    Activity.objects.filter(kind="task").update(occurred_at=timezone.now() - dt.timedelta(days=12))
    report_rollups_refresh()
    rolled = _figures(manager, _period())
    RollupWatermark.objects.all().delete()  # no rollup: everything counted live
    assert _figures(manager, _period()) == rolled


def test_a_later_day_rolls_the_watermark_on(history, manager):
    report_rollups_refresh(now=timezone.now() - dt.timedelta(days=2))
    assert RollupWatermark.objects.get().through == timezone.localdate() - dt.timedelta(days=2)
    live = _figures(manager, _period())  # the last two days counted live
    report_rollups_refresh()
    assert RollupWatermark.objects.get().through == timezone.localdate()
    assert _figures(manager, _period()) == live


def test_account_filters_count_live(history, manager):
    report_rollups_refresh()
    tier = history.tier
    filters = Filters(**{**_period().__dict__, "tier": tier})
    expected = Activity.objects.filter(
        account__tier=tier, kind="call", occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_before
    ).count()
    assert dict(_figures(manager, filters)["figures"])["Calls"] == expected


def test_days_and_weeks_are_the_sites_local_ones(sales_rep, manager):
    """Monday 00:30 in Auckland is Sunday in UTC: it counts in the Monday's week, rolled up or live."""
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    with timezone.override(auckland):
        account = AccountFactory(owner=sales_rep)
        monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 14)
        at = dt.datetime.combine(monday, dt.time(0, 30), tzinfo=auckland)
        ActivityFactory(account=account, kind="call", occurred_at=at)
        ActivityFactory(account=account, kind="call", occurred_at=at - dt.timedelta(hours=1))  # Sunday, local
        filters = Filters(start=monday, end=monday + dt.timedelta(days=6))
        live = _figures(manager, filters)
        assert dict(live["figures"])["Calls"] == 1
        assert live["tables"]["by_week"][0][:2] == [monday.strftime("%d %b %Y"), 1]
        report_rollups_refresh()
        assert ActivityDay.objects.get(day=monday).count == 1
        assert ActivityDay.objects.get(day=monday - dt.timedelta(days=1)).count == 1
        assert _figures(manager, filters) == live


def test_query_count_is_the_same_with_the_rollup(history, manager_client, django_assert_max_num_queries):
    manager_client.get(URL)
    with django_assert_max_num_queries(30) as live:
        manager_client.get(URL)
    report_rollups_refresh()
    with django_assert_max_num_queries(len(live.captured_queries)) as rolled:
        manager_client.get(URL)
    assert len(rolled.captured_queries) == len(live.captured_queries)
