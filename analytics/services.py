"""Writes of the reports: the daily data-health snapshot, and reconfirmation runs sales start."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from analytics.models import DataHealthAccountCount, DataHealthOwnerCount, DataHealthSnapshot, ReconfirmationRun
from core.locks import advisory_xact_lock
from crm.decay import DecayPolicy, Freshness, contacts_refresh_freshness
from crm.models import Contact
from crm.reconfirmation import ReconfirmationOutcome, reconfirmations_send_due
from iam.models import Membership
from iam.permissions import is_crm_user, is_staff_admin_of, manages_owners

if TYPE_CHECKING:
    from crm.models import Account
    from iam.models import User


@dataclass(frozen=True)
class DataHealthRefresh:
    changed_state: int | None  # contacts whose freshness moved; None: another run held the lock
    snapshot: DataHealthSnapshot | None


def data_health_refresh(*, now: dt.datetime | None = None) -> DataHealthRefresh:
    """The nightly job: move every contact's freshness along with time, then snapshot the counts."""
    from django.core.cache import cache

    from analytics.selectors import FORECAST_CACHE_KEY, data_health_forecast_compute

    now = now or timezone.now()
    changed = contacts_refresh_freshness(now=now)
    snapshot = data_health_snapshot_take(now=now)
    if snapshot is not None:
        cache.set(FORECAST_CACHE_KEY, data_health_forecast_compute(now=now), 2 * 24 * 3600)
    return DataHealthRefresh(changed_state=changed, snapshot=snapshot)


def _state_sql(now: dt.datetime) -> tuple[str, list[dt.datetime]]:
    """crm.decay's state rule as a SQL CASE over last_verified_at, with its parameters."""
    fresh_cutoff, stale_cutoff = DecayPolicy.from_settings().cutoffs(now)
    fresh = "last_verified_at IS NOT NULL" if fresh_cutoff is None else "last_verified_at >= %s"
    stale = (
        "last_verified_at IS NULL" if stale_cutoff is None else "(last_verified_at IS NULL OR last_verified_at < %s)"
    )
    params = [p for p in (fresh_cutoff, stale_cutoff) if p is not None]
    return f"CASE WHEN {fresh} THEN 'fresh' WHEN {stale} THEN 'stale' ELSE 'ageing' END", params


def _upsert_counts(*, table: str, key: str, snapshot_id: int, now: dt.datetime) -> None:
    """Per-``key`` state counts of every contact into ``table`` for the snapshot, in one statement.

    INSERT … SELECT … GROUP BY, and ON CONFLICT rewrites only rows whose counts differ, so a
    re-run on the same day writes nothing when nothing changed. Groups that have disappeared
    (an owner left with no contacts) are deleted.
    """
    contacts = Contact._meta.db_table
    state, state_params = _state_sql(now)
    sql = f"""
        INSERT INTO {table} (snapshot_id, {key}, fresh, ageing, stale)
        SELECT %s, {key},
               SUM(CASE WHEN freshness = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN freshness = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN freshness = %s THEN 1 ELSE 0 END)
        FROM (SELECT {key}, {state} AS freshness FROM {contacts}) AS c GROUP BY {key}
        ON CONFLICT (snapshot_id, {key}) DO UPDATE
           SET fresh = excluded.fresh, ageing = excluded.ageing, stale = excluded.stale
         WHERE {table}.fresh <> excluded.fresh OR {table}.ageing <> excluded.ageing
            OR {table}.stale <> excluded.stale
    """  # noqa: S608 (table and column names are ours, values are parameters)
    gone = f"""
        DELETE FROM {table} WHERE snapshot_id = %s
           AND NOT EXISTS (SELECT 1 FROM {contacts} c WHERE c.{key} = {table}.{key})
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [snapshot_id, Freshness.FRESH, Freshness.AGEING, Freshness.STALE, *state_params])
        cursor.execute(gone, [snapshot_id])


def data_health_snapshot_take(*, now: dt.datetime | None = None) -> DataHealthSnapshot | None:
    """Store today's counts per state: overall, per owner, per account. One snapshot per day.

    A re-run the same day brings that day's snapshot up to date and changes nothing when the
    counts are the same. Details older than ``DECAY_SNAPSHOT_DETAIL_DAYS`` are pruned; the
    daily totals stay for the trend. Returns None when another run holds the lock.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    with transaction.atomic():
        if not advisory_xact_lock("data_health_snapshot"):
            return None
        policy = DecayPolicy.from_settings()
        totals = Contact.objects.aggregate(
            fresh=Count("pk", filter=policy.state_q(Freshness.FRESH, now)),
            ageing=Count("pk", filter=policy.state_q(Freshness.AGEING, now)),
            stale=Count("pk", filter=policy.state_q(Freshness.STALE, now)),
        )
        totals["portal_users"] = (
            Membership.objects.filter(status=Membership.Status.ACTIVE, contact__isnull=False)
            .values("contact_id")
            .distinct()
            .count()
        )
        snapshot, created = DataHealthSnapshot.objects.get_or_create(day=day, defaults={**totals, "taken_at": now})
        if not created and any(getattr(snapshot, k) != v for k, v in totals.items()):
            for name, value in totals.items():
                setattr(snapshot, name, value)
            snapshot.taken_at = now
            snapshot.save()
        _upsert_counts(table=DataHealthOwnerCount._meta.db_table, key="owner_id", snapshot_id=snapshot.pk, now=now)
        _upsert_counts(table=DataHealthAccountCount._meta.db_table, key="account_id", snapshot_id=snapshot.pk, now=now)
        keep_from = day - dt.timedelta(days=settings.DECAY_SNAPSHOT_DETAIL_DAYS)
        DataHealthOwnerCount.objects.filter(snapshot__day__lt=keep_from).delete()
        DataHealthAccountCount.objects.filter(snapshot__day__lt=keep_from).delete()
    return snapshot


# --- Reconfirmation runs: "send reconfirmation to these" ----------------------------------------


def can_request_reconfirmation(actor: User, *, account: Account | None = None, owner: User | None = None) -> bool:
    """Staff who manage the account; for an owner's contacts, that owner or a manager."""
    if not is_crm_user(actor):
        return False
    if account is not None:
        return is_staff_admin_of(actor, account)
    if owner is not None:
        return actor.pk == owner.pk or manages_owners(actor)
    return False


def reconfirmation_run_start(
    *, actor: User, account: Account | None = None, owner: User | None = None
) -> ReconfirmationRun:
    """Queue a job asking the scope's due stale contacts to reconfirm (or return the one queued)."""
    # Import cycle: the task module calls this service.
    from analytics.tasks import reconfirmation_run_execute_task

    if (account is None) == (owner is None):
        raise ValueError("Give exactly one of account and owner.")
    if not can_request_reconfirmation(actor, account=account, owner=owner):
        raise PermissionDenied("You may not send reconfirmations for these contacts.")
    with transaction.atomic():
        open_runs = ReconfirmationRun.objects.select_for_update().filter(
            account=account, owner=owner, status__in=[ReconfirmationRun.Status.QUEUED, ReconfirmationRun.Status.RUNNING]
        )
        existing = open_runs.first()
        if existing is not None:
            return existing
        run = ReconfirmationRun.objects.create(requested_by=actor, account=account, owner=owner)
        transaction.on_commit(lambda: reconfirmation_run_execute_task.delay(run.pk))
    return run


def reconfirmation_run_execute(*, run_id: int) -> ReconfirmationRun | None:
    """The job behind a run. Claimed with a conditional UPDATE: a redelivered task does nothing."""
    now = timezone.now()
    claimed = ReconfirmationRun.objects.filter(pk=run_id, status=ReconfirmationRun.Status.QUEUED).update(
        status=ReconfirmationRun.Status.RUNNING, started_at=now
    )
    if not claimed:
        return None
    run = ReconfirmationRun.objects.select_related("requested_by").get(pk=run_id)

    def progress(outcome: ReconfirmationOutcome) -> None:
        ReconfirmationRun.objects.filter(pk=run_id).update(sent=outcome.sent, invited=outcome.invited)

    try:
        outcome = reconfirmations_send_due(
            account_id=run.account_id, owner_id=run.owner_id, limit=0, actor=run.requested_by, on_progress=progress
        )
    except Exception as exc:
        ReconfirmationRun.objects.filter(pk=run_id).update(
            status=ReconfirmationRun.Status.FAILED, error=str(exc)[:1000], finished_at=timezone.now()
        )
        raise
    scope = Q(account_id=run.account_id) if run.account_id else Q(owner_id=run.owner_id)
    stale = Contact.objects.filter(scope).freshness_in(Freshness.STALE, now=now).count()
    ReconfirmationRun.objects.filter(pk=run_id).update(
        status=ReconfirmationRun.Status.DONE,
        sent=outcome.sent,
        invited=outcome.invited,
        skipped=max(stale - outcome.sent - outcome.invited, 0),
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run
