"""Batch invitations end to end: a batch through a real Celery worker (Redis broker) into a real SMTP server.

What is measured: from ``invitation_batch_create`` (the INSERT … SELECT of the recipients)
until the batch is finished and the SMTP sink holds one message per recipient, as
invitations per second; and the worker's peak resident memory (``VmHWM`` of its processes).
Targets (issue 5): at least 1,000 invitations/s, worker memory at most 300 MB whatever the size.

The recipients are contacts of an account of its own (``Invitation benchmark``). They are
created for the run and removed after it, with the run's batch and invitations: what
``seed_scale`` loaded stays exactly what it checks for, so the next ``make bench`` reuses it.
Size: ``BENCH_INVITATION_RECIPIENTS`` (default 100,000)
or ``ctx.sizes["invitation_recipients"]``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.run import Result, _log

if TYPE_CHECKING:
    from bench.run import SuiteContext

BASE_DIR = Path(__file__).resolve().parent.parent
ACCOUNT_NAME = "Invitation benchmark"
DOMAIN = "invitation-bench.example"
NAME = "Batch invitations: {n:,} recipients, worker → SMTP"
TARGET_RATE = 1_000.0  # invitations/s
TARGET_RSS_MB = 300.0
# Worker processes with a thread pool each: sending is mostly waiting for the SMTP server's and
# the database's replies, which threads overlap (BENCH_INVITATION_WORKERS adds processes).
WORKER_PROCESSES = int(os.environ.get("BENCH_INVITATION_WORKERS", 1))
CONCURRENCY = int(os.environ.get("BENCH_INVITATION_THREADS", 8))
# The SMTP server is aiosmtpd, in processes of its own sharing one port, so it is not what is measured.
SINK_PROCESSES = 2


def _recipients(n: int):
    """The benchmark account and its ``n`` contacts (created if missing, topped up when n grows)."""
    from crm.models import Account, Contact
    from iam.models import User

    owner = User.objects.filter(is_superuser=True).order_by("pk").first()
    account = Account.objects.filter(name=ACCOUNT_NAME).first() or Account.objects.create(
        name=ACCOUNT_NAME, owner=owner
    )
    have = account.contacts.count()
    if have < n:
        _log(f"[bench] invitations: creating {n - have:,} benchmark contacts")
        batch = []
        for i in range(have, n):
            batch.append(
                Contact(
                    account=account,
                    first_name="Bench",
                    last_name=f"Recipient {i:06d}",
                    email=f"r{i:06d}@{DOMAIN}",
                    owner=owner,
                )
            )
            if len(batch) == 5_000:
                Contact.objects.bulk_create(batch)
                batch = []
        Contact.objects.bulk_create(batch)
    last_id = account.contacts.order_by("pk").values_list("pk", flat=True)[n - 1]
    return owner, account, Contact.objects.filter(account=account, pk__lte=last_id)


def _forget_run(account, *, contacts: bool = False) -> None:
    """Delete the benchmark's batches and invitations (and, with ``contacts``, the account too)."""
    from invitations.models import BatchRecipient, Invitation, InvitationBatch

    batch_ids = list(
        InvitationBatch.objects.filter(recipients__account=account).values_list("pk", flat=True).distinct()
    )
    BatchRecipient.objects.filter(batch_id__in=batch_ids).delete()
    Invitation.objects.filter(account=account).delete()
    InvitationBatch.objects.filter(pk__in=batch_ids).delete()
    if contacts:  # the audit trail is append-only: its events of the run stay
        account.contacts.all().delete()
        account.delete()


def _process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _peak_rss_mb(pids: list[int]) -> dict[int, float]:
    peaks = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                match = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
        except OSError:
            continue
        if match:
            peaks[pid] = int(match.group(1)) / 1024
    return peaks


def _start_worker(database_url: str, redis_url: str, queue: str, sink, log: Path, concurrency: int, number: int):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",  # the application's own logs; Celery's come from --loglevel
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": sink.host,
        "EMAIL_PORT": str(sink.port),
        "CLIENTELE_TEST_QUEUE": queue,
        "CLIENTELE_VAR_DIR": tempfile.mkdtemp(prefix="bench-worker-"),
    }
    loglevel = os.environ.get("BENCH_WORKER_LOGLEVEL", "INFO")  # INFO: "ready." tells us it consumes
    command = [
        sys.executable, "-m", "celery", "-A", "tests.invitations.celery_app", "worker",
        "-P", "threads", "-c", str(concurrency), "-Q", queue, "-n", f"{queue}-{number}@%h", f"--loglevel={loglevel}",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    out = log.open("ab")
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def _wait_ready(worker, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited: {log.read_text()[-2000:]}")
        if "ready." in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError("the worker did not start in time")


def measure(ctx: SuiteContext) -> list[Result]:
    if ctx.only and not re.search(ctx.only, NAME):
        return []
    from django.conf import settings

    from config.celery import app
    from invitations.models import BatchRecipient, InvitationBatch
    from invitations.services import invitation_batch_create
    from tests.smtp_sink import SmtpSinkPool

    n = int(ctx.sizes.get("invitation_recipients") or os.environ.get("BENCH_INVITATION_RECIPIENTS", 100_000))
    name = NAME.format(n=n)
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    owner, account, recipients = _recipients(n)
    _forget_run(account)
    from tests.invitations.celery_app import conf_override, forget_result_backend, queue_name

    queue = queue_name()
    log = Path(tempfile.mkdtemp(prefix="bench-inv-")) / "worker0.log"
    changed = {"task_always_eager": False, "broker_url": redis_url, "task_default_queue": queue}
    previous = conf_override(app, changed)
    sink = SmtpSinkPool(processes=SINK_PROCESSES).start()
    workers = [
        _start_worker(ctx.database_url, redis_url, queue, sink, log.with_name(f"worker{i}.log"), CONCURRENCY, i)
        for i in range(WORKER_PROCESSES)
    ]
    peaks: dict[int, float] = {}
    try:
        for i, worker in enumerate(workers):
            _wait_ready(worker, log.with_name(f"worker{i}.log"))
        _log(f"[bench] invitations: sending a batch of {n:,} through the worker")
        started = time.perf_counter()
        batch = invitation_batch_create(
            actor=owner, name="Benchmark", source="contacts", queryset=recipients, roles=None
        )
        stored = time.perf_counter() - started
        deadline = started + 60 + n / 50  # gives up below 50 invitations/s
        last_report = started
        last_sample = 0.0
        while time.perf_counter() < deadline:
            done = (
                sink.accepted >= batch.total
                and not InvitationBatch.objects.filter(pk=batch.pk, status=InvitationBatch.Status.RUNNING).exists()
            )
            # VmHWM is the kernel's own high-water mark: reading it every 2 s (and at the end)
            # misses nothing, and walking /proc more often would take CPU from what is measured.
            if done or time.perf_counter() - last_sample > 2:
                last_sample = time.perf_counter()
                for worker in workers:
                    for pid, peak in _peak_rss_mb(_process_tree(worker.pid)).items():
                        peaks[pid] = max(peak, peaks.get(pid, 0.0))
            if done:
                break
            if any(worker.poll() is not None for worker in workers):
                raise RuntimeError("a worker died")
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                _log(f"[bench] invitations: {sink.accepted:,} of {batch.total:,} delivered")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        delivered = sink.accepted
        sent = BatchRecipient.objects.filter(batch=batch, state="sent").count()
    except Exception as exc:  # noqa: BLE001 - a failed suite is reported, the page results stay
        return [Result(name=name, path="invitations.batch", target_ms=TARGET_RATE, status="error", note=str(exc)[:300])]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        sink.stop()  # collects what each sink process received
        try:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
        except Exception:  # noqa: BLE001, S110 - best effort
            pass
        conf_override(app, previous)
        forget_result_backend(app)
        _forget_run(account, contacts=True)

    duplicates = sum(count - 1 for count in sink.count_by_recipient.values() if count > 1)
    rate = delivered / elapsed if elapsed else 0.0
    peak = max(peaks.values(), default=0.0)
    total_peak = sum(peaks.values())
    chunk = settings.INVITATIONS_BATCH_CHUNK_SIZE
    note = (
        f"{delivered:,} delivered ({sent:,} recorded sent, {duplicates} duplicates) in {elapsed:.1f} s; "
        f"recipients stored in {stored:.2f} s; chunks of {chunk}, {settings.INVITATIONS_BATCH_SENDERS} senders, "
        f"{WORKER_PROCESSES} worker processes × {CONCURRENCY} threads"
    )
    _log(f"[bench] invitations: {rate:,.0f}/s, peak RSS {peak:.0f} MB per process ({total_peak:.0f} MB all). {note}")
    return [
        Result(
            name=name,
            path="invitations.batch",
            target_ms=TARGET_RATE,
            requests=delivered,
            p50=round(rate, 1),
            passed=rate >= TARGET_RATE and delivered == n and duplicates == 0,
            unit="invitations/s",
            note=note,
        ),
        Result(
            name="Batch invitations: worker peak RSS (largest process)",
            path="invitations.batch.rss",
            target_ms=TARGET_RSS_MB,
            p50=round(peak, 1),
            passed=peak <= TARGET_RSS_MB,
            unit="MB",
            note=f"all worker processes together: {total_peak:.0f} MB",
        ),
    ]
