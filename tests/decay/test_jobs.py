"""The periodic jobs: scheduled, idempotent, set-based, and safe to run twice at once."""

from __future__ import annotations

import datetime as dt
import io

import psycopg2
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import DataHealthAccountCount, DataHealthOwnerCount, DataHealthSnapshot
from analytics.services import data_health_refresh, data_health_snapshot_take
from crm.decay import Freshness, contacts_refresh_freshness
from crm.models import Contact
from tests.decay.factories import verified
from tests.factories import AccountFactory, ContactFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _snapshot_rows() -> list[tuple]:
    return [
        *DataHealthSnapshot.objects.order_by("pk").values_list("pk", "day", "taken_at", "fresh", "ageing", "stale"),
        *DataHealthOwnerCount.objects.order_by("pk").values_list("pk", "owner_id", "fresh", "ageing", "stale"),
        *DataHealthAccountCount.objects.order_by("pk").values_list("pk", "account_id", "fresh", "ageing", "stale"),
    ]


def test_every_job_is_scheduled_in_the_one_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "crm.contracts_expire_due",
        "analytics.data_health_refresh",
        "crm.reconfirmations_send_due",
        "iam.users_deactivate_inactive",
    } <= tasks
    from config.celery import app

    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)


def test_freshness_is_derived_at_read_time_and_the_refresh_writes_nothing():
    fresh, ageing, stale = verified(10), verified(250), verified(500)
    never = ContactFactory()
    states = {c.pk: Contact.objects.get(pk=c.pk).freshness for c in (fresh, ageing, stale, never)}
    assert states == {
        fresh.pk: Freshness.FRESH,
        ageing.pk: Freshness.AGEING,
        stale.pk: Freshness.STALE,
        never.pk: Freshness.STALE,
    }
    for state in Freshness:
        expected = {pk for pk, s in states.items() if s == state}
        assert set(Contact.objects.freshness_in(state).values_list("pk", flat=True)) == expected
    with CaptureQueriesContext(connection) as run:
        assert contacts_refresh_freshness() == 0
    assert not [q for q in run.captured_queries if q["sql"].startswith("UPDATE")]


def test_snapshot_counts_per_state_owner_and_account_once_a_day():
    rep_a, rep_b = StaffFactory(), StaffFactory()
    big = AccountFactory(owner=rep_a)
    small = AccountFactory(owner=rep_b)
    for days in (10, 20, 250, 500, 600):
        verified(days, account=big, owner=rep_a)
    verified(30, account=small, owner=rep_b)
    ContactFactory(account=small, owner=rep_b)  # never verified: stale

    result = data_health_refresh()
    snapshot = result.snapshot
    assert (snapshot.day, snapshot.fresh, snapshot.ageing, snapshot.stale) == (timezone.localdate(), 3, 1, 3)
    by_account = {r.account_id: (r.fresh, r.ageing, r.stale) for r in snapshot.account_counts.all()}
    assert by_account == {big.pk: (2, 1, 2), small.pk: (1, 0, 1)}
    by_owner = {r.owner_id: (r.fresh, r.ageing, r.stale) for r in snapshot.owner_counts.all()}
    assert by_owner == {rep_a.pk: (2, 1, 2), rep_b.pk: (1, 0, 1)}

    before = _snapshot_rows()
    again = data_health_refresh()
    assert again.changed_state == 0
    assert _snapshot_rows() == before  # same day, same counts: not a row written, not a duplicate


def test_a_rerun_the_same_day_brings_the_days_snapshot_up_to_date():
    rep = StaffFactory()
    account = AccountFactory(owner=rep)
    verified(10, account=account, owner=rep)
    data_health_refresh()
    gone_rep = StaffFactory()
    ContactFactory(account=account, owner=gone_rep)
    data_health_refresh()
    assert DataHealthSnapshot.objects.count() == 1
    snapshot = DataHealthSnapshot.objects.get()
    assert (snapshot.fresh, snapshot.stale) == (1, 1)
    Contact.objects.filter(owner=gone_rep).delete()
    data_health_refresh()
    assert set(DataHealthOwnerCount.objects.values_list("owner_id", flat=True)) == {rep.pk}


def test_snapshots_keep_daily_totals_and_prune_old_details(settings):
    settings.DECAY_SNAPSHOT_DETAIL_DAYS = 30
    verified(10)
    start = timezone.now()
    for day in range(0, 50, 10):
        with time_machine.travel(start + dt.timedelta(days=day), tick=False):
            data_health_refresh()
    assert DataHealthSnapshot.objects.count() == 5
    kept = set(DataHealthAccountCount.objects.values_list("snapshot__day", flat=True))
    assert kept == {(start + dt.timedelta(days=d)).date() for d in (10, 20, 30, 40)}


def test_management_command_runs_the_job_by_hand():
    verified(500)
    out = io.StringIO()
    call_command("data_health_refresh", stdout=out)
    assert "1 stale" in out.getvalue()
    assert DataHealthSnapshot.objects.count() == 1


@pytest.fixture
def other_session():
    """A second database session, as a second worker running the same job would have."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers itself")
    params = connection.get_connection_params()
    conn = psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")})
    yield conn
    conn.rollback()
    conn.close()


@pytest.mark.parametrize(
    ("lock", "job"),
    [
        ("data_health_snapshot", data_health_snapshot_take),
    ],
)
def test_a_job_already_running_elsewhere_makes_the_second_run_do_nothing(other_session, lock, job):
    verified(500)
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"clientele:{lock}"])
    assert job() is None
    assert not DataHealthSnapshot.objects.exists()
