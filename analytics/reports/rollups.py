"""Rollups: what a report would otherwise rescan on every page view, summed once per local day.

A rollup holds closed days only: the days before its watermark's ``through`` (the day of the
last refresh, in the site's time zone). A report sums the rollup's rows for the part of its
period before ``through`` and counts the rest — today at least — live, so what it shows is the
full live count as of the last refresh, plus everything since.

The refresh (``report_rollups_refresh``, hourly by beat) is set-based and idempotent: one
``INSERT … SELECT … GROUP BY … ON CONFLICT`` that rewrites only rows whose count differs, and
one ``DELETE`` of the groups that no longer exist; a re-run with nothing changed writes nothing.
It recomputes the last ``REPORTS_ROLLUP_REFRESH_DAYS`` days each time, so an activity logged
late, moved or deleted within that window is right again after the next run (``full=True``,
or the first run, recomputes every day). The same SQL runs on PostgreSQL and SQLite.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import ActivityDay, RollupWatermark
from core.locks import advisory_xact_lock
from crm.models import Activity

ACTIVITIES = "activities"


def rollup_through(name: str) -> dt.date | None:
    """The first day a rollup does not cover (None: never refreshed, count everything live)."""
    return RollupWatermark.objects.filter(name=name).values_list("through", flat=True).first()


def live_from(through: dt.date | None, start: dt.date, end: dt.date) -> dt.date:
    """The first day of the period from ``start`` to ``end`` counted live: rolled-up days come before it."""
    if through is None:
        return start
    return min(max(through, start), end + dt.timedelta(days=1))


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _upsert(*, model: type[ActivityDay], keys: tuple[str, ...], source: QuerySet, since: dt.date | None) -> None:
    """Bring ``model``'s rows from ``since`` on in line with ``source`` (grouped: ``keys`` + ``count``)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(keys)
    select_sql, params = source.query.sql_with_params()
    match = " AND ".join(f"s.{key} = {table}.{key}" for key in keys)
    # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON. ORDER BY the
    # day: a period's rows then sit together on disk.
    upsert = f"""
        INSERT INTO {table} ({columns}, count)
        SELECT {columns}, n FROM ({select_sql}) AS s WHERE true ORDER BY {keys[0]}
        ON CONFLICT ({columns}) DO UPDATE SET count = excluded.count WHERE {table}.count <> excluded.count
    """  # noqa: S608 (table and column names are ours, values are parameters)
    window = "day >= %s AND " if since is not None else ""
    window_params = [connection.ops.adapt_datefield_value(since)] if since is not None else []
    gone = f"""
        DELETE FROM {table} WHERE {window}NOT EXISTS (SELECT 1 FROM ({select_sql}) AS s WHERE {match})
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(upsert, params)
        cursor.execute(gone, [*window_params, *params])


def report_rollups_refresh(*, now: dt.datetime | None = None, full: bool = False) -> dt.date | None:
    """Refresh the rollups up to today, exclusive; returns ``through`` (None: another run holds the lock)."""
    now = now or timezone.now()
    through = timezone.localdate(now)
    with transaction.atomic():
        if not advisory_xact_lock("report_rollups"):
            return None
        previous = rollup_through(ACTIVITIES)
        since = None
        if previous is not None and not full:
            since = min(previous, through) - dt.timedelta(days=settings.REPORTS_ROLLUP_REFRESH_DAYS)
        activities = Activity.objects.filter(occurred_at__lt=local_midnight(through))
        if since is not None:
            activities = activities.filter(occurred_at__gte=local_midnight(since))
        grouped = (
            activities.annotate(day=TruncDate("occurred_at"))
            .values("day", "owner_id", "kind")
            .annotate(n=Count("*"))
            .order_by()
        )
        _upsert(model=ActivityDay, keys=("day", "owner_id", "kind"), source=grouped, since=since)
        # Rows of days from ``through`` on would be counted twice (a clock moved back): drop them.
        ActivityDay.objects.filter(day__gte=through).delete()
        if previous != through:
            RollupWatermark.objects.update_or_create(name=ACTIVITIES, defaults={"through": through, "taken_at": now})
    return through
