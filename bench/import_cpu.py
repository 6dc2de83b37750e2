"""One import, timed in-process with the CPU each side spent: for A/B comparisons of the run path.

``DATABASE_URL=postgres://…/<bench db> python -m bench.import_cpu [ROWS]`` stages the same kind
of file as ``bench.imports`` (default 50,000 rows), vacuums the tables an import writes, runs
``import_run`` in this process and prints its wall time, rows/s, this process's CPU (the worker's
Python, helper thread included) and its PostgreSQL backend's CPU (from /proc: same machine only),
then undoes the import. CPU is what to compare when the machine is busy: wall time is not.
"""

from __future__ import annotations

import io
import os
import sys
import time


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "false")
    django.setup()
    from django.db import connection

    from bench.imports import _file, _vacuum
    from iam.models import User
    from imports import services
    from imports.mapping import suggest_mapping
    from imports.undo import import_undo_run

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    actor = User.objects.filter(is_staff=True, is_active=True, is_superuser=False).order_by("pk").first()
    assert actor is not None, "seed the bench database first (manage.py seed_scale)"
    data, _clean = _file(rows, tag=f"cpu{int(time.time())}")
    job = services.import_stage(actor=actor, resource="contacts", stream=io.BytesIO(data), file_name="cpu.csv")
    mapping = suggest_mapping("contacts", job.headers)
    services.import_configure(actor=actor, job=job, mapping=mapping, policy="update_empty", default_country="FI")
    services.ImportJob.objects.filter(pk=job.pk).update(status="queued")
    _vacuum()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu() -> float:
        with open(f"/proc/{backend}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    pg, py, started = backend_cpu(), time.process_time(), time.perf_counter()
    services.import_run(job_id=job.pk)
    wall = time.perf_counter() - started
    print(
        f"{rows:,} rows in {wall:.2f} s = {rows / wall:,.0f} rows/s; "
        f"CPU: worker {time.process_time() - py:.2f} s, PostgreSQL {backend_cpu() - pg:.2f} s"
    )
    job.refresh_from_db()
    services.import_undo(actor=actor, job=job)
    import_undo_run(job_id=job.pk)  # eager settings ran it already; a queued one runs here


if __name__ == "__main__":
    main()
