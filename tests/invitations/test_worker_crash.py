"""A batch through a real Redis broker, a real Celery worker process and a real SMTP server:
the worker is killed (SIGKILL) mid-batch and restarted, and every recipient gets exactly one email.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from crm.models import Contact
from invitations import batches
from invitations.models import BatchRecipient, InvitationBatch
from tests.factories import ContactFactory, ContractFactory, StaffFactory
from tests.invitations.celery_app import conf_override, forget_result_backend, forget_routing, queue_name
from tests.invitations.factories import roles

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RECIPIENTS = 30
HELD_AFTER = 12


def _redis_answers() -> bool:
    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(queue: str, sink, var_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": sink.host,
        "EMAIL_PORT": str(sink.port),
        "INVITATIONS_BATCH_CHUNK_SIZE": "5",
        "INVITATIONS_BATCH_STALL_SECONDS": "1",
        "CLIENTELE_TEST_QUEUE": queue,
        "CLIENTELE_VAR_DIR": str(var_dir),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "tests.invitations.celery_app", "worker",
        "-P", "solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def _wait(condition, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}. Worker log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def broker_queue():
    if connection.vendor != "postgresql":
        pytest.skip("A worker process shares the test database only on PostgreSQL.")
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}; CI must have it.")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    queue = queue_name()
    changed = {"task_always_eager": False, "broker_url": REDIS_URL, "task_default_queue": queue}
    previous = conf_override(app, changed)
    # Celery keeps the queues and producers of its first publish in this process: after any
    # earlier test that published, the task would go to that queue, which no worker of ours reads
    # (the import worker-kill test timed out this way after the dedup tests on the same process).
    forget_routing(app)
    try:
        yield queue
    finally:
        try:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
        except Exception:  # noqa: BLE001, S110 - best effort: a leftover test queue is harmless
            pass
        conf_override(app, previous)
        forget_result_backend(app)
        forget_routing(app)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_resumes_and_each_recipient_gets_exactly_one_email(broker_queue, smtp_sink, tmp_path):
    manager = StaffFactory(staff_role="sales_manager")
    account = ContractFactory().account
    emails = [f"person{i:02d}@acme-industries.com" for i in range(RECIPIENTS)]
    for email in emails:
        ContactFactory(account=account, email=email)
    log = tmp_path / "worker.log"
    smtp_sink.hold_after(HELD_AFTER)  # the 13th message waits for its "250" ... and the worker dies

    worker = _start_worker(broker_queue, smtp_sink, tmp_path, log)
    restarted = None
    try:
        batch = batches.invitation_batch_create(
            actor=manager, name="Crash test", source="contacts",
            queryset=Contact.objects.filter(account=account), roles=roles("buyer"),
        )  # fmt: skip
        _wait(smtp_sink.holding.is_set, timeout=180, what="the sink to hold a message", log=log)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        smtp_sink.release()

        # Every message the server confirmed was recorded before the next one went out.
        assert BatchRecipient.objects.filter(batch=batch, state="sent").count() == HELD_AFTER
        assert BatchRecipient.objects.filter(batch=batch, state="sending").exists()

        restarted = _start_worker(broker_queue, smtp_sink, tmp_path, log)
        _wait(
            lambda: InvitationBatch.objects.get(pk=batch.pk).status == "finished",
            timeout=240, what="the restarted worker to finish the batch", log=log,
        )  # fmt: skip
    finally:
        for process in (worker, restarted):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)

    assert smtp_sink.count_by_recipient == dict.fromkeys(emails, 1)
    assert set(BatchRecipient.objects.filter(batch=batch).values_list("state", flat=True)) == {"sent"}
    assert settings.CELERY_TASK_ACKS_LATE
