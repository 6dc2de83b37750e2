"""The reports' daily snapshot: each owner's open pipeline and active contracts, one row per day.

One ``INSERT … SELECT … GROUP BY`` writes the day's rows and one ``DELETE`` drops the owners who
no longer have any; a re-run the same day updates the rows in place (``ON CONFLICT``), so
running the job twice, or late, never duplicates a day.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from analytics.models import ReportSnapshot
from core.locks import advisory_xact_lock
from crm.models import Contract, Opportunity


def report_snapshot_take(*, now: dt.datetime | None = None) -> int | None:
    """Today's rows (in the site's time zone); returns how many owners, or None when another run holds the lock."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    table = connection.ops.quote_name(ReportSnapshot._meta.db_table)
    open_stages = list(Opportunity.OPEN_STAGES)
    placeholders = ", ".join(["%s"] * len(open_stages))
    sql = f"""
        INSERT INTO {table}
            (day, owner_id, open_deals, open_amount, weighted_amount, active_contracts, active_value, taken_at)
        SELECT %s, owner_id, SUM(open_deals), SUM(open_amount), SUM(weighted_amount),
               SUM(active_contracts), SUM(active_value), %s
        FROM (
            SELECT owner_id, COUNT(*) AS open_deals, SUM(amount) AS open_amount,
                   SUM(amount * probability / 100.0) AS weighted_amount,
                   0 AS active_contracts, 0 AS active_value
            FROM {Opportunity._meta.db_table} WHERE stage IN ({placeholders}) GROUP BY owner_id
            UNION ALL
            SELECT owner_id, 0, 0, 0, COUNT(*), SUM(value)
            FROM {Contract._meta.db_table} WHERE status = %s GROUP BY owner_id
        ) AS book
        WHERE 1 = 1
        GROUP BY owner_id
        ON CONFLICT (day, owner_id) DO UPDATE SET
            open_deals = EXCLUDED.open_deals, open_amount = EXCLUDED.open_amount,
            weighted_amount = EXCLUDED.weighted_amount, active_contracts = EXCLUDED.active_contracts,
            active_value = EXCLUDED.active_value, taken_at = EXCLUDED.taken_at
    """  # noqa: S608 (table names are ours, values are parameters)
    with transaction.atomic():
        if not advisory_xact_lock("report_snapshot"):
            return None
        with connection.cursor() as cursor:
            # Adapted as the ORM stores them, so the clean-up below compares like with like (SQLite keeps text).
            params = [connection.ops.adapt_datefield_value(day), connection.ops.adapt_datetimefield_value(now)]
            cursor.execute(sql, [*params, *open_stages, Contract.Status.ACTIVE])
            written = cursor.rowcount
        # Owners who had a row earlier today but no open deal or active contract now.
        ReportSnapshot.objects.filter(day=day).exclude(taken_at=now).delete()
    return written
