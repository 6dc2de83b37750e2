"""Running rules: match events to rules, evaluate conditions in SQL, log each run, do the actions.

- ``dispatch(source, ids, depth)`` is the Celery task's body: it reads the committed history rows
  or audit events, finds the enabled rules listening, evaluates every (rule, record) condition in
  one query per record type and writes one ``RuleRun`` per (rule, event) — the unique constraint
  makes a redelivered task add nothing — then runs the pending ones in rule order.
- ``run_execute(run_id)`` claims a run with a conditional UPDATE (a run whose worker died is
  claimable again after ``LEASE``), then does each action in its own transaction together with
  its ``RuleRunStep``: a resumed run skips the steps done, so no action happens twice. A failing
  action is retried (``WORKFLOWS_RETRY_SECONDS``), then the run is failed and its owner told.
- ``time_scan(now)`` finds, per time rule, the records that fell due since the last scan and
  still meet the condition, in one set-based query each.
- ``dry_run(rule)`` does all the matching over the last 30 days and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.context import acting_as_workflow
from workflows import actions as action_specs
from workflows.conditions import Compiler, evaluate, model_for
from workflows.events import EVENTS, Occurrence, case_breached, from_audit, from_history
from workflows.models import Rule, RuleRun, RuleRunStep, Trigger

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
RECORD_TRIGGERS = (Trigger.CREATED, Trigger.CHANGED, Trigger.SAVED)


def max_attempts() -> int:
    return len(settings.WORKFLOWS_RETRY_SECONDS) + 1


# --- matching -----------------------------------------------------------------------------------


def _changed_value(changes: dict[str, Any], name: str) -> tuple[bool, Any, Any]:
    key = f"custom_fields.{name.removeprefix('custom.')}" if name.startswith("custom.") else name
    if key not in changes:
        return False, None, None
    change = changes[key]

    def plain(v: Any) -> Any:
        return v.get("id") if isinstance(v, dict) and "id" in v else v

    return True, plain(change.get("old")), plain(change.get("new"))


def _same(value: Any, wanted: Any) -> bool:
    if value is None:
        return wanted in (None, "")
    return str(value).lower() == str(wanted).lower()


def trigger_matches(rule: Rule, occ: Occurrence) -> bool:
    if rule.record_type != occ.record_type:
        return False
    if rule.trigger == Trigger.EVENT:
        return occ.kind == "event" and occ.event == rule.event
    if rule.trigger == Trigger.TIME or occ.kind not in ("created", "changed"):
        return False
    if rule.trigger == Trigger.CREATED and occ.kind != "created":
        return False
    if rule.trigger == Trigger.CHANGED and occ.kind != "changed":
        return False
    for cond in rule.change_conditions or []:
        changed, old, new = _changed_value(occ.changes, cond.get("field", ""))
        if not changed:
            return False
        if cond.get("to") not in (None, "") and not _same(new, cond["to"]):
            return False
        if cond.get("from") not in (None, "") and not _same(old, cond["from"]):
            return False
    return True


@dataclass
class Planned:
    rule: Rule
    occ: Occurrence
    fire: bool
    reason: str


def plan(occurrences: list[Occurrence], rules: list[Rule], depth: int) -> list[Planned]:
    """Which rule fires for which event, in event order then rule order; one query per record type."""
    by_type: dict[str, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_type[occ.record_type].append(occ)
    verdicts: dict[tuple[int, Any], bool] = {}
    for record_type, occs in by_type.items():
        typed_rules = [r for r in rules if r.record_type == record_type and r.conditions]
        wanted = [r for r in typed_rules if any(trigger_matches(r, o) for o in occs)]
        ids = {o.record_id for o in occs if o.record_id is not None}
        if wanted and ids:
            verdicts.update(evaluate(wanted, record_type, ids))
    out: list[Planned] = []
    cap = settings.WORKFLOWS_MAX_DEPTH
    for occ in occurrences:
        for rule in rules:
            if not trigger_matches(rule, occ):
                continue
            if depth > min(rule.max_depth, cap):
                out.append(Planned(rule, occ, False, f"Loop guard: made by rules {depth} deep (max {rule.max_depth})."))
                continue
            if occ.record_id is None and rule.conditions:
                out.append(Planned(rule, occ, False, "The event names no record to test the condition on."))
                continue
            if rule.conditions and not verdicts.get((rule.pk, occ.record_id), False):
                out.append(Planned(rule, occ, False, "Condition not met."))
                continue
            out.append(Planned(rule, occ, True, ""))
    return out


def _occurrences(source: str, ids: list[int]) -> list[Occurrence]:
    if source == "history":
        from history.models import RecordChange

        return from_history(RecordChange.objects.filter(pk__in=ids).order_by("pk"))
    if source == "audit":
        from iam.models import AuditEvent

        return from_audit(AuditEvent.objects.filter(pk__in=ids).order_by("pk"))
    if source == "breach":
        return case_breached(ids)
    raise ValueError(source)


def enabled_rules(record_types: set[str], triggers: tuple[str, ...]) -> list[Rule]:
    return list(
        Rule.objects.filter(enabled=True, record_type__in=record_types, trigger__in=triggers)
        .select_related("owner")
        .order_by("position", "id")
    )


def _log_runs(planned: list[Planned], depth: int) -> list[RuleRun]:
    """One run row per (rule, event); existing ones (a redelivered task) are kept as they are."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        _log_runs_pg(planned, depth, now)
    else:
        _log_runs_orm(planned, depth, now)
    fired = [(p.rule.pk, p.occ.key) for p in planned if p.fire]
    if not fired:
        return []
    wanted = Q()
    for rule_id, key in fired:
        wanted |= Q(rule_id=rule_id, event_key=key)
    found = {(r.rule_id, r.event_key): r for r in RuleRun.objects.filter(wanted)}
    return [found[k] for k in fired if k in found]


def _log_runs_pg(planned: list[Planned], depth: int, now: Any) -> None:
    """The run rows in one ``INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING``: with 200
    rules an event makes 200 rows, and building a model instance for each was a fifth of the
    evaluation's time (bench: evaluations per second)."""
    if not planned:
        return
    skipped = RuleRun.Status.SKIPPED.value
    table = connection.ops.quote_name(RuleRun._meta.db_table)
    sql = (
        f"INSERT INTO {table} (rule_id, event_key, record_type, record_id, record_label, status, reason, "  # noqa: S608
        "depth, attempts, log, created_at, claimed_at, finished_at) "
        "SELECT v.rule_id, v.event_key, v.record_type, v.record_id, v.record_label, v.status, v.reason, "
        "%s, 0, '[]'::jsonb, %s, NULL, CASE WHEN v.status = %s THEN %s::timestamptz END "
        "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[]) "
        "AS v(rule_id, event_key, record_type, record_id, record_label, status, reason) "
        "ON CONFLICT (rule_id, event_key) DO NOTHING"
    )
    params = [
        depth,
        now,
        skipped,
        now,
        [p.rule.pk for p in planned],
        [p.occ.key for p in planned],
        [p.occ.record_type for p in planned],
        [p.occ.record_id for p in planned],
        [(p.occ.label or "")[:254] for p in planned],
        [RuleRun.Status.PENDING.value if p.fire else skipped for p in planned],
        [p.reason[:300] for p in planned],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _log_runs_orm(planned: list[Planned], depth: int, now: Any) -> None:
    rows = [
        RuleRun(
            rule=p.rule,
            event_key=p.occ.key,
            record_type=p.occ.record_type,
            record_id=p.occ.record_id,
            record_label=(p.occ.label or "")[:254],
            status=RuleRun.Status.PENDING if p.fire else RuleRun.Status.SKIPPED,
            reason=p.reason[:300],
            depth=depth,
            created_at=now,
            finished_at=None if p.fire else now,
        )
        for p in planned
    ]
    RuleRun.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def dispatch(source: str, ids: list[int], depth: int = 0) -> int:
    """Handle committed events; returns how many runs fired."""
    occurrences = _occurrences(source, ids)
    if not occurrences:
        return 0
    types = {o.record_type for o in occurrences}
    triggers = (Trigger.EVENT,) if source != "history" else RECORD_TRIGGERS
    rules = enabled_rules(types, triggers)
    if not rules:
        return 0
    runs = _log_runs(plan(occurrences, rules, depth), depth)
    fired = 0
    for run in runs:
        if run.status in (RuleRun.Status.PENDING, RuleRun.Status.RUNNING):
            fired += run_execute(run.pk) == RuleRun.Status.DONE
    return fired


# --- doing --------------------------------------------------------------------------------------


def _record(run: RuleRun) -> models.Model | None:
    if not run.record_type or run.record_id is None:
        return None
    return model_for(run.record_type)._base_manager.filter(pk=run.record_id).first()


def run_execute(run_id: int, *, now: dt.datetime | None = None) -> str:
    """Claim and carry out one run; returns its status afterwards."""
    now = now or timezone.now()
    claimed = (
        RuleRun.objects.filter(pk=run_id)
        .filter(Q(status=RuleRun.Status.PENDING) | Q(status=RuleRun.Status.RUNNING, claimed_at__lt=now - LEASE))
        .update(status=RuleRun.Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "not-claimed"
    run = RuleRun.objects.select_related("rule", "rule__owner").get(pk=run_id)
    rule = run.rule
    log = list(run.log)
    if not rule.enabled:
        return _finish(run, log, RuleRun.Status.SKIPPED, "The rule was switched off before it ran.")
    record = _record(run)
    if run.record_id is not None and record is None:
        return _finish(run, log, RuleRun.Status.SKIPPED, "The record no longer exists.")
    done = set(RuleRunStep.objects.filter(run=run).values_list("index", flat=True))
    with acting_as_workflow(depth=run.depth + 1, label=rule.label, reference={"workflow_rule": rule.pk}):
        for index, spec in enumerate(rule.actions):
            if index in done:
                continue
            try:
                with transaction.atomic():
                    if record is not None:
                        record = type(record)._base_manager.get(pk=record.pk)  # as the last action left it
                    note = action_specs.perform(spec, rule=rule, record=record, run=run, index=index)
                    RuleRunStep.objects.create(run=run, index=index)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then reported
                message = _message(exc)
                log.append({"action": index, "type": spec.get("type"), "ok": False, "error": message, "at": _now()})
                return _failed(run, log, message)
            log.append({"action": index, "type": spec.get("type"), "ok": True, "note": note, "at": _now()})
            RuleRun.objects.filter(pk=run.pk).update(log=log)
    return _finish(run, log, RuleRun.Status.DONE, "")


def _now() -> str:
    return timezone.now().isoformat()


def _message(exc: Exception) -> str:
    if hasattr(exc, "messages"):
        return "; ".join(str(m) for m in exc.messages)[:500]
    return (str(exc) or type(exc).__name__)[:500]


def _finish(run: RuleRun, log: list, status: str, reason: str) -> str:
    RuleRun.objects.filter(pk=run.pk).update(status=status, reason=reason[:300], log=log, finished_at=timezone.now())
    return status


def _failed(run: RuleRun, log: list, message: str) -> str:
    if run.attempts < max_attempts():
        delay = settings.WORKFLOWS_RETRY_SECONDS[run.attempts - 1]
        RuleRun.objects.filter(pk=run.pk).update(
            status=RuleRun.Status.PENDING, reason=f"Retrying: {message}"[:300], log=log
        )
        from workflows.tasks import workflows_run_retry

        try:
            workflows_run_retry.apply_async((run.pk,), countdown=delay)
        except Exception:
            logger.exception("Could not queue the retry of workflow run %s", run.pk)
        return RuleRun.Status.PENDING
    _finish(run, log, RuleRun.Status.FAILED, f"Failed after {run.attempts} attempts: {message}")
    _report_failure(run, message)
    return RuleRun.Status.FAILED


def _report_failure(run: RuleRun, message: str) -> None:
    from django.urls import reverse

    from iam.audit import audit_record
    from notifications.services import notify

    rule = run.rule
    with transaction.atomic():
        notify(
            recipient=rule.owner,
            kind="workflow.failed",
            title=f"Rule “{rule.name}” failed on {run.record_label or run.event_key}"[:200],
            body=message,
            url=reverse("workflows:detail", args=[rule.pk]),
            target=rule,
            dedupe_key=f"workflow-failed:{run.pk}",
        )
        audit_record(
            actor=None,
            action="workflows.rule.failed",
            target=rule,
            data={"run": run.pk, "event": run.event_key, "error": message},
        )


def runs_resume_stalled(*, now: dt.datetime | None = None) -> int:
    """Runs left waiting (a lost retry message) or running (a dead worker): run them again."""
    now = now or timezone.now()
    stalled = list(
        RuleRun.objects.filter(
            Q(status=RuleRun.Status.PENDING, created_at__lt=now - dt.timedelta(minutes=5))
            | Q(status=RuleRun.Status.RUNNING, claimed_at__lt=now - LEASE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for pk in stalled:
        run_execute(pk, now=now)
    return len(stalled)


# --- time triggers ------------------------------------------------------------------------------


def _due_window(field: Any, lo: dt.datetime, hi: dt.datetime, offset: dt.timedelta) -> Q:
    """Records whose (field + offset) lies in (lo, hi]."""
    name = field.name
    start, end = lo - offset, hi - offset
    if isinstance(field, models.DateTimeField):
        return Q(**{f"{name}__gt": start, f"{name}__lte": end})
    # A date counts from midnight (UTC): midnight > start ⇔ date > start's date.
    return Q(**{f"{name}__gt": start.date(), f"{name}__lte": end.date()})


def time_candidates(rule: Rule, lo: dt.datetime, hi: dt.datetime) -> models.QuerySet:
    model = model_for(rule.record_type)
    field = model._meta.get_field(rule.time_field)
    compiler = Compiler(rule.record_type, "t_")
    q = compiler.compile(rule.conditions)
    qs = model._base_manager.all()
    if compiler.annotations:
        qs = qs.alias(**compiler.annotations)
    return qs.filter(_due_window(field, lo, hi, dt.timedelta(hours=rule.time_offset_hours))).filter(q)


def time_scan(*, now: dt.datetime | None = None, execute: bool = True) -> int:
    """Fire time rules whose moment came since the last scan; the condition is checked now."""
    now = now or timezone.now()
    fired = 0
    for rule in (
        Rule.objects.filter(enabled=True, trigger=Trigger.TIME).select_related("owner").order_by("position", "id")
    ):
        lo = rule.time_scanned_until or rule.updated_at
        if lo >= now:
            continue
        run_ids = time_claim(rule, lo, now)
        Rule.objects.filter(pk=rule.pk).update(time_scanned_until=now)
        fired += len(run_ids)
        if execute:
            from workflows.tasks import workflows_run_many

            for start in range(0, len(run_ids), 500):
                transaction.on_commit(partial(workflows_run_many.delay, run_ids[start : start + 500]))
    return fired


def time_claim(rule: Rule, lo: dt.datetime, hi: dt.datetime) -> list[int]:
    """One run per record that fell due in (lo, hi]: set-based, idempotent by the run's key."""
    created = timezone.now()
    pending: list[int] = []
    rows = time_candidates(rule, lo, hi).values_list("pk", rule.time_field).order_by("pk").iterator(chunk_size=5000)
    batch: list[RuleRun] = []

    def flush() -> None:
        RuleRun.objects.bulk_create(batch, batch_size=5000, ignore_conflicts=True)
        keys = [r.event_key for r in batch]
        pending.extend(
            RuleRun.objects.filter(rule=rule, event_key__in=keys, status=RuleRun.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        batch.clear()

    for pk, moment in rows:
        batch.append(
            RuleRun(
                rule=rule,
                event_key=f"time:{pk}:{moment.isoformat()}",
                record_type=rule.record_type,
                record_id=pk,
                created_at=created,
            )
        )
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    return pending


# --- dry run ------------------------------------------------------------------------------------

DRY_RUN_DAYS = 30
DRY_RUN_LIMIT = 2000


@dataclass
class DryRunLine:
    at: Any
    record_type: str
    record_id: int | None
    label: str
    fire: bool
    reason: str


def dry_run(rule: Rule, *, now: dt.datetime | None = None, limit: int = DRY_RUN_LIMIT) -> list[DryRunLine]:
    """What ``rule`` (saved or not, enabled or not) would have done over the last 30 days.

    Reads only. Conditions are tested against the records as they are now (history keeps what
    changed, not every related record's state then): the page says so.
    """
    from history.models import RecordChange
    from iam.models import AuditEvent

    now = now or timezone.now()
    if rule.pk is None:
        rule.pk = 0  # an unsaved rule (a throwaway instance): a key for its verdicts only
    since = now - dt.timedelta(days=DRY_RUN_DAYS)
    occurrences: list[Occurrence]
    if rule.trigger in RECORD_TRIGGERS:
        kinds = {"created": ["created"], "changed": ["updated"], "saved": ["created", "updated"]}[rule.trigger]
        rows = RecordChange.objects.filter(
            record_type=rule.record_type, kind__in=kinds, changed_at__gte=since
        ).order_by("-changed_at", "-id")[:limit]
        occurrences = from_history(rows)
    elif rule.trigger == Trigger.EVENT:
        spec = EVENTS.get(rule.event)
        if spec is None:
            return []
        if rule.event == "case.breached":
            from cases.models import Case

            ids = Case.objects.filter(sla_state="red", resolution_due_at__gte=since).values_list("pk", flat=True)[
                :limit
            ]
            occurrences = case_breached(ids)
        else:
            events = AuditEvent.objects.filter(action__in=spec.audit_actions, occurred_at__gte=since).order_by(
                "-occurred_at", "-id"
            )[:limit]
            occurrences = from_audit(events)
    else:
        model = model_for(rule.record_type)
        field = model._meta.get_field(rule.time_field)
        qs = model._base_manager.filter(_due_window(field, since, now, dt.timedelta(hours=rule.time_offset_hours)))
        occurrences = [
            Occurrence(
                key=f"time:{pk}", record_type=rule.record_type, record_id=pk, kind="time", label=str(obj), at=None
            )
            for pk, obj in ((o.pk, o) for o in qs.order_by("-pk")[:limit])
        ]
        record_ids = [o.record_id for o in occurrences if o.record_id is not None]
        verdicts = evaluate([rule], rule.record_type, record_ids) if rule.conditions else {}
        return [
            DryRunLine(
                None,
                o.record_type,
                o.record_id,
                o.label,
                not rule.conditions or verdicts.get((rule.pk or 0, o.record_id), False),
                "" if not rule.conditions or verdicts.get((rule.pk or 0, o.record_id), False) else "Condition not met.",
            )
            for o in occurrences
        ]
    planned = plan(occurrences, [rule], 0)
    return [DryRunLine(p.occ.at, p.occ.record_type, p.occ.record_id, p.occ.label, p.fire, p.reason) for p in planned]
