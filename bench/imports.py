"""Import and export at scale: 100,000 contacts with 10 % duplicates into the million, and the million out.

1. **Import** (``imports.services``): a CSV of ``BENCH_IMPORT_ROWS`` (100,000) contacts, of
   which 5 % repeat a row earlier in the same file and 5 % carry the email of one of the
   million contacts already there; each names its account by business id. Staged as the upload
   page does (this process), then run by a separate worker process (``import_run``, the Celery
   task's body; started before the upload, as a Celery worker runs before it) with the
   duplicate policy "update empty fields". Timed from the upload to the job's end: rows/s end
   to end, and the worker's peak RSS, at the full size and at a fifth of it (memory flat in
   file size). Baseline: a plain ``COPY`` of the same rows, already clean and with their
   account ids, into ``crm_contact`` (indexes included, rolled back). The run is undone
   afterwards (``import_undo``: the request's check, then the undo job's task run in this
   process), so the next run finds the same database; its time is reported too. Target:
   ≥ 5,000 rows/s.
2. **Export** (``exports.services.csv_stream``): every contact, streamed as CSV by a separate
   process into /dev/null: rows/s and peak RSS (constant memory: the stream holds one chunk).
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time

from bench.run import BASE_DIR, Result, SuiteContext, _log

NAME = "Import 100k contacts, 10 % duplicates"
EXPORT_NAME = "Export 1M contacts (streamed CSV)"
TARGET_ROWS_PER_S = 5000.0

# The child's own peak: VmHWM belongs to the process image, so it starts again at exec. Linux keeps
# ru_maxrss across fork + exec, so in a child it reports the bench process's own peak (which
# holds the whole test file) whenever that is larger: an earlier version read it and saw the
# worker "grow with the file" (142 MB at 20k rows, 214 MB at 100k) while it stayed at ~85 MB.
_PEAK = """
def peak_rss_kb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

# A running worker, as in production: it starts (interpreter, Django, the import code) before the
# upload and waits for the job id, so the timing is the import's, not a Python start-up's.
_WORKER = (
    _PEAK
    + """
import sys, time, django
django.setup()
from imports.services import import_run
print("ready", flush=True)
job_id = int(sys.stdin.readline())
started = time.perf_counter()
import_run(job_id=job_id)
print(f"{time.perf_counter() - started:.3f} {peak_rss_kb()}", flush=True)
"""
)

_EXPORTER = (
    _PEAK
    + """
import os, sys, time, django
django.setup()
from crm.models import Contact
from exports.columns import EXPORTS
from exports.services import csv_stream
started = time.perf_counter()
size = rows = 0
with open(os.devnull, "w") as sink:
    for piece in csv_stream(Contact.objects.order_by("last_name", "pk"), EXPORTS["contacts"].columns):
        sink.write(piece)
        size += len(piece)
        rows += piece.count(chr(10))
print(f"{time.perf_counter() - started:.3f} {peak_rss_kb()} {rows - 1} {size}")
"""
)


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
    }


def _child(script: str, database_url: str, *args: str) -> list[str]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, *args],
        env=_env(database_url),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1].split()


def _start_worker(database_url: str) -> subprocess.Popen[str]:
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _WORKER],
        env=_env(database_url),
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        worker.kill()
        raise RuntimeError("The import worker did not start.")
    return worker


def _worker_run(worker: subprocess.Popen[str], job_id: int) -> list[str]:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(f"{job_id}\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if worker.wait(timeout=60) != 0 or not line:
        raise RuntimeError("The import worker failed.")
    return line.split()


def _file(rows: int, tag: str) -> tuple[bytes, list[tuple]]:
    """The CSV, and its rows as COPY will take them (clean, with account ids)."""
    from django.db import connection

    rng = random.Random(7)  # noqa: S311 (test data, not a secret)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, business_id, owner_id FROM crm_account WHERE business_id IS NOT NULL ORDER BY id LIMIT 2000"
        )
        accounts = cursor.fetchall()
        cursor.execute("SELECT email FROM crm_contact WHERE email <> '' ORDER BY id LIMIT %s", [rows // 20])
        known = [r[0] for r in cursor.fetchall()]
    by_business_id = {a[1]: a for a in accounts}
    out = io.StringIO()
    out.write("First name,Last name,Email,Phone,Business ID,Job title\n")
    clean: list[tuple] = []
    written: list[str] = []
    for i in range(rows):
        if i % 20 == 10 and written:  # 5 %: a row repeating an earlier row of the file
            line = written[rng.randrange(len(written))]
        elif i % 20 == 15 and known:  # 5 %: an existing contact's email
            account = accounts[rng.randrange(len(accounts))]
            line = f"Known,Person{i},{known.pop()},+35840{rng.randrange(1000000, 9999999)},{account[1]},"
        else:
            account = accounts[rng.randrange(len(accounts))]
            line = (
                f"First{i},Last{i % 997}x{tag},first{i}.{tag}@import{i % 50}.example,"
                f"+35840{rng.randrange(1000000, 9999999)},{account[1]},Buyer"
            )
            written.append(line)
        out.write(line + "\n")
        first, last, email, phone, business_id, title = line.split(",")
        account = by_business_id[business_id]
        clean.append((account[0], first, last, email.lower(), phone, title, account[2]))
    return out.getvalue().encode(), clean


def _copy_baseline(clean: list[tuple]) -> float:
    from django.db import connection, transaction

    buffer = io.StringIO()
    for account_id, first, last, email, phone, title, owner_id in clean:
        buffer.write(f"{account_id}\t{first}\t{last}\t{email}\t{phone}\t{title}\t{owner_id}\tnow\tnow\t[]\tf\t\n")
    buffer.seek(0)
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_from(
                buffer,
                "crm_contact",
                columns=(
                    "account_id",
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "job_title",
                    "owner_id",
                    "created_at",
                    "updated_at",
                    "other_emails",
                    "consent_to_contact",
                    "verification_method",
                ),
            )
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


class _Rollback(Exception):
    pass


def _undo(actor, job) -> tuple[float, float]:
    """The undo as the user starts it and the worker runs it, here in-process: the request's check
    (the result page runs the same one) on its own, then the request and the task, timed together."""
    from config.celery import app
    from imports import services

    started = time.perf_counter()
    services.import_undo_allowed(job)
    check_s = time.perf_counter() - started
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the queued task runs in this process, not on a broker's worker
    try:
        started = time.perf_counter()
        services.import_undo(actor=actor, job=job)
        undo_s = time.perf_counter() - started
    finally:
        app.conf.task_always_eager = eager
    job.refresh_from_db()
    if job.status != "undone":
        raise RuntimeError(f"The undo of import {job.pk} ended {job.status}, not undone.")
    return undo_s, check_s


def _vacuum() -> None:
    """What autovacuum does between two imports on a server that runs it: the previous run's
    undo and the COPY baseline's rolled-back rows leave dead index entries in the tables the
    next run writes. (The bench machine's PostgreSQL runs with autovacuum off; without this,
    the 100,000-row run met the 20,000-row run's leftovers and took ~20 % longer.)"""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("crm_contact", "history_recordchange", "imports_importedrecord", "imports_importchunk"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _run_import(ctx: SuiteContext, rows: int, actor) -> dict[str, float]:
    from imports import services
    from imports.mapping import suggest_mapping

    data, clean = _file(rows, tag=f"r{rows}t{int(time.time())}")
    _vacuum()
    worker = _start_worker(ctx.database_url)
    started = time.perf_counter()
    job = services.import_stage(actor=actor, resource="contacts", stream=io.BytesIO(data), file_name="bench.csv")
    services.import_configure(
        actor=actor,
        job=job,
        mapping=suggest_mapping("contacts", job.headers),
        policy="update_empty",
        default_country="FI",
    )
    services.ImportJob.objects.filter(pk=job.pk).update(status="queued")
    staged = time.perf_counter() - started
    seconds, rss_kb = _worker_run(worker, job.pk)
    total = time.perf_counter() - started
    job.refresh_from_db()
    copy_s = _copy_baseline(clean)
    undo_s, check_s = _undo(actor, job)
    figures = {
        "rows": rows,
        "staged_s": staged,
        "worker_s": float(seconds),
        "total_s": total,
        "rss_mb": int(rss_kb) / 1024,
        "copy_s": copy_s,
        "undo_s": undo_s,
        "undo_check_s": check_s,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "failed": job.failed_count,
    }
    _log(f"[bench] import {rows:,}: {figures}")
    return figures


def measure(ctx: SuiteContext) -> list[Result]:
    import re

    wants_import = not ctx.only or re.search(ctx.only, NAME)
    wants_export = not ctx.only or re.search(ctx.only, EXPORT_NAME)
    results: list[Result] = []
    if wants_import:
        results.append(_measure_import(ctx))
    if wants_export:
        results.append(_measure_export(ctx))
    return results


def _measure_import(ctx: SuiteContext) -> Result:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", 100_000))
    actor = ctx.users["rep"]
    small = _run_import(ctx, max(rows // 5, 1000), actor)
    full = _run_import(ctx, rows, actor)
    rate = full["rows"] / full["total_s"]
    copy_rate = full["rows"] / full["copy_s"]
    note = (
        f"{full['rows']:,} rows in {full['total_s']:.1f} s "
        f"(staging {full['staged_s']:.1f} s, worker {full['worker_s']:.1f} s): "
        f"{full['created']:,} created, {full['updated']:,} updated, "
        f"{full['skipped']:,} skipped, {full['failed']:,} failed; "
        f"worker peak RSS {full['rss_mb']:.0f} MB ({small['rss_mb']:.0f} MB at {small['rows']:,} rows); "
        f"plain COPY {full['copy_s']:.2f} s ({copy_rate:,.0f} rows/s, ratio {copy_rate / rate:.1f}×); "
        f"undo {full['undo_s']:.1f} s (as a job, in-process; its check {full['undo_check_s']:.2f} s)"
    )
    return Result(
        name=NAME,
        path="imports.services.import_run",
        target_ms=TARGET_ROWS_PER_S,
        unit="rows/s",
        p50=round(rate, 1),
        p95=round(rate, 1),
        baseline_p50=round(copy_rate, 1),
        ratio=round(copy_rate / rate, 2),
        passed=rate >= TARGET_ROWS_PER_S,
        requests=full["rows"],
        note=note,
    )


def _measure_export(ctx: SuiteContext) -> Result:
    seconds, rss_kb, exported, size = _child(_EXPORTER, ctx.database_url)
    export_rate = int(exported) / float(seconds)
    result = Result(
        name=EXPORT_NAME,
        path="exports.services.csv_stream",
        target_ms=None,
        unit="rows/s",
        p50=round(export_rate, 1),
        p95=round(export_rate, 1),
        requests=int(exported),
        note=(
            f"{int(exported):,} rows, {int(size) / 1e6:,.0f} MB in {float(seconds):.1f} s; "
            f"peak RSS {int(rss_kb) / 1024:.0f} MB"
        ),
    )
    _log(f"[bench] export: {result.note}")
    return result
