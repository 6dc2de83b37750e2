"""An import through a real Redis broker and a real Celery worker process, killed (SIGKILL) in
the middle of a chunk and started again: the import completes with every row taken in once.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from crm.models import Account, Contact
from imports import services
from imports.mapping import suggest_mapping
from imports.models import ImportChunk, ImportedRecord, ImportJob
from tests.factories import AccountFactory, StaffFactory
from tests.invitations import test_worker_crash as crash

broker_queue = crash.broker_queue  # a real Redis broker, this test's own queue

CHUNK = 5
ROWS = 40  # 8 chunks; the fourth names a company whose new account the test keeps from committing


def _start_worker(queue: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": crash._database_url(),
        "REDIS_URL": crash.REDIS_URL,
        "CELERY_BROKER_URL": crash.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CLIENTELE_TEST_QUEUE": queue,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "tests.invitations.celery_app", "worker",
        "-P", "solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=crash.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def _worker_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_resumes_with_nothing_duplicated(broker_queue, settings, tmp_path):
    settings.IMPORTS_CHUNK_SIZE = CHUNK
    rep = StaffFactory(staff_role="sales_rep")
    AccountFactory(name="Acme Oy", business_id="2112345-6")
    lines = []
    for i in range(ROWS):
        # Rows 15-19 (the fourth chunk) name a company the CRM does not know: the import creates it.
        company = "Blocker Oy,BLOCK-1" if 15 <= i < 20 else "Acme Oy,2112345-6"
        lines.append(f"P{i},Person{i},p{i}@acme.example,+3584012345{i:02d},{company}\n")
    data = ("First name,Last name,Email,Phone,Company,Business ID\n" + "".join(lines)).encode()
    job = services.import_stage(actor=rep, resource="contacts", stream=io.BytesIO(data), file_name="kill.csv")
    services.import_configure(actor=rep, job=job, mapping=suggest_mapping("contacts", job.headers), policy="skip")
    services.import_start(actor=rep, job=job)  # queued in Redis; no worker runs yet
    log = tmp_path / "worker.log"
    worker = restarted = None
    try:
        with transaction.atomic():
            # An uncommitted account with the same business id: the worker's INSERT of Blocker Oy
            # waits on the unique index, inside the fourth chunk's transaction, until this one ends.
            AccountFactory(name="Held Oy", business_id="BLOCK-1")
            worker = _start_worker(broker_queue, log)
            crash._wait(
                lambda: ImportJob.objects.get(pk=job.pk).processed_rows == 3 * CHUNK and _worker_waits_on_a_lock(),
                timeout=180, what="the worker to stop inside the fourth chunk", log=log,
            )  # fmt: skip
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            transaction.set_rollback(True)  # the held account goes; the dead worker's chunk rolled back
        job.refresh_from_db()
        assert (job.status, job.processed_rows, job.created_count) == ("running", 15, 15)
        assert Contact.objects.count() == 15

        restarted = _start_worker(broker_queue, log)
        # What the beat schedule does for a job whose worker was lost: queue the run again.
        assert services.imports_resume_stalled(stall_seconds=0) == 1
        crash._wait(
            lambda: ImportJob.objects.get(pk=job.pk).status == "done",
            timeout=180, what="the restarted worker to finish the import", log=log,
        )  # fmt: skip
    finally:
        for process in (worker, restarted):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)

    job.refresh_from_db()
    assert (job.processed_rows, job.created_count, job.skipped_count, job.failed_count) == (ROWS, ROWS, 0, 0)
    assert Contact.objects.count() == ROWS
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(f"p{i}@acme.example" for i in range(ROWS))
    assert Account.objects.filter(business_id="BLOCK-1").count() == 1
    assert ImportedRecord.objects.filter(job=job, action="created", record_type="crm.contact").count() == ROWS
    assert not ImportChunk.objects.filter(job=job, done=False).exists()
