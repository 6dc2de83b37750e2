"""Every write of territories, teams, assignment rules and automatic assignments.

Shared by the pages, the API, the admin and the jobs. Configuration changes are audited
(``territories.*``); every automatic assignment is written to the record's history and audited
as ``territories.assignment.made`` naming the rule, and the new owner is notified.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case as When_Case
from django.db.models import Count, F, Max, Min, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django_countries import countries as all_countries

from cases.models import Case
from crm.models import Account, Lead
from history.models import RecordChange
from history.services import history_record, history_snapshot
from iam.audit import audit_record, audit_record_many
from iam.permissions import can_manage_teams, can_set_out_of_office
from notifications.services import notify, notify_many
from territories.definitions import definitions, forget_definitions, load_active_territories
from territories.models import AssignmentRule, Strategy, Team, TeamMembership, Territory, TerritoryRun
from territories.regions import REGIONS
from territories.routing import (
    LEADS,
    Pick,
    match_territory,
    member_states,
    person,
    pick,
    territory_for,
)

if TYPE_CHECKING:
    from iam.models import User

# The name under which a record's history row says which assignment rule changed its owner.
HISTORY_RULE_FIELD = "assignment_rule"


def _require_manager(actor: User | None) -> None:
    if not can_manage_teams(actor):
        raise PermissionDenied("Only sales managers and operations change teams, territories and assignment rules.")


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"old": before.get(k), "new": v} for k, v in after.items() if before.get(k) != v}


def _plain(instance: Any, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        f = instance._meta.get_field(name)
        value = getattr(instance, f.attname)
        out[name] = value if isinstance(value, str | int | bool | list | type(None)) else str(value)
    return out


# --- Teams ---------------------------------------------------------------------------------------

TEAM_FIELDS = ("key", "name", "description", "manager")


def team_save(*, actor: User | None, team: Team) -> Team:
    """Create or change a team (key, name, description, manager)."""
    _require_manager(actor)
    if team.manager is not None and not (team.manager.is_staff and team.manager.is_active):
        raise ValidationError({"manager": "A team's manager is an active staff user."})
    with transaction.atomic():
        stored = Team.objects.select_for_update().filter(pk=team.pk).first() if team.pk else None
        if stored is not None and stored.key != team.key:
            raise ValidationError({"key": "A team's key never changes (cases and integrations use it)."})
        before = _plain(stored, TEAM_FIELDS) if stored is not None else {}
        team.full_clean()
        team.save()
        audit_record(
            actor=actor,
            action="territories.team.created" if stored is None else "territories.team.changed",
            target=team,
            data={"changes": _changes(before, _plain(team, TEAM_FIELDS))},
        )
    return team


def team_delete(*, actor: User | None, team: Team) -> None:
    _require_manager(actor)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if team.assignment_rules.exists():
            raise ValidationError("Assignment rules route to this team: change or delete them first.")
        audit_record(actor=actor, action="territories.team.deleted", target=team, data={"key": team.key})
        team.delete()


MEMBER_FIELDS = ("max_open_leads", "max_open_cases", "accepts_assignments")


def team_member_save(*, actor: User | None, membership: TeamMembership) -> TeamMembership:
    """Add a member to a team or change their capacity and whether they take assignments."""
    _require_manager(actor)
    if not (membership.user.is_staff and membership.user.is_active):
        raise ValidationError({"user": "Team members are active staff users."})
    with transaction.atomic():
        stored = TeamMembership.objects.select_for_update().filter(pk=membership.pk).first() if membership.pk else None
        if stored is None and TeamMembership.objects.filter(team=membership.team, user=membership.user).exists():
            raise ValidationError({"user": f"{membership.user} is already in {membership.team}."})
        before = _plain(stored, MEMBER_FIELDS) if stored is not None else {}
        membership.full_clean(validate_unique=False)
        membership.save()
        audit_record(
            actor=actor,
            action="territories.member.added" if stored is None else "territories.member.changed",
            target=membership.team,
            data={"user": membership.user.email, "changes": _changes(before, _plain(membership, MEMBER_FIELDS))},
        )
    return membership


def team_member_remove(*, actor: User | None, membership: TeamMembership) -> None:
    _require_manager(actor)
    with transaction.atomic():
        membership = TeamMembership.objects.select_for_update().select_related("team", "user").get(pk=membership.pk)
        Team.objects.filter(last_assigned=membership).update(last_assigned=None)
        audit_record(
            actor=actor,
            action="territories.member.removed",
            target=membership.team,
            data={"user": membership.user.email},
        )
        membership.delete()


# --- Out of office -------------------------------------------------------------------------------


def user_set_out_of_office(*, actor: User, user: User, start: dt.date | None, end: dt.date | None) -> User:
    """Set (or clear, with both None) the days a person gets no automatic assignment.

    Staff set their own; sales managers and operations set anyone's.
    """
    if not can_set_out_of_office(actor, user):
        raise PermissionDenied("You may set only your own out-of-office.")
    if start and end and end < start:
        raise ValidationError({"out_of_office_until": "The last day is before the first."})
    if end is not None and start is None:
        start = timezone.localdate()
    with transaction.atomic():
        from iam.models import User as UserModel

        locked = UserModel.objects.select_for_update().get(pk=user.pk)
        before = {"from": locked.out_of_office_from, "until": locked.out_of_office_until}
        locked.out_of_office_from, locked.out_of_office_until = start, end
        locked.save(update_fields=["out_of_office_from", "out_of_office_until"])
        after = {"from": start, "until": end}
        if before != after:
            audit_record(
                actor=actor,
                action="territories.out_of_office.set",
                target=locked,
                data={k: v.isoformat() if v else None for k, v in after.items()},
            )
    user.out_of_office_from, user.out_of_office_until = start, end
    return user


# --- Territories ---------------------------------------------------------------------------------

TERRITORY_FIELDS = (
    "name",
    "position",
    "is_active",
    "countries",
    "regions",
    "industries",
    "custom_field",
    "custom_value",
    "team",
    "owner",
)


def _clean_territory(territory: Territory) -> None:
    errors: dict[str, str] = {}
    known = {code for code, _name in all_countries}
    territory.countries = sorted({str(c).strip().upper() for c in territory.countries or [] if str(c).strip()})
    if bad := [c for c in territory.countries if c not in known]:
        errors["countries"] = f"Not a country code: {', '.join(bad)}."
    territory.regions = sorted(set(territory.regions or []))
    if bad := [r for r in territory.regions if r not in REGIONS]:
        errors["regions"] = f"Not a region: {', '.join(bad)}."
    territory.industries = sorted(set(territory.industries or []))
    if bad := [i for i in territory.industries if i not in Account.Industry.values]:
        errors["industries"] = f"Not an industry: {', '.join(bad)}."
    territory.custom_field = (territory.custom_field or "").strip()
    territory.custom_value = (territory.custom_value or "").strip()
    if territory.custom_field and not territory.custom_value:
        errors["custom_value"] = "Say which value of the custom field puts an account in this territory."
    if territory.owner is not None and not (territory.owner.is_staff and territory.owner.is_active):
        errors["owner"] = "A territory's owner is an active staff user."
    if errors:
        raise ValidationError(errors)


def territory_save(*, actor: User | None, territory: Territory) -> Territory:
    """Create or change a territory. A rename follows on every account that carries the old name."""
    _require_manager(actor)
    _clean_territory(territory)
    with transaction.atomic():
        stored = Territory.objects.select_for_update().filter(pk=territory.pk).first() if territory.pk else None
        before = _plain(stored, TERRITORY_FIELDS) if stored is not None else {}
        territory.full_clean()
        territory.save()
        renamed = 0
        if stored is not None and stored.name != territory.name:
            renamed = Account.objects.filter(territory=stored.name).update(
                territory=territory.name, updated_at=timezone.now()
            )
        audit_record(
            actor=actor,
            action="territories.territory.created" if stored is None else "territories.territory.changed",
            target=territory,
            data={"changes": _changes(before, _plain(territory, TERRITORY_FIELDS)), "accounts_renamed": renamed},
        )
    return territory


def territory_delete(*, actor: User | None, territory: Territory) -> None:
    """Delete a territory; accounts it was derived for lose it (hand-set ones keep the name)."""
    _require_manager(actor)
    with transaction.atomic():
        territory = Territory.objects.select_for_update().get(pk=territory.pk)
        cleared = Account.objects.filter(territory=territory.name, territory_manual=False).update(
            territory="", updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="territories.territory.deleted",
            target=territory,
            data={"name": territory.name, "accounts_cleared": cleared},
        )
        territory.delete()


def account_territory_derive(account: Account, *, territories: Sequence[Territory] | None = None) -> str:
    """The name of the territory the account's own attributes put it in ("" for none)."""
    found = match_territory(
        country=str(account.country or ""),
        industry=account.industry or "",
        custom_fields=account.custom_fields,
        territories=territories,
    )
    return found.name if found is not None else ""


def account_territory_prepare(account: Account, *, stored_territory: str | None) -> None:
    """Before an account is saved: a territory typed by hand sticks; otherwise it is derived.

    ``stored_territory`` is the value before this change (None for a new account). Clearing the
    field hands the account back to the definitions.
    """
    typed = (account.territory or "").strip()
    if stored_territory is None or typed != stored_territory:
        account.territory_manual = bool(typed)
    account.territory = typed
    if not account.territory_manual:
        account.territory = account_territory_derive(account)


def _territory_case(territories: Sequence[Territory]) -> When_Case | Value:
    whens = [When(territory_q_for(t), then=Value(t.name)) for t in territories]
    if not whens:
        return Value("")
    return When_Case(*whens, default=Value(""))


def territory_q_for(territory: Territory) -> Q:
    from territories.routing import territory_q

    q = territory_q(territory)
    # An empty definition (no criterion) matches every account.
    return q if q else Q(pk__isnull=False)


REAPPLY_CHUNK = 5000


def territories_reapply(*, actor: User | None, run: TerritoryRun | None = None, chunk: int = REAPPLY_CHUNK) -> int:
    """Move every account whose territory is not hand-set to the territory the definitions give.

    Set-based, by ranges of account ids (``id > lo AND id <= hi``, never OFFSET), each range in
    its own short transaction: on PostgreSQL one statement per range updates the accounts whose
    territory changes (a CASE over the territories in their order: first match wins) and inserts
    their history rows from its RETURNING; elsewhere (SQLite) a SELECT of the moves, one UPDATE
    per territory and one history INSERT. One audit event for the run. Idempotent: a second run
    moves nothing. Progress goes to ``run`` (the page polls it). Returns how many accounts moved.
    """
    if actor is not None:
        _require_manager(actor)
    territories = load_active_territories()  # the definitions as they are now, not as cached
    if run is not None:
        TerritoryRun.objects.filter(pk=run.pk).update(status=TerritoryRun.Status.RUNNING, started_at=timezone.now())
    bounds = Account.objects.aggregate(lo=Min("pk"), hi=Max("pk"), n=Count("pk"))
    total = bounds["n"] or 0
    moved = 0
    if total:
        lo, top = bounds["lo"] - 1, bounds["hi"]
        mover = _reapply_range_postgres if connection.vendor == "postgresql" else _reapply_range_orm
        while lo < top:
            hi = min(lo + chunk, top)
            with transaction.atomic():
                moved += mover(territories, lo=lo, hi=hi, actor=actor)
            lo = hi
            if run is not None:
                done = round(total * (hi - bounds["lo"] + 1) / (top - bounds["lo"] + 1))
                TerritoryRun.objects.filter(pk=run.pk).update(accounts_checked=done, accounts_changed=moved)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="territories.territories.reapplied",
            data={"accounts_checked": total, "accounts_changed": moved, "run": run.pk if run else None},
        )
        if run is not None:
            TerritoryRun.objects.filter(pk=run.pk).update(
                status=TerritoryRun.Status.DONE,
                finished_at=timezone.now(),
                accounts_checked=total,
                accounts_changed=moved,
            )
    return moved


def _territory_case_sql(territories: Sequence[Territory], alias: str) -> tuple[str, list[Any]]:
    """The CASE of :func:`_territory_case` as SQL over ``alias`` (the same test, first match wins)."""
    from territories.regions import countries_of

    whens: list[str] = []
    params: list[Any] = []
    for t in territories:
        parts: list[str] = []
        if t.countries or t.regions:
            parts.append(f"{alias}.country = ANY(%s)")
            params.append(sorted({str(c).upper() for c in t.countries} | countries_of(t.regions)))
        if t.industries:
            parts.append(f"{alias}.industry = ANY(%s)")
            params.append(list(t.industries))
        if t.custom_field:
            parts.append(
                f"({alias}.custom_fields -> %s = to_jsonb(%s::text)"
                f" OR {alias}.custom_fields -> %s @> jsonb_build_array(%s::text))"
            )
            params += [t.custom_field, t.custom_value, t.custom_field, t.custom_value]
        whens.append(f"WHEN {' AND '.join(parts) or 'TRUE'} THEN %s")
        params.append(t.name)
    if not whens:
        return "''", []
    return f"(CASE {' '.join(whens)} ELSE '' END)", params


def _history_context(actor: User | None) -> tuple[int | None, str, str, str]:
    from core.context import current_channel, current_job

    label = (getattr(actor, "email", "") if actor is not None else "system")[:254]
    return (actor.pk if actor is not None else None), label, current_channel(), (current_job() or REAPPLY_JOB)[:200]


REAPPLY_JOB = "territories_reapply"


def _reapply_range_postgres(territories: Sequence[Territory], *, lo: int, hi: int, actor: User | None) -> int:
    case_sql, case_params = _territory_case_sql(territories, "a")
    actor_id, label, channel, job = _history_context(actor)
    # Only fixed fragments are formatted in (the CASE's own values are parameters).
    sql = f"""
        WITH moved AS (
            UPDATE crm_account a SET territory = {case_sql}, updated_at = %s
            FROM crm_account o
            WHERE a.id = o.id AND a.id > %s AND a.id <= %s AND NOT a.territory_manual
              AND a.territory <> {case_sql}
            RETURNING a.id, a.name, o.territory AS old, a.territory AS new
        ), written AS (
            INSERT INTO history_recordchange (record_type, record_id, record_label, kind, changes, changed_at,
                actor_id, actor_label, credential, credential_reference, channel, job)
            SELECT 'crm.account', id, left(name, 254), 'updated',
                jsonb_build_object('territory', jsonb_build_object('old', nullif(old, ''), 'new', nullif(new, ''))),
                %s, %s, %s, '', '{{}}'::jsonb, %s, %s
            FROM moved
            RETURNING 1
        )
        SELECT count(*) FROM written
    """  # noqa: S608
    now = timezone.now()
    params = [*case_params, now, lo, hi, *case_params, now, actor_id, label, channel, job]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def _reapply_range_orm(territories: Sequence[Territory], *, lo: int, hi: int, actor: User | None) -> int:
    expression = _territory_case(territories)
    rows = list(
        Account.objects.filter(pk__gt=lo, pk__lte=hi, territory_manual=False)
        .annotate(new_territory=expression)
        .exclude(territory=F("new_territory"))
        .order_by()
        .values_list("pk", "name", "territory", "new_territory")
    )
    if not rows:
        return 0
    now = timezone.now()
    by_territory: dict[str, list[int]] = defaultdict(list)
    for pk, _name, _old, new in rows:
        by_territory[new].append(pk)
    for name, ids in by_territory.items():
        Account.objects.filter(pk__in=ids).update(territory=name, updated_at=now)
    _history_territory_moves(actor=actor, rows=rows, at=now, job=REAPPLY_JOB)
    return len(rows)


def _history_territory_moves(*, actor: User | None, rows: list[tuple[Any, ...]], at: dt.datetime, job: str) -> None:
    """One history row per account moved, in one INSERT (the rows are plain: no labels to look up)."""
    from core.context import current_channel, current_job

    label = getattr(actor, "email", "") if actor is not None else "system"
    RecordChange.objects.bulk_create(
        [
            RecordChange(
                record_type="crm.account",
                record_id=pk,
                record_label=str(name)[:254],
                kind=RecordChange.Kind.UPDATED,
                changes={"territory": {"old": old or None, "new": new or None}},
                changed_at=at,
                actor=actor if actor is not None and actor.pk else None,
                actor_label=label[:254],
                channel=current_channel(),
                job=(current_job() or job)[:200],
            )
            for pk, name, old, new in rows
        ],
        batch_size=1000,
    )


def territory_run_start(*, actor: User) -> TerritoryRun:
    """Queue a re-apply of the territory definitions to every account (one at a time)."""
    from territories.tasks import territories_reapply_task

    _require_manager(actor)
    with transaction.atomic():
        busy = TerritoryRun.objects.select_for_update().filter(
            status__in=[TerritoryRun.Status.QUEUED, TerritoryRun.Status.RUNNING]
        )
        existing = busy.first()
        if existing is not None:
            return existing
        run = TerritoryRun.objects.create(requested_by=actor)
        audit_record(actor=actor, action="territories.reapply.requested", target=run)
        transaction.on_commit(lambda: territories_reapply_task.delay(run.pk))
    return run


# --- Assignment rules ----------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "record_type",
    "position",
    "is_active",
    "lead_sources",
    "case_categories",
    "severities",
    "custom_field",
    "custom_value",
    "strategy",
    "team",
    "user",
    "fallback_user",
)


def _clean_rule(rule: AssignmentRule) -> None:
    errors: dict[str, str] = {}
    rule.lead_sources = sorted(set(rule.lead_sources or []))
    rule.case_categories = sorted(set(rule.case_categories or []))
    rule.severities = sorted(set(rule.severities or []))
    if bad := [s for s in rule.lead_sources if s not in Lead.Source.values]:
        errors["lead_sources"] = f"Not a lead source: {', '.join(bad)}."
    if bad := [c for c in rule.case_categories if c not in Case.Category.values]:
        errors["case_categories"] = f"Not a case category: {', '.join(bad)}."
    if bad := [s for s in rule.severities if s not in Case.Severity.values]:
        errors["severities"] = f"Not a severity: {', '.join(bad)}."
    if rule.record_type == AssignmentRule.RecordType.LEAD and (rule.case_categories or rule.severities):
        errors["case_categories"] = "Categories and severities are conditions on cases, not leads."
    if rule.record_type == AssignmentRule.RecordType.CASE and (rule.lead_sources or rule.custom_field):
        errors["lead_sources"] = "Lead sources and lead custom fields are conditions on leads, not cases."
    rule.custom_field, rule.custom_value = (rule.custom_field or "").strip(), (rule.custom_value or "").strip()
    if rule.custom_field and not rule.custom_value:
        errors["custom_value"] = "Say which value of the custom field the rule matches."
    if rule.strategy == Strategy.USER and rule.user_id is None:
        errors["user"] = "Choose the person this rule assigns to."
    if rule.strategy in (Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED) and rule.team_id is None:
        errors["team"] = "Choose the team this rule assigns within."
    for name in ("user", "fallback_user"):
        person = getattr(rule, name)
        if person is not None and not (person.is_staff and person.is_active):
            errors[name] = "Assign only to active staff users."
    if errors:
        raise ValidationError(errors)


def rule_save(
    *, actor: User | None, rule: AssignmentRule, territories: Iterable[Territory] | None = None
) -> AssignmentRule:
    """Create or change an assignment rule (and, when given, the territories it matches)."""
    _require_manager(actor)
    _clean_rule(rule)
    with transaction.atomic():
        stored = AssignmentRule.objects.select_for_update().filter(pk=rule.pk).first() if rule.pk else None
        before = _plain(stored, RULE_FIELDS) if stored is not None else {}
        if stored is not None:
            before["territories"] = sorted(stored.territories.values_list("pk", flat=True))
        rule.full_clean()
        rule.save()
        if territories is not None:
            rule.territories.set(list(territories))
            forget_definitions()
        after = {**_plain(rule, RULE_FIELDS), "territories": sorted(rule.territories.values_list("pk", flat=True))}
        audit_record(
            actor=actor,
            action="territories.rule.created" if stored is None else "territories.rule.changed",
            target=rule,
            data={"changes": _changes(before, after)},
        )
    return rule


def rule_delete(*, actor: User | None, rule: AssignmentRule) -> None:
    _require_manager(actor)
    with transaction.atomic():
        rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
        audit_record(actor=actor, action="territories.rule.deleted", target=rule, data={"name": rule.name})
        rule.delete()


# --- Routing new leads and cases -----------------------------------------------------------------


@dataclass
class Decision:
    """What the assignment rules decide for one record, and what each rule said."""

    rule: AssignmentRule | None
    pick: Pick | None
    territory: Any = None
    trace: list[str] = field(default_factory=list)

    @property
    def user(self) -> User | None:
        return self.pick.user if self.pick is not None else None


def _custom_value_matches(values: dict[str, Any] | None, key: str, wanted: str) -> bool:
    value = (values or {}).get(key)
    items = value if isinstance(value, list) else [value]
    return wanted in {str(v) for v in items if v is not None}


def rule_matches(
    rule: AssignmentRule, record: Any, *, territory: Any, territory_ids: Collection[int] | None = None
) -> tuple[bool, str]:
    """Whether ``record`` meets every condition of ``rule``; the failing one's name when not.

    ``territory_ids``: the ids of the territories the rule matches, when known (the cached
    definitions); else they are read from the rule.
    """
    if isinstance(record, Lead):
        if rule.lead_sources and record.source not in rule.lead_sources:
            return False, "lead source"
        if rule.custom_field and not _custom_value_matches(record.custom_fields, rule.custom_field, rule.custom_value):
            return False, f"{rule.custom_field} is not {rule.custom_value}"
    if isinstance(record, Case):
        if rule.case_categories and record.category not in rule.case_categories:
            return False, "case category"
        if rule.severities and record.severity not in rule.severities:
            return False, "severity"
    wanted = {t.pk for t in rule.territories.all()} if territory_ids is None else territory_ids
    if wanted and (territory is None or territory.pk not in wanted):
        return False, "territory"
    return True, ""


def route_decide(record: Any, *, now: dt.datetime | None = None) -> Decision:
    """Try the record type's rules in order: the first that matches and finds someone decides.

    Moves the round-robin pointer of the team it picks in; :func:`route_preview` does not.
    """
    record_type = AssignmentRule.RecordType.CASE if isinstance(record, Case) else AssignmentRule.RecordType.LEAD
    known = definitions()
    territory = territory_for(record, territories=known.territories)
    trace: list[str] = [f"Territory: {territory}" if territory is not None else "Territory: none matches"]
    for rule in known.rules_for(record_type):
        matched, why = rule_matches(rule, record, territory=territory, territory_ids=known.territory_ids_of(rule))
        if not matched:
            trace.append(f"“{rule.name}” does not match ({why}).")
            continue
        result = pick(
            record=record,
            strategy=rule.strategy,
            team=rule.team,
            # Only the named-person strategy reads it (loaded now: the definitions hold its id).
            user=rule.user if rule.strategy == Strategy.USER else None,
            territory=territory if rule.strategy == Strategy.TERRITORY else None,
            now=now,
        )
        trace.extend(f"  skipped: {s}" for s in result.skipped if s)
        fallback_user = person(rule.fallback_user_id) if result.user is None else None
        if fallback_user is not None and fallback_user.is_active:
            fallback = pick(record=record, strategy=Strategy.USER, user=fallback_user, now=now)
            if fallback.user is not None:
                fallback.reason = f"fallback of “{rule.name}” ({result.reason})"
                result = fallback
        if result.user is not None:
            trace.append(f"“{rule.name}” matches: {result.reason} → {result.user}.")
            return Decision(rule=rule, pick=result, territory=territory, trace=trace)
        trace.append(f"“{rule.name}” matches but {result.reason}; trying the next rule.")
    trace.append("No rule assigned it: the record keeps its default owner.")
    return Decision(rule=None, pick=None, territory=territory, trace=trace)


def route_preview(record: Any, *, now: dt.datetime | None = None) -> Decision:
    """What the rules would decide for an unsaved sample record, changing nothing (the pointer neither)."""
    with transaction.atomic():
        decision = route_decide(record, now=now)
        transaction.set_rollback(True)
    return decision


def _assignment_audit_data(decision: Decision) -> dict[str, Any]:
    assert decision.rule is not None
    assert decision.pick is not None
    return {
        "rule": decision.rule.pk,
        "rule_name": decision.rule.name,
        "strategy": decision.rule.strategy,
        "reason": decision.pick.reason,
        "team": decision.pick.team.key if decision.pick.team else None,
        "territory": decision.territory.name if decision.territory else None,
        "assignee": decision.pick.user.email if decision.pick.user else None,
    }


def lead_route(*, lead: Lead, actor: User | None, now: dt.datetime | None = None) -> Decision:
    """Give a lead just created the owner the assignment rules choose, in the caller's transaction.

    The change is written to the lead's history (with the rule's name) and audited as
    ``territories.assignment.made``; the new owner is notified once the transaction commits.
    When no rule assigns it, the lead keeps the owner it was created with (the fallback).
    """
    decision = route_decide(lead, now=now)
    if decision.user is None or decision.rule is None:
        return decision
    new_owner = decision.user
    if new_owner.pk != lead.owner_id:
        before = history_snapshot(lead)
        lead.owner = new_owner
        lead.save(update_fields=["owner", "updated_at"])
        history_record(
            actor=actor,
            record=lead,
            before=before,
            also={HISTORY_RULE_FIELD: {"old": None, "new": decision.rule.name}},
        )
    _assignment_made(
        actor=actor,
        record=lead,
        account=lead.converted_account,
        decision=decision,
        recipient=new_owner,
        kind="lead.assigned",
        title=f"New lead for you: {lead}",
        dedupe_key=f"lead-routed:{lead.pk}:{new_owner.pk}",
    )
    return decision


def case_route(*, case: Case, actor: User | None, now: dt.datetime | None = None) -> Decision:
    """Give a case just created (with no assignee) the assignee and team the rules choose.

    The team's key becomes the case's team when it is one of the case teams (``Case.Team``).
    """
    decision = route_decide(case, now=now)
    if decision.user is None or decision.rule is None:
        return decision
    assignee = decision.user
    before = history_snapshot(case)
    case.assignee = assignee
    fields = ["assignee"]
    team = decision.pick.team if decision.pick else None
    if team is not None and team.key in Case.Team.values and case.team != team.key:
        case.team = team.key
        fields.append("team")
    if case.status == Case.Status.NEW:
        # As when a case is created or assigned with an assignee: someone has it now.
        case.status = Case.Status.OPEN
        fields.append("status")
    case.save(update_fields=[*fields, "updated_at"])
    history_record(
        actor=actor,
        record=case,
        before=before,
        also={HISTORY_RULE_FIELD: {"old": None, "new": decision.rule.name}},
    )
    _assignment_made(
        actor=actor,
        record=case,
        account=case.account,
        decision=decision,
        recipient=assignee,
        kind="case.assigned",
        title=f"Case #{case.pk} assigned to you: {case.subject}",
        dedupe_key=f"case-routed:{case.pk}:{assignee.pk}",
    )
    return decision


def _assignment_made(
    *,
    actor: User | None,
    record: Any,
    account: Any,
    decision: Decision,
    recipient: User,
    kind: str,
    title: str,
    dedupe_key: str,
) -> None:
    """What every routed record gets: the audit event naming the rule, and (after commit) the
    new owner told once."""
    assert decision.rule is not None
    audit_record(
        actor=actor,
        action="territories.assignment.made",
        target=record,
        account=account,
        data=_assignment_audit_data(decision),
    )
    rule_name = decision.rule.name
    url = record.get_absolute_url()
    transaction.on_commit(
        lambda: notify(
            recipient=recipient,
            kind=kind,
            title=title,
            body=f"Routed by the assignment rule “{rule_name}”.",
            url=url,
            target=record,
            dedupe_key=dedupe_key,
        )
    )


@dataclass
class BulkRouting:
    """Owners chosen for a batch of unsaved leads, by rule, ready to be recorded after insert."""

    by_index: dict[int, tuple[AssignmentRule, Any, str]] = field(default_factory=dict)


def leads_route_batch(*, leads: Sequence[Lead], now: dt.datetime | None = None) -> BulkRouting:
    """Choose owners for unsaved leads (an import's rows), set-based.

    Each rule's team is locked and read once (members, loads in one grouped query); leads are
    dealt out round-robin (or to the least-loaded) in memory within capacities, and the team's
    pointer moves once. Sets ``owner`` on each lead a rule assigns. Call in the transaction that
    inserts them, then :func:`leads_routed_record` with the saved leads.
    """
    result = BulkRouting()
    known = definitions()
    rules = known.rules_for(AssignmentRule.RecordType.LEAD)
    if not rules:
        return result
    territories = known.territories
    pools: dict[int, Any] = {}
    for index, lead in enumerate(leads):
        territory = match_territory(
            country=str(lead.company_country or ""), custom_fields=lead.custom_fields, territories=territories
        )
        for rule in rules:
            matched, _why = rule_matches(rule, lead, territory=territory, territory_ids=known.territory_ids_of(rule))
            if not matched:
                continue
            chosen, reason = _batch_pick(rule, territory, pools, now=now)
            if chosen is not None:
                lead.owner = chosen
                result.by_index[index] = (rule, territory, reason)
                break
    for pool in pools.values():
        pool.commit()
    return result


class _TeamPool:
    """A team's available members during a batch: loads counted once, kept up to date in memory."""

    def __init__(self, team: Team, *, least_loaded: bool, now: dt.datetime | None) -> None:
        self.team = Team.objects.select_for_update().get(pk=team.pk)
        day = timezone.localdate(now) if now else timezone.localdate()
        self.states = [s for s in member_states(self.team, LEADS, on=day) if s.available]
        pointer = self.team.last_assigned_id
        if pointer is not None:
            self.states = [s for s in self.states if s.membership.pk > pointer] + [
                s for s in self.states if s.membership.pk <= pointer
            ]
        self.least_loaded = least_loaded
        self.last: TeamMembership | None = None

    def take(self) -> Any:
        open_states = [s for s in self.states if not s.full]
        if not open_states:
            return None
        if self.least_loaded:
            lowest = min(s.load for s in open_states)
            state = next(s for s in open_states if s.load == lowest)
        else:
            state = open_states[0]
        # Rotate: the one just chosen goes to the back.
        self.states.remove(state)
        self.states.append(state)
        state.load += 1
        self.last = state.membership
        return state.user

    def commit(self) -> None:
        if self.last is not None:
            Team.objects.filter(pk=self.team.pk).update(last_assigned=self.last)


class _UserPool:
    def __init__(self, user: User | None, *, now: dt.datetime | None) -> None:
        from territories.routing import MemberState, user_state

        self.state: MemberState | None = None
        self.ok = False
        if user is not None:  # None: the person the definitions named is gone
            self.state = user_state(user, kind=LEADS, now=now)
            self.ok = bool(user.is_active and user.is_staff) and not self.state.out_of_office

    def take(self) -> Any:
        if not self.ok or self.state is None or self.state.full:
            return None
        self.state.load += 1
        return self.state.user

    def commit(self) -> None:
        pass


def _batch_pick(
    rule: AssignmentRule, territory: Any, pools: dict[Any, Any], *, now: dt.datetime | None
) -> tuple[Any, str]:
    def pool_for(key: Any, make: Any) -> Any:
        if key not in pools:
            pools[key] = make()
        return pools[key]

    candidates: list[tuple[Any, str]] = []
    if rule.strategy == Strategy.USER and rule.user is not None:
        candidates.append((pool_for(("u", rule.user.pk), lambda: _UserPool(rule.user, now=now)), "named person"))
    elif rule.strategy == Strategy.TERRITORY and territory is not None:
        if territory.owner_id is not None:
            candidates.append(
                (
                    pool_for(("u", territory.owner_id), lambda: _UserPool(person(territory.owner_id), now=now)),
                    "territory owner",
                )
            )
        if territory.team_id is not None:
            team_pool = pool_for(
                ("t", territory.team_id, False), lambda: _TeamPool(territory.team, least_loaded=False, now=now)
            )
            candidates.append((team_pool, f"territory {territory}: round-robin"))
    elif rule.team is not None and rule.strategy in (Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED):
        least = rule.strategy == Strategy.LEAST_LOADED
        candidates.append(
            (
                pool_for(("t", rule.team_id, least), lambda: _TeamPool(rule.team, least_loaded=least, now=now)),
                "least-loaded" if least else "round-robin",
            )
        )
    if rule.fallback_user_id is not None:
        candidates.append(
            (
                pool_for(("u", rule.fallback_user_id), lambda: _UserPool(person(rule.fallback_user_id), now=now)),
                "fallback",
            )
        )
    for pool, reason in candidates:
        chosen = pool.take()
        if chosen is not None:
            return chosen, reason
    return None, ""


def leads_routed_record(*, leads: Sequence[Lead], routing: BulkRouting, actor: User | None) -> int:
    """After a batch insert: one INSERT of ``territories.assignment.made`` events and one
    notification per new owner (how many leads they got)."""
    items = []
    per_owner: dict[int, list[Lead]] = defaultdict(list)
    for index, (rule, territory, reason) in routing.by_index.items():
        lead = leads[index]
        items.append(
            (
                None,
                lead,
                {
                    "rule": rule.pk,
                    "rule_name": rule.name,
                    "strategy": rule.strategy,
                    "reason": reason,
                    "territory": territory.name if territory else None,
                    "assignee": lead.owner.email,
                },
            )
        )
        per_owner[lead.owner_id].append(lead)
    if items:
        audit_record_many(actor=actor, action="territories.assignment.made", items=items)
    for owned in per_owner.values():
        transaction.on_commit(partial(_notify_batch, owned))
    return len(items)


def _notify_batch(owned: list[Lead]) -> None:
    """One notification per new owner of a batch: the lead, or how many leads."""
    first, count = owned[0], len(owned)
    notify_many(
        recipients=[first.owner],
        kind="lead.assigned",
        title=f"{count} new leads routed to you" if count > 1 else f"New lead for you: {first}",
        url=first.get_absolute_url() if count == 1 else f"{reverse('crm:lead_list')}?owner={first.owner_id}&status=new",
        target=first if count == 1 else None,
        dedupe_key=f"lead-routed-batch:{first.pk}:{first.owner_id}",
    )
