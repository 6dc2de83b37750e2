"""Reports at scale: every report page, the manager's home, a drill-down and a CSV export.

Each page is fetched through gunicorn on loopback, signed in as operations (every owner's
figures: the most rows any reader aggregates) and, for the pages a rep opens most, as the
busiest seeded rep. Figures are the server's own p95 (``Server-Timing``) against the issue's
target of 300 ms, the queries per page (constant in data size: the tests assert them) and the
same SQL replayed with psycopg2 as the baseline. The daily report snapshot is taken first (so
the pipeline's trend has rows) and timed on its own, and so are the rollups' refresh (every day
from scratch, then the hourly run) that the activities pages read.
"""

from __future__ import annotations

import time

from bench.run import Gunicorn, Operation, Result, SuiteContext, _log
from bench.run import measure as measure_page

TARGET_MS = 300.0
REQUESTS = 30
ROUNDS = 3

PAGES = (
    ("Report: pipeline (all owners)", "/reports/pipeline/", "ops"),
    ("Report: pipeline (one rep)", "/reports/pipeline/", "rep"),
    ("Report: funnel (all owners)", "/reports/funnel/", "ops"),
    ("Report: contracts (all owners)", "/reports/contracts/", "ops"),
    ("Report: invitations (all owners)", "/reports/invitations/", "ops"),
    ("Report: portal adoption (all owners)", "/reports/portal/", "ops"),
    ("Report: activities (all owners)", "/reports/activities/", "ops"),
    ("Report: activities (one rep)", "/reports/activities/", "rep"),
    ("Report: data health (all owners)", "/reports/data-health/", "ops"),
    ("Manager home (team dashboard)", "/", "ops"),
    ("Report drill-down: open deals in proposal", "/reports/pipeline/records/?metric=open&stage=proposal", "ops"),
    ("Report CSV: pipeline by close month", "/reports/pipeline/?format=csv&table=by_month", "ops"),
)


def measure(ctx: SuiteContext) -> list[Result]:
    import re

    from analytics.reports.snapshots import report_snapshot_take

    results: list[Result] = []
    if not ctx.only or re.search(ctx.only, "Report snapshot"):
        started = time.perf_counter()
        owners = report_snapshot_take()
        seconds = time.perf_counter() - started
        results.append(
            Result(
                name="Report snapshot (daily job)",
                path="(service)",
                target_ms=None,
                requests=owners or 0,
                p50=round(seconds, 2),
                p95=round(seconds, 2),
                unit="s",
                note=f"{owners or 0} owners' rows, one INSERT … SELECT",
            )
        )
    if not ctx.only or re.search(ctx.only, "Report rollups"):
        from analytics.reports.rollups import report_rollups_refresh

        for label, full in (("every day", True), ("hourly run", False)):
            started = time.perf_counter()
            report_rollups_refresh(full=full)
            seconds = time.perf_counter() - started
            results.append(
                Result(
                    name=f"Report rollups ({label})",
                    path="(service)",
                    target_ms=None,
                    requests=1,
                    p50=round(seconds, 2),
                    p95=round(seconds, 2),
                    unit="s",
                    note="INSERT … SELECT … ON CONFLICT, DELETE of vanished groups",
                )
            )
    pages = [Operation(name, path, TARGET_MS, as_user=who) for name, path, who in PAGES]
    if ctx.only:
        pages = [op for op in pages if re.search(ctx.only, op.name)]
    if not pages:
        return results
    server = Gunicorn(database_url=ctx.database_url, workers=ctx.workers)
    try:
        for op in pages:
            result = measure_page(
                op,
                port=server.port,
                cookies=ctx.cookies,
                users=ctx.users,
                requests=REQUESTS,
                rounds=ROUNDS,
                clients=ctx.clients,
                time_cap=ctx.time_cap,
            )
            _log(f"[bench] {op.name}: p95 {result.p95} ms, {result.queries} queries ({result.status})")
            results.append(result)
    finally:
        server.stop()
    return results


def main() -> None:
    """``python -m bench.reports``: the reports' pages alone, on the DATABASE_URL's seeded data.

    Prints each page's server p50/p95, its queries and its SQL replayed alone (the baseline),
    with the load average before and after (the figures mean little on a loaded machine).
    """
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    django.setup()
    from django.db import connection

    from bench.run import _login_cookie
    from crm.management.commands.seed_scale import SEED_DOMAIN
    from iam.models import User

    users = {
        "rep": User.objects.get(email=f"rep001@{SEED_DOMAIN}"),
        "ops": User.objects.get(email=f"ops@{SEED_DOMAIN}"),
    }
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    ctx = SuiteContext(
        database_url=f"postgres://{db.get('USER') or ''}{password}@{host}/{db['NAME']}",
        users=users,
        cookies={key: _login_cookie(user) for key, user in users.items()},
        sizes={},
        only=os.environ.get("BENCH_ONLY") or None,
        clients=2,
        workers=2,
        time_cap=45.0,
    )
    with open("/proc/loadavg") as f:
        _log(f"[bench.reports] load average before: {f.read().strip()}")
    for r in measure(ctx):
        print(
            f"{r.name:45} p50 {r.p50 or 0:8.1f} {r.unit}  p95 {r.p95 or 0:8.1f} {r.unit}  "
            f"SQL p50 {r.baseline_p50 or 0:7.1f}  q={r.queries}  {r.status}  {r.note or ''}",
            flush=True,
        )
    with open("/proc/loadavg") as f:
        _log(f"[bench.reports] load average after: {f.read().strip()}")


if __name__ == "__main__":
    main()
