"""Data decay at scale: the nightly jobs on the benchmark's million contacts, and a year of decay.

1. **Freshness recompute** (``crm.decay.contacts_refresh_freshness``) against the plain SQL
   UPDATE that does the same to the same rows, run on the same connection in this process, in
   three situations: every contact's state changes (the first run after a load or a change of
   the decay policy), a day passes (only contacts crossing a threshold change), nothing changes
   (a second run). Target: at most twice the plain UPDATE and under 20 s.
2. **Reconfirmation** (``crm.reconfirmation.reconfirmations_send_due``) selecting, claiming and
   writing to 50,000 stale portal users (emails built, handed to a dummy backend), against one
   plain ``UPDATE … WHERE id IN (SELECT … LIMIT 50000)`` claiming the same contacts.
3. **A year of decay**, in a database of its own (``<bench db>_sim``, created from a template
   each run): 100,000 contacts, of which 2 % change jobs each month (their CRM data silently
   becomes wrong; the truth is kept in the bench-only table ``bench_decay_truth``). Twelve
   monthly steps with time travelled by time-machine; at each step the real jobs run
   (contracts, freshness and snapshot, reconfirmation) and, with the loops on, portal users
   update their own profiles and asked contacts answer the reconfirmation emails through the
   real services and the links in the emails. Reports the share of contacts whose data is
   wrong at year end with the loops off and on. Contacts without portal access are not asked
   in the simulation (their invitations are measured in 2., not simulated), so they decay as
   with the loops off.

Knobs (environment): ``BENCH_DECAY_RECONFIRM`` (50000), ``BENCH_DECAY_SIM_CONTACTS`` (100000),
``BENCH_DECAY_SIM_MONTHS`` (12), ``BENCH_DECAY_JOB_CHANGE`` (0.02 a month),
``BENCH_DECAY_PORTAL_SHARE`` (0.2 of contacts are portal users, as in seed_scale), ``BENCH_DECAY_SELF_UPDATE``
(0.3: a portal user whose data went wrong fixes it themselves that month),
``BENCH_DECAY_SELF_VISIT`` (0.02: a portal user with correct data re-saves their profile),
``BENCH_DECAY_CONFIRM`` (0.5: an asked person with correct data clicks "still correct"),
``BENCH_DECAY_UPDATE`` (0.35: an asked person with wrong data updates it), ``BENCH_DECAY_SKIP``
(comma-separated: ``recompute``, ``reconfirm``, ``simulation``).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.run import Result, SuiteContext, _log

RECOMPUTE_TARGET_S = 20.0
MIN_CONTACTS_FOR_SIMULATION = 100_000
RECOMPUTE_MAX_RATIO = 2.0
LINK = re.compile(r"/reconfirm/([^/\s\"]+)/")


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass
class SimConfig:
    contacts: int = 100_000
    months: int = 12
    job_change: float = 0.02
    portal_share: float = 0.2
    self_update: float = 0.3
    self_visit: float = 0.02
    confirm: float = 0.5
    update: float = 0.35
    seed: int = 7

    @classmethod
    def from_env(cls) -> SimConfig:
        return cls(
            contacts=int(_env_float("BENCH_DECAY_SIM_CONTACTS", cls.contacts)),
            months=int(_env_float("BENCH_DECAY_SIM_MONTHS", cls.months)),
            job_change=_env_float("BENCH_DECAY_JOB_CHANGE", cls.job_change),
            portal_share=_env_float("BENCH_DECAY_PORTAL_SHARE", cls.portal_share),
            self_update=_env_float("BENCH_DECAY_SELF_UPDATE", cls.self_update),
            self_visit=_env_float("BENCH_DECAY_SELF_VISIT", cls.self_visit),
            confirm=_env_float("BENCH_DECAY_CONFIRM", cls.confirm),
            update=_env_float("BENCH_DECAY_UPDATE", cls.update),
        )


def measure(ctx: SuiteContext) -> list[Result]:
    if ctx.only and not re.search(ctx.only, "decay"):
        return []
    skip = set(filter(None, os.environ.get("BENCH_DECAY_SKIP", "").split(",")))
    # A year of 100,000 contacts is for the benchmark at scale, not for a smoke run of the harness.
    if ctx.sizes.get("contacts", 0) < MIN_CONTACTS_FOR_SIMULATION:
        skip.add("simulation")
    return run_decay(
        ctx,
        reconfirm=int(_env_float("BENCH_DECAY_RECONFIRM", 50_000)),
        sim=None if "simulation" in skip else SimConfig.from_env(),
        recompute="recompute" not in skip,
        reconfirmation="reconfirm" not in skip,
    )


def run_decay(
    ctx: SuiteContext,
    *,
    reconfirm: int = 50_000,
    sim: SimConfig | None = None,
    recompute: bool = True,
    reconfirmation: bool = True,
    sim_sizes: dict[str, int] | None = None,
    sim_in_place: bool = False,
) -> list[Result]:
    from django.utils import timezone

    now = timezone.now()
    results: list[Result] = []
    if recompute:
        results += measure_recompute(now=now)
    if reconfirmation:
        results += measure_reconfirmation(
            now=now, wanted=reconfirm, invitations=int(_env_float("BENCH_DECAY_INVITATIONS", 5000))
        )
    if sim is not None:
        results += simulate(sim, sizes=sim_sizes, in_place=sim_in_place)
    return results


# --- helpers ---------------------------------------------------------------------------------


def _sql(sql: str, params: list | tuple | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _vacuum() -> None:
    # Dead row versions of the previous pass would otherwise slow down the next one.
    _sql("VACUUM (ANALYZE) crm_contact")


def _result(name: str, figure: float, baseline: float | None, *, unit: str = "s", target=None, note="") -> Result:
    result = Result(name=name, path="", target_ms=target, note=note, unit=unit, requests=1)
    result.p50 = result.p95 = round(figure, 3)
    if baseline is not None:
        result.baseline_p50 = result.baseline_p95 = round(baseline, 3)
        result.ratio = round(figure / baseline, 2) if baseline else None
    return result


# --- 1. Freshness recompute -----------------------------------------------------------------


def _state_case(now: dt.datetime) -> tuple[str, list]:
    """crm.decay's rule as SQL over last_verified_at (what every read computes now)."""
    from crm.decay import DecayPolicy

    fresh_cutoff, stale_cutoff = DecayPolicy.from_settings().cutoffs(now)
    case = (
        "CASE WHEN last_verified_at IS NULL THEN 'stale' WHEN last_verified_at >= %s THEN 'fresh' "
        "WHEN last_verified_at < %s THEN 'stale' ELSE 'ageing' END"
    )
    return case, [fresh_cutoff, stale_cutoff]


def _stale_sql(now: dt.datetime, alias: str = "") -> tuple[str, list]:
    from crm.decay import DecayPolicy

    _fresh, stale_cutoff = DecayPolicy.from_settings().cutoffs(now)
    col = f"{alias}last_verified_at"
    if stale_cutoff is None:
        return f"{col} IS NULL", []
    return f"({col} IS NULL OR {col} < %s)", [stale_cutoff]


def _plain_counts(now: dt.datetime) -> int:
    """The state of every contact, written by hand: one scan, counted per state."""
    from django.db import connection

    case, params = _state_case(now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {case} AS s, count(*) FROM crm_contact GROUP BY 1", params)  # noqa: S608
        return sum(n for _s, n in cursor.fetchall())


def _stored_worst_case(now: dt.datetime) -> tuple[float, int]:
    """The other option: keep a stored state but drop its indexes (no index churn from the
    column itself). Every state wrong (a fresh column whose values all differ), then one
    UPDATE … WHERE freshness <> CASE like the old job. Rolled back: nothing stays."""
    from django.db import transaction

    case, params = _state_case(now)
    try:
        with transaction.atomic():
            _sql("ALTER TABLE crm_contact ADD COLUMN bench_freshness varchar(8) NOT NULL DEFAULT 'x'")
            seconds, rows = _timed(
                lambda: _sql(
                    f"UPDATE crm_contact SET bench_freshness = {case} WHERE bench_freshness <> {case}",  # noqa: S608
                    params + params,
                )
            )
            raise _Rollback
    except _Rollback:
        pass
    return seconds, rows


class _Rollback(Exception):
    pass


def measure_recompute(*, now: dt.datetime) -> list[Result]:
    """Freshness is derived at read time from ``last_verified_at`` (crm.decay), so the worst case
    of the old recompute (every stored state wrong: a COPY load, a new decay rate) writes nothing.

    Timed: the nightly job (``data_health_refresh``: no recompute, the snapshot's counts per
    state, owner and account) and the state of every contact computed in one scan (the plain
    SQL baseline), a year later too (every state moved). For the alternative, a stored column
    with no index on it, the worst case is timed once and rolled back (``BENCH_DECAY_STORED=0``
    skips it: it costs minutes on this machine).
    """
    from analytics.services import data_health_refresh
    from crm.decay import contacts_refresh_freshness
    from crm.models import Contact

    total = Contact.objects.count()
    results = []
    for label, when in (("today", now), ("a year later (every state moved)", now + dt.timedelta(days=365))):
        job_s, changed = _timed(lambda when=when: contacts_refresh_freshness(now=when))
        snap_s, _snapshot = _timed(lambda when=when: data_health_refresh(now=when))
        plain_s, counted = _timed(lambda when=when: _plain_counts(when))
        _log(f"[bench] decay:   {label}: refresh {job_s:.2f} s, snapshot {snap_s:.2f} s, plain scan {plain_s:.2f} s")
        results.append(
            _verdict(
                _result(
                    f"decay: freshness of {total:,} contacts derived at read time, nightly job, {label}",
                    job_s + snap_s,
                    None,
                    target=RECOMPUTE_TARGET_S,
                    note=(
                        f"{changed} rows written; the snapshot counts states per owner and account; "
                        f"the state of all {counted:,} contacts in one plain scan: {plain_s:.2f} s"
                    ),
                )
            )
        )
    if os.environ.get("BENCH_DECAY_STORED", "1") == "1":
        _log("[bench] decay: the alternative, a stored state without indexes, worst case (rolled back)")
        stored_s, rows = _stored_worst_case(now)
        _vacuum()
        _log(f"[bench] decay:   {rows:,} rows in {stored_s:.1f} s")
        results.append(
            _verdict(
                _result(
                    f"decay: stored state without index, worst case ({rows:,} rows change), not chosen",
                    stored_s,
                    None,
                    target=RECOMPUTE_TARGET_S,
                    note="every row version still goes into crm_contact's other indexes (no HOT on full pages)",
                )
            )
        )
    return results


def _verdict(result: Result) -> Result:
    result.passed = bool(
        result.p50 is not None
        and result.p50 < RECOMPUTE_TARGET_S
        and (result.ratio is None or result.ratio <= RECOMPUTE_MAX_RATIO or result.p50 < 0.5)
    )
    return result


# --- 2. Reconfirmation -----------------------------------------------------------------------


def _reset_reconfirmations() -> None:
    _sql("DELETE FROM crm_contactreconfirmation")
    _sql("UPDATE crm_contact SET last_reconfirmation_sent_at = NULL WHERE last_reconfirmation_sent_at IS NOT NULL")


def _lend_portal_users(count: int, *, now: dt.datetime) -> int:
    """Reactivate ``count`` contract-suspended memberships of stale contacts (recorded to restore)."""
    _sql("DROP TABLE IF EXISTS bench_decay_lent")
    _sql(
        """
        CREATE TABLE bench_decay_lent AS
        SELECT m.id AS membership_id FROM iam_membership m JOIN crm_contact c ON c.id = m.contact_id
        WHERE m.status = 'suspended' AND m.suspended_by = 'contract' AND {stale}
          AND c.email <> '' AND c.email_bounced_at IS NULL
        ORDER BY m.id LIMIT %s
        """.format(stale=_stale_sql(now, "c.")[0]),  # noqa: S608 (our SQL, values are parameters)
        [*_stale_sql(now, "c.")[1], count],
    )
    return _sql(
        "UPDATE iam_membership SET status = 'active', suspended_by = '' WHERE id IN "
        "(SELECT membership_id FROM bench_decay_lent)"
    )


def measure_reconfirmation(*, now: dt.datetime, wanted: int, invitations: int = 500) -> list[Result]:
    """Portal users (set-based: one token INSERT per chunk) at ``wanted``; the others through
    one invitation batch, on a sample of ``invitations``."""
    from django.test.utils import override_settings

    from crm.reconfirmation import reconfirmations_due, reconfirmations_send_due

    results = []
    dummy = override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
    _reset_reconfirmations()
    due = reconfirmations_due(now=now, invitations=False)
    available = due.count()
    lent = 0
    try:
        if available < wanted:
            # seed_scale's contracts leave most memberships suspended by an ended contract. For the
            # measurement only, lend enough of them back (restored below) to reach ``wanted``.
            lent = _lend_portal_users(wanted - available, now=now)
            available = due.count()
        wanted = min(wanted, available)
        _log(f"[bench] decay: reconfirmation of {wanted:,} stale portal users ({available:,} due)")
        if not wanted:
            result = Result(name="decay: reconfirmation job, stale portal users", path="", target_ms=None, unit="s")
            result.status, result.note = "unavailable", "no stale portal users in the data (memberships=0?)"
            return [result]
        with dummy:
            job_s, outcome = _timed(lambda: reconfirmations_send_due(now=now, limit=wanted, invitations=False))
        _reset_reconfirmations()
        _vacuum()
        select_sql, params = due.order_by("pk").values("pk")[:wanted].query.sql_with_params()
        plain_s, plain_rows = _timed(
            lambda: _sql(
                f"UPDATE crm_contact SET last_reconfirmation_sent_at = %s WHERE id IN ({select_sql})",  # noqa: S608
                [now, *params],
            )
        )
        _reset_reconfirmations()
    finally:
        if lent:
            _sql(
                "UPDATE iam_membership SET status = 'suspended', suspended_by = 'contract' WHERE id IN "
                "(SELECT membership_id FROM bench_decay_lent)"
            )
            _sql("DROP TABLE bench_decay_lent")
    _vacuum()
    results.append(
        _result(
            f"decay: reconfirmation job, {outcome.sent:,} stale portal users",
            job_s,
            plain_s,
            note=f"{outcome.sent / job_s:,.0f} contacts/s: select, claim, token rows, emails built (dummy backend); "
            f"baseline claims the same {plain_rows:,} rows in one UPDATE"
            + (f"; {lent:,} contract-suspended memberships lent back for the measurement" if lent else ""),
        )
    )
    if invitations:
        results.append(_measure_reconfirmation_invitations(now=now, wanted=invitations))
    return results


def _measure_reconfirmation_invitations(*, now: dt.datetime, wanted: int) -> Result:
    """Contacts without portal access: the job claims them and creates one invitation batch
    (one UPDATE, one INSERT … SELECT); the batch's chunks are then drained in-process, unpaced,
    with the dummy mail backend (in production Celery sends them at the configured rate)."""
    from unittest import mock

    from django.test.utils import override_settings

    from crm.reconfirmation import reconfirmation_invitations_batch
    from invitations.batches import batch_send_chunk
    from invitations.models import BatchRecipient, Invitation, InvitationBatch

    before = Invitation.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    settings_ = override_settings(
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", INVITATIONS_BATCH_RATE_PER_SECOND=0
    )
    with settings_, mock.patch("invitations.batches.batch_kick"):  # no Celery: drained below
        job_s, outcome = _timed(lambda: reconfirmation_invitations_batch(now=now, limit=wanted))
        send_s, sent = 0.0, 0
        if outcome.batch_id:

            def drain() -> int:
                done, after = 0, 0
                while True:
                    chunk = batch_send_chunk(batch_id=outcome.batch_id, after_id=after)
                    if not chunk.claimed:
                        return done
                    done, after = done + chunk.sent, chunk.last_id

            send_s, sent = _timed(drain)
    name = f"decay: reconfirmation job, {outcome.invited:,} contacts without portal access (one invitation batch)"
    if not outcome.batch_id:
        result = Result(name=name, path="", target_ms=None, unit="s")
        result.status, result.note = "unavailable", "no stale consenting contacts, or no operations user"
        _reset_reconfirmations()
        return result
    BatchRecipient.objects.filter(batch_id=outcome.batch_id).delete()
    Invitation.objects.filter(pk__gt=before).delete()
    InvitationBatch.objects.filter(pk=outcome.batch_id).delete()
    _reset_reconfirmations()
    return _result(
        name,
        job_s,
        None,
        note=f"claim + batch (INSERT … SELECT of {outcome.invited:,} recipients): {outcome.invited / job_s:,.0f} "
        f"contacts/s; then {sent:,} invitations sent by the batch's chunks in {send_s:.2f} s "
        f"({sent / send_s if send_s else 0:,.0f}/s, unpaced, dummy mail backend)",
    )


# --- 3. A year of decay ----------------------------------------------------------------------


@dataclass
class SimOutcome:
    loops: bool
    wrong_share: float
    wrong_by_month: list[float] = field(default_factory=list)
    stale_share: float = 0.0
    portal_wrong_share: float = 0.0
    other_wrong_share: float = 0.0
    emails: int = 0
    confirmed: int = 0
    self_updates: int = 0
    seconds: float = 0.0


@contextmanager
def _database(name: str) -> Iterator[None]:
    """Point Django's connection at another database for a while."""
    from django.db import connection

    old = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = old


def _admin_sql(statements: list[str]) -> None:
    import psycopg2
    from django.db import connection

    params = connection.get_connection_params()
    params = {k: v for k, v in params.items() if k in ("user", "host", "port", "password")}
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def _load(config: SimConfig, sizes: dict[str, int] | None, *, reset: bool = False) -> None:
    """The simulation's starting point in the current database: seeded, all customers, truth all correct."""
    from django.core.management import call_command

    n = config.contacts
    call_command(
        "seed_scale",
        **(
            sizes
            or {
                "reps": 20,
                "accounts": max(n // 10, 1),
                "contacts": n,
                "leads": max(n // 100, 1),
                "opportunities": max(n // 100, 1),
                "contracts": max(n // 10 * 7 // 10, 1),
                "activities": max(n // 100, 1),
                "big_contacts": max(n // 200, 1),
                "big_activities": max(n // 100, 1),
            }
        ),
        memberships=int(n * config.portal_share),
        seed=config.seed,
        reset=reset,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    _customers_for_the_year()
    _sql("DROP TABLE IF EXISTS bench_decay_truth")
    _sql("CREATE TABLE bench_decay_truth (contact_id bigint PRIMARY KEY, wrong boolean NOT NULL DEFAULT false)")
    _sql("INSERT INTO bench_decay_truth (contact_id) SELECT id FROM crm_contact")


def _prepare_template(name: str, config: SimConfig, sizes: dict[str, int] | None) -> None:
    from django.core.management import call_command

    _admin_sql([f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'])
    with _database(name):
        call_command("migrate", verbosity=0)
        _load(config, sizes)


def _customers_for_the_year() -> None:
    """The simulation is about customers' people: every account gets an active contract that
    lasts past the simulated year, so every seeded membership is a usable portal user and the
    portal share is the configured one (seed_scale's own contracts mostly expire or never start)."""
    from crm.management.commands.seed_scale import ANCHOR
    from iam.services import access_sync

    start, end = (ANCHOR - dt.timedelta(days=365)).date(), (ANCHOR + dt.timedelta(days=3 * 365)).date()
    _sql(
        "UPDATE crm_contract SET status = 'active', start_date = LEAST(start_date, %s), "
        "end_date = GREATEST(end_date, %s) WHERE status <> 'draft'",
        [start, end],
    )
    _sql(
        """
        INSERT INTO crm_contract (number, account_id, start_date, end_date, status, value, currency, owner_id,
                                  created_at, updated_at)
        SELECT 'SIM-' || a.id, a.id, %s, %s, 'active', 0, 'EUR', a.owner_id, %s, %s FROM crm_account a
        WHERE NOT EXISTS (SELECT 1 FROM crm_contract k WHERE k.account_id = a.id AND k.status = 'active')
        """,
        [start, end, ANCHOR, ANCHOR],
    )
    access_sync(account_ids=None, actor=None)


def simulate(config: SimConfig, *, sizes: dict[str, int] | None = None, in_place: bool = False) -> list[Result]:
    """Both years from the same start. In a database of its own (created from a template each
    year), or ``in_place``: in the current database, reloaded for each year (the smoke test)."""
    from django.db import connection

    _log(f"[bench] decay: simulation database ({config.contacts:,} contacts, {config.portal_share:.0%} portal users)")
    outcomes = []
    if in_place:
        for loops in (False, True):
            _load(config, sizes, reset=True)
            outcomes.append(_simulate_year(config, loops=loops))
        _sql("DROP TABLE IF EXISTS bench_decay_truth")
    else:
        base = connection.settings_dict["NAME"]
        template, run_db = f"{base}_sim_template", f"{base}_sim"
        _prepare_template(template, config, sizes)
        try:
            for loops in (False, True):
                _admin_sql([f'DROP DATABASE IF EXISTS "{run_db}"', f'CREATE DATABASE "{run_db}" TEMPLATE "{template}"'])
                with _database(run_db):
                    outcomes.append(_simulate_year(config, loops=loops))
        finally:
            _admin_sql([f'DROP DATABASE IF EXISTS "{run_db}"', f'DROP DATABASE IF EXISTS "{template}"'])
    off, on = outcomes
    knobs = ", ".join(f"{k}={v}" for k, v in asdict(config).items())
    results = []
    for outcome in outcomes:
        label = "on" if outcome.loops else "off"
        note = (
            f"by month: {' '.join(f'{v:.1%}' for v in outcome.wrong_by_month)}; CRM shows {outcome.stale_share:.1%}"
            " stale"
        )
        if outcome.loops:
            note += (
                f"; portal users wrong {outcome.portal_wrong_share:.1%}, others {outcome.other_wrong_share:.1%}; "
                f"{outcome.emails:,} reconfirmation emails, {outcome.confirmed:,} confirmed, "
                f"{outcome.self_updates:,} self-service updates"
            )
        result = _result(
            f"decay: simulation, data wrong after {config.months} months, loops {label}",
            100 * outcome.wrong_share,
            None,
            unit="% wrong",
            note=f"{note}; {outcome.seconds:.0f} s; {knobs}",
        )
        results.append(result)
    _log(f"[bench] decay: wrong at year end: loops off {off.wrong_share:.1%}, on {on.wrong_share:.1%}")
    return results


def _wrong_share() -> float:
    with_wrong = _sql_one("SELECT avg(CASE WHEN wrong THEN 1.0 ELSE 0.0 END) FROM bench_decay_truth")
    return float(with_wrong or 0)


def _sql_one(sql: str, params: list | None = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _simulate_year(config: SimConfig, *, loops: bool) -> SimOutcome:
    import time_machine
    from django.core import mail
    from django.test.utils import override_settings

    from analytics.services import data_health_refresh
    from crm.contracts import contracts_expire_due
    from crm.management.commands.seed_scale import ANCHOR
    from crm.reconfirmation import reconfirmations_send_due

    rng = random.Random(config.seed)  # noqa: S311 (a simulation, not a secret)
    outcome = SimOutcome(loops=loops, wrong_share=0.0)
    started = time.perf_counter()
    start = ANCHOR
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", SITE_URL="http://sim"):
        with time_machine.travel(start, tick=False):
            data_health_refresh(now=start)
        for month in range(1, config.months + 1):
            now = start + dt.timedelta(days=30.436875 * month)
            with time_machine.travel(now, tick=False):
                # 2 % of people change jobs: their record in the CRM is now wrong, and nobody knows.
                _sql(
                    f"UPDATE bench_decay_truth SET wrong = true WHERE {_draw('contact_id', 'job')} < %s",  # noqa: S608
                    [config.seed, month, config.job_change],
                )
                if loops:
                    outcome.self_updates += _self_service(config, month=month)
                contracts_expire_due(today=now.date())
                data_health_refresh(now=now)
                if loops:
                    mail.outbox = []
                    # Portal users only: invitations are measured above (their answer is a
                    # registration, which the simulation does not model).
                    reconfirmations_send_due(now=now, limit=0, invitations=False)
                    emails, confirmed = _answer(mail.outbox, config, rng, now=now)
                    outcome.emails += emails
                    outcome.confirmed += confirmed
                    mail.outbox = []
            share = _wrong_share()
            outcome.wrong_by_month.append(share)
            _log(f"[bench] decay:   loops {'on' if loops else 'off'}, month {month}: {share:.1%} wrong")
    outcome.wrong_share = outcome.wrong_by_month[-1] if outcome.wrong_by_month else _wrong_share()
    from django.utils import timezone

    stale_where, stale_params = _stale_sql(timezone.now())
    stale = _sql_one(
        f"SELECT avg(CASE WHEN {stale_where} THEN 1.0 ELSE 0.0 END) FROM crm_contact",  # noqa: S608
        stale_params,
    )
    outcome.stale_share = float(stale or 0)
    by_portal = _sql_pairs(
        "SELECT EXISTS (SELECT 1 FROM iam_membership m WHERE m.contact_id = t.contact_id) AS portal, "
        "avg(CASE WHEN wrong THEN 1.0 ELSE 0.0 END) FROM bench_decay_truth t GROUP BY 1"
    )
    outcome.portal_wrong_share = float(by_portal.get(True) or 0)
    outcome.other_wrong_share = float(by_portal.get(False) or 0)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _profile_save(membership) -> bool:
    """The person opens their profile in the portal and saves what is true now (the real service)."""
    from django.core.exceptions import ValidationError

    from iam.services import profile_update

    try:
        profile_update(actor=membership.user, membership=membership, data={"job_title": "Current title"})
    except ValidationError:
        return False
    return True


def _fixed(contact_ids: list[int]) -> None:
    if contact_ids:
        _sql("UPDATE bench_decay_truth SET wrong = false WHERE contact_id = ANY(%s)", [contact_ids])


def _draw(column: str, purpose: str) -> str:
    """A uniform number in [0, 1) per row, seed and month: the same draw in every run, so the
    loops-off and loops-on years see the very same people change jobs. Params: seed, month."""
    return f"mod(abs(hashtext({column}::text || ':{purpose}:' || %s || ':' || %s)), 1000000) / 1000000.0"


def _self_service(config: SimConfig, *, month: int) -> int:
    """Portal users who keep their own data current this month, without being asked."""
    from iam.models import Membership

    draw = _draw("t.contact_id", "self")
    with_truth = _sql_rows(
        f"""
        SELECT m.id FROM iam_membership m
        JOIN iam_user u ON u.id = m.user_id AND u.is_active
        JOIN bench_decay_truth t ON t.contact_id = m.contact_id
        WHERE m.status = 'active' AND ((t.wrong AND {draw} < %s) OR (NOT t.wrong AND {draw} < %s))
        """,  # noqa: S608 (our own expression; values are parameters)
        [config.seed, month, config.self_update, config.seed, month, config.self_visit],
    )
    memberships = Membership.objects.filter(pk__in=with_truth).select_related("user", "account")
    done = [m.contact_id for m in memberships if _profile_save(m)]
    _fixed(done)
    return len(done)


def _sql_rows_pairs(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _sql_pairs(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _sql_rows(sql: str, params: list | None = None) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _answer(outbox: list, config: SimConfig, rng: random.Random, *, now: dt.datetime) -> tuple[int, int]:
    """Asked people answer: correct data → "still correct"; wrong data → they update it."""
    from crm.models import ContactReconfirmation
    from crm.reconfirmation import _digest, _secret_from, reconfirmation_confirm
    from iam.models import Membership

    links = []
    for message in outbox:
        match = LINK.search(message.body)
        if match:
            links.append(match.group(1))
    if not links:
        return 0, 0
    # Which contact each link is for, in one query (what reconfirmation_check does one by one).
    by_digest = {_digest(_secret_from(token)): token for token in links}
    requests = {
        by_digest[digest]: contact_id
        for digest, contact_id in ContactReconfirmation.objects.filter(
            token_hash__in=list(by_digest), used_at__isnull=True
        ).values_list("token_hash", "contact_id")
    }
    ids = list(set(requests.values()))
    wrong = set(_sql_rows("SELECT contact_id FROM bench_decay_truth WHERE wrong AND contact_id = ANY(%s)", [ids]))
    memberships = {
        m.contact_id: m
        for m in Membership.objects.filter(contact_id__in=wrong, status=Membership.Status.ACTIVE).select_related(
            "user", "account"
        )
    }
    confirmed, fixed = 0, []
    for token, contact_id in requests.items():
        if contact_id in wrong:
            membership = memberships.get(contact_id)
            if membership and rng.random() < config.update and _profile_save(membership):
                fixed.append(contact_id)
        elif rng.random() < config.confirm:
            reconfirmation_confirm(token=token, now=now)
            confirmed += 1
    _fixed(fixed)
    return len(links), confirmed
