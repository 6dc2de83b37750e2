"""Who gets a record: territory matching, round-robin, least-loaded, capacity and out-of-office.

The stable interface other apps call (the workflow rules' "assign" and "escalate to a manager"
actions, the lead and case routing in ``territories.services``):

- :func:`pick_assignee` — a person for ``record`` by a strategy, or None when nobody is available;
- :func:`manager_of` — the manager of a user's team;
- :func:`territory_for` — the territory an account, contact, lead, opportunity or case is in.

A member is *available* when they are an active staff user, not out of office today
(``User.out_of_office_from`` to ``out_of_office_until``, both days included), take automatic
assignments, and hold fewer open records than their capacity (open leads for a lead, open cases
for a case; other records count open leads). A round-robin pick locks the team's row
(``SELECT … FOR UPDATE``) until the caller's transaction ends, so two concurrent picks never see
the same pointer; call it inside the transaction that saves the assignment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Q, QuerySet
from django.utils import timezone

from cases.models import Case
from crm.models import Account, Contact, Lead, Opportunity
from territories.definitions import definitions
from territories.models import Strategy, Team, TeamMembership, Territory
from territories.regions import countries_of

if TYPE_CHECKING:
    from iam.models import User

STRATEGIES = frozenset(Strategy.values)
# A lead is somebody's open work until it is converted or disqualified.
OPEN_LEAD_STATUSES = (Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED, Lead.Status.REGISTERED)
OPEN_CASE_STATUSES = tuple(Case.OPEN_STATUSES)

LEADS, CASES = "leads", "cases"


@dataclass
class Pick:
    """A routing decision and why, for the audit event and the "test routing" box."""

    user: User | None
    reason: str
    team: Team | None = None
    territory: Territory | None = None
    skipped: list[str] = field(default_factory=list)


# --- Out of office and load -----------------------------------------------------------------


def _today(now: dt.datetime | None) -> dt.date:
    return timezone.localdate(now) if now is not None else timezone.localdate()


def is_out_of_office(user: User, *, on: dt.date | None = None) -> bool:
    day = on or timezone.localdate()
    start, end = getattr(user, "out_of_office_from", None), getattr(user, "out_of_office_until", None)
    if start is None and end is None:
        return False
    return (start is None or start <= day) and (end is None or day <= end)


def load_kind(record: Any) -> str:
    """Which open records count against a member's capacity for this record."""
    return CASES if isinstance(record, Case) else LEADS


def open_loads(user_ids: Iterable[int], kind: str) -> dict[int, int]:
    """Open leads owned (or open cases assigned) per user, in one grouped query."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows: Iterable[tuple[Any, ...]]
    if kind == CASES:
        rows = (
            Case.objects.filter(assignee_id__in=ids, status__in=OPEN_CASE_STATUSES)
            .values_list("assignee_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    else:
        rows = (
            Lead.objects.filter(owner_id__in=ids, status__in=OPEN_LEAD_STATUSES)
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    loads = dict.fromkeys(ids, 0)
    loads.update(dict(rows))
    return loads


def capacity_of(membership: TeamMembership, kind: str) -> int | None:
    return membership.max_open_cases if kind == CASES else membership.max_open_leads


def _usable(user: User) -> bool:
    return bool(user.is_active and user.is_staff)


@dataclass
class MemberState:
    membership: TeamMembership
    load: int
    capacity: int | None
    out_of_office: bool

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.load >= self.capacity

    @property
    def available(self) -> bool:
        return _usable(self.user) and self.membership.accepts_assignments and not self.out_of_office and not self.full

    def why_not(self) -> str:
        if not _usable(self.user):
            return f"{self.user} is not an active staff user"
        if not self.membership.accepts_assignments:
            return f"{self.user} takes no automatic assignments"
        if self.out_of_office:
            return f"{self.user} is out of office"
        if self.full:
            return f"{self.user} is at capacity ({self.load}/{self.capacity})"
        return ""


def member_states(
    team: Team, kind: str, *, on: dt.date | None = None, memberships: Sequence[TeamMembership] | None = None
) -> list[MemberState]:
    """Every member of ``team`` with their open load (one query for the members, one for loads).

    ``memberships``: the team's, with their users, when the caller has read them already.
    """
    if memberships is None:
        memberships = list(team.memberships.select_related("user").order_by("id"))
    loads = open_loads((m.user_id for m in memberships), kind)
    day = on or timezone.localdate()
    return [
        MemberState(
            membership=m,
            load=loads.get(m.user_id, 0),
            capacity=capacity_of(m, kind),
            out_of_office=is_out_of_office(m.user, on=day),
        )
        for m in memberships
    ]


# --- Territories ------------------------------------------------------------------------------


def active_territories() -> list[Territory]:
    """In position order, from the shared cache (``territories.definitions``)."""
    return definitions().territories


def territory_matches(
    territory: Territory, *, country: str, industry: str, custom_fields: dict[str, Any] | None
) -> bool:
    """Whether one record's attributes fall into ``territory`` (every filled criterion matches)."""
    if territory.countries or territory.regions:
        allowed = {str(c).upper() for c in territory.countries} | countries_of(territory.regions)
        if (country or "").upper() not in allowed:
            return False
    if territory.industries and (industry or "") not in territory.industries:
        return False
    if territory.custom_field:
        value = (custom_fields or {}).get(territory.custom_field)
        values = value if isinstance(value, list) else [value]
        if territory.custom_value not in {str(v) for v in values if v is not None}:
            return False
    return True


def territory_q(territory: Territory, *, prefix: str = "") -> Q:
    """The same test as :func:`territory_matches`, as a filter on accounts (set-based re-apply)."""
    condition = Q()
    if territory.countries or territory.regions:
        allowed = sorted({str(c).upper() for c in territory.countries} | countries_of(territory.regions))
        condition &= Q(**{f"{prefix}country__in": allowed})
    if territory.industries:
        condition &= Q(**{f"{prefix}industry__in": list(territory.industries)})
    if territory.custom_field:
        key = f"{prefix}custom_fields__{territory.custom_field}"
        value = Q(**{key: territory.custom_value})
        if connection.vendor == "postgresql":
            # A multiple-choice field holds a list: the value is one of its items (SQLite: single values only).
            value |= Q(**{f"{key}__contains": [territory.custom_value]})
        condition &= value
    return condition


def match_territory(
    *,
    country: str = "",
    industry: str = "",
    custom_fields: dict[str, Any] | None = None,
    territories: Sequence[Territory] | None = None,
) -> Territory | None:
    """The first active territory (by position) these attributes match."""
    for territory in active_territories() if territories is None else territories:
        if territory_matches(territory, country=country, industry=industry, custom_fields=custom_fields):
            return territory
    return None


def territory_of_account(account: Account, *, territories: Sequence[Territory] | None = None) -> Territory | None:
    """The account's territory: the one it is assigned (by name), else the first that matches."""
    pool = active_territories() if territories is None else list(territories)
    if account.territory:
        for territory in pool:
            if territory.name == account.territory:
                return territory
    return match_territory(
        country=str(account.country or ""),
        industry=account.industry or "",
        custom_fields=account.custom_fields,
        territories=pool,
    )


def territory_for(record: Any, *, territories: Sequence[Territory] | None = None) -> Territory | None:
    """The territory an account, contact, lead, opportunity or case is in (None: no territory).

    ``territories``: the active ones in order, when the caller has them (else from the cache).
    """
    if isinstance(record, Account):
        return territory_of_account(record, territories=territories)
    if isinstance(record, Contact | Opportunity | Case):
        account = record.account if record.account_id else None
        return territory_of_account(account, territories=territories) if account is not None else None
    if isinstance(record, Lead):
        if record.converted_account is not None:
            return territory_of_account(record.converted_account, territories=territories)
        return match_territory(
            country=str(record.company_country or ""),
            industry="",
            custom_fields=record.custom_fields,
            territories=territories,
        )
    return None


# --- Managers ----------------------------------------------------------------------------------


def manager_of(user: User) -> User | None:
    """The manager of the team ``user`` belongs to (the oldest such team first).

    A team's manager is not their own manager: for them it is the manager of another team they
    are a member of, else None.
    """
    if user is None or user.pk is None:
        return None
    membership = (
        TeamMembership.objects.filter(user=user, team__manager__isnull=False, team__manager__is_active=True)
        .exclude(team__manager=user)
        .select_related("team__manager")
        .order_by("team_id")
        .first()
    )
    return membership.team.manager if membership is not None else None


def managers_of(user_ids: Iterable[int]) -> dict[int, int]:
    """``{user id: their manager's id}`` for many users in one query (set-based jobs: SLA breaches).

    The same answer as :func:`manager_of` for each; users without a team manager are left out.
    """
    ids = [pk for pk in set(user_ids) if pk]
    if not ids:
        return {}
    rows = (
        TeamMembership.objects.filter(user_id__in=ids, team__manager__isnull=False, team__manager__is_active=True)
        .exclude(team__manager_id=F("user_id"))
        .order_by("user_id", "team_id")
        .values_list("user_id", "team__manager_id")
    )
    found: dict[int, int] = {}
    for user_id, manager_id in rows:
        found.setdefault(user_id, manager_id)
    return found


# --- Picking -----------------------------------------------------------------------------------


def _after_pointer(candidates: list[MemberState], pointer: int | None) -> list[MemberState]:
    """Candidates in round-robin order: those after the pointer, then from the start."""
    if pointer is None:
        return candidates
    after = [c for c in candidates if c.membership.pk > pointer]
    before = [c for c in candidates if c.membership.pk <= pointer]
    return after + before


def _open_records(user_id: int, kind: str) -> QuerySet[Any]:
    if kind == CASES:
        return Case.objects.filter(assignee_id=user_id, status__in=OPEN_CASE_STATUSES)
    return Lead.objects.filter(owner_id=user_id, status__in=OPEN_LEAD_STATUSES)


def _take_turn(locked: Team, membership: TeamMembership, *, kind: str, cap: int | None) -> bool:
    """Move the locked team's pointer to ``membership`` unless they are at capacity; whether it moved.

    One statement: the capacity test is the UPDATE's condition — no ``cap``-th open record, an
    index scan that stops at ``cap`` and, unlike a count, hands nothing on (the cheapest exact answer).
    """
    pointer = Team.objects.filter(pk=locked.pk)
    if cap is not None:
        if cap <= 0:
            return False
        pointer = pointer.filter(~Exists(_open_records(membership.user_id, kind).order_by()[cap - 1 : cap]))
    return pointer.update(last_assigned=membership) == 1


def lock_team(team: Team) -> tuple[Team | None, list[TeamMembership]]:
    """The team's row, locked (``SELECT … FOR UPDATE``) until the transaction ends, and its members
    with their users (by membership id), in one query: the members joined to the team, locking the
    team's row only. The pointer read is the latest committed one (PostgreSQL re-reads a locked row
    that changed while it waited). None when the team no longer exists."""
    memberships = list(
        TeamMembership.objects.filter(team_id=team.pk)
        .select_related("team", "user")
        .select_for_update(of=("team",))
        .order_by("id")
    )
    if memberships:
        locked = memberships[0].team
        for m in memberships:
            m.team = locked
        return locked, memberships
    return Team.objects.select_for_update().filter(pk=team.pk).first(), []


def _round_robin(locked: Team, memberships: list[TeamMembership], *, kind: str, now: dt.datetime | None) -> Pick:
    """The next available member after the pointer. Only a member otherwise available has their
    load looked at, as the condition of moving the pointer to them: a pick usually costs one UPDATE."""
    day = _today(now)
    pointer = locked.last_assigned_id
    ordered = [m for m in memberships if pointer is None or m.pk > pointer] + [
        m for m in memberships if pointer is not None and m.pk <= pointer
    ]
    skipped: list[str] = []
    for membership in ordered:
        cap = capacity_of(membership, kind)
        state = MemberState(membership, 0, cap, is_out_of_office(membership.user, on=day))
        if state.available:
            if _take_turn(locked, membership, kind=kind, cap=cap):
                locked.last_assigned_id = membership.pk
                return Pick(membership.user, f"round-robin in {locked}", team=locked, skipped=skipped)
            state.load = cap or 0  # the pointer stayed: they hold ``cap`` open records or more
        skipped.append(state.why_not())
    return Pick(None, f"nobody in {locked} is available", team=locked, skipped=skipped)


def pick_in_team(team: Team, *, kind: str, least_loaded: bool, now: dt.datetime | None = None) -> Pick:
    """Round-robin (or least-loaded, ties in round-robin order) among the team's available members.

    Locks the team's row until the caller's transaction ends and moves its pointer.
    """
    # No savepoint: the lock must outlive this block anyway, and an error here ends the caller's
    # transaction as it would without one.
    with transaction.atomic(savepoint=False):
        locked, memberships = lock_team(team)
        if locked is None:
            return Pick(None, f"team {team} no longer exists")
        if not least_loaded:
            result = _round_robin(locked, memberships, kind=kind, now=now)
            if result.user is not None:
                team.last_assigned_id = locked.last_assigned_id
            return result
        states = member_states(locked, kind, on=_today(now), memberships=memberships)
        candidates = [s for s in states if s.available]
        skipped = [s.why_not() for s in states if not s.available]
        if not candidates:
            return Pick(None, f"nobody in {locked} is available", team=locked, skipped=skipped)
        ordered = _after_pointer(candidates, locked.last_assigned_id)
        lowest = min(s.load for s in ordered)
        chosen = next(s for s in ordered if s.load == lowest)
        Team.objects.filter(pk=locked.pk).update(last_assigned=chosen.membership)
        team.last_assigned_id = chosen.membership.pk
        return Pick(chosen.user, f"least-loaded in {locked} ({chosen.load} open {kind})", team=locked, skipped=skipped)


def user_state(user: User, *, kind: str, team: Team | None = None, now: dt.datetime | None = None) -> MemberState:
    """One person's availability: their tightest capacity among their teams (or in ``team``)."""
    memberships = TeamMembership.objects.filter(user=user).select_related("user")
    if team is not None:
        memberships = memberships.filter(team=team)
    found = list(memberships)
    caps = [c for c in (capacity_of(m, kind) for m in found) if c is not None]
    membership = found[0] if found else TeamMembership(user=user, accepts_assignments=True)
    membership.user = user
    load = open_loads([user.pk], kind)[user.pk] if caps else 0
    return MemberState(
        membership=membership,
        load=load,
        capacity=min(caps) if caps else None,
        out_of_office=is_out_of_office(user, on=_today(now)),
    )


def person(user_id: int | None) -> User | None:
    """A person by id, read now: the cached definitions (a territory's owner, a rule's fallback)
    hold only the id, and their active, staff and out-of-office fields decide a pick. None: gone."""
    if user_id is None:
        return None
    from iam.models import User

    return User._base_manager.filter(pk=user_id).first()


def _pick_user(user: User | None, *, kind: str, team: Team | None, now: dt.datetime | None) -> Pick:
    if user is None:
        return Pick(None, "no person given")
    state = user_state(user, kind=kind, team=team, now=now)
    # A named person is chosen on purpose: only "takes no automatic assignments" in a team does
    # not stop it; being away, full or inactive does.
    if not _usable(user) or state.out_of_office or state.full:
        return Pick(None, state.why_not() or f"{user} is not available", skipped=[state.why_not()])
    return Pick(user, f"named person {user}", team=team)


def pick(
    *,
    record: Any,
    strategy: str,
    team: Team | None = None,
    user: User | None = None,
    territory: Territory | None = None,
    now: dt.datetime | None = None,
) -> Pick:
    """:func:`pick_assignee` with the reason it gives."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown assignment strategy {strategy!r}.")
    kind = load_kind(record)
    if strategy == Strategy.USER:
        return _pick_user(user, kind=kind, team=team, now=now)
    if strategy == Strategy.TERRITORY:
        territory = territory or territory_for(record)
        if territory is None:
            return Pick(None, "the record is in no territory")
        skipped: list[str] = []
        if territory.owner_id is not None:
            owner_pick = _pick_user(person(territory.owner_id), kind=kind, team=territory.team, now=now)
            if owner_pick.user is not None:
                owner_pick.reason = f"owner of territory {territory}"
                owner_pick.territory = territory
                return owner_pick
            skipped += owner_pick.skipped
        if territory.team_id is None:
            return Pick(
                None, f"territory {territory} has no available owner and no team", territory=territory, skipped=skipped
            )
        result = pick_in_team(territory.team, kind=kind, least_loaded=False, now=now)  # type: ignore[arg-type]  # team_id checked above
        result.territory = territory
        result.skipped = skipped + result.skipped
        if result.user is not None:
            result.reason = f"territory {territory}: {result.reason}"
        return result
    if team is None:
        return Pick(None, "no team given")
    return pick_in_team(team, kind=kind, least_loaded=strategy == Strategy.LEAST_LOADED, now=now)


def pick_assignee(
    *,
    record: Any,
    strategy: str,
    team: Team | None = None,
    user: User | None = None,
    territory: Territory | None = None,
    now: dt.datetime | None = None,
) -> User | None:
    """A person to own or work ``record``, or None when nobody is available.

    ``strategy``: ``"user"`` (``user``, if available), ``"round_robin"`` or ``"least_loaded"``
    (within ``team``), ``"territory"`` (``territory``, else the record's own: its owner, else
    round-robin in its team). Respects capacity and out-of-office; moves the team's round-robin
    pointer (call it in the transaction that saves the assignment).
    """
    return pick(record=record, strategy=strategy, team=team, user=user, territory=territory, now=now).user
