"""Reads for the territories pages and API, scoped to what the requesting user may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from iam.permissions import can_manage_teams, is_crm_user
from territories.models import AssignmentRule, Team, TeamMembership, Territory, TerritoryRun
from territories.routing import CASES, LEADS, capacity_of, is_out_of_office, open_loads

if TYPE_CHECKING:
    from iam.models import User


def team_list(*, user: User) -> QuerySet[Team]:
    """Every team for managers and operations; a rep's (or the service desk's) own teams."""
    if not is_crm_user(user):
        return Team.objects.none()
    teams = Team.objects.select_related("manager").order_by("name", "id")
    if can_manage_teams(user):
        return teams
    return teams.filter(memberships__user=user).distinct()


def territory_list(*, user: User) -> QuerySet[Territory]:
    if not is_crm_user(user):
        return Territory.objects.none()
    return Territory.objects.select_related("team", "owner").order_by("position", "id")


def rule_list(*, user: User) -> QuerySet[AssignmentRule]:
    if not is_crm_user(user):
        return AssignmentRule.objects.none()
    return (
        AssignmentRule.objects.select_related("team", "user", "fallback_user")
        .prefetch_related(Prefetch("territories", queryset=Territory.objects.order_by("position", "id")))
        .order_by("record_type", "position", "id")
    )


@dataclass
class MemberRow:
    membership: TeamMembership
    open_leads: int
    open_cases: int
    out_of_office: bool

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def lead_capacity(self) -> int | None:
        return capacity_of(self.membership, LEADS)

    @property
    def case_capacity(self) -> int | None:
        return capacity_of(self.membership, CASES)

    @property
    def lead_share(self) -> int | None:
        cap = self.lead_capacity
        return min(100, round(100 * self.open_leads / cap)) if cap else None

    @property
    def case_share(self) -> int | None:
        cap = self.case_capacity
        return min(100, round(100 * self.open_cases / cap)) if cap else None


def team_member_rows(teams: list[Team]) -> dict[int, list[MemberRow]]:
    """Members of the teams with their current load: one query for members, two grouped counts."""
    memberships = list(TeamMembership.objects.filter(team__in=teams).select_related("user").order_by("team_id", "id"))
    user_ids = {m.user_id for m in memberships}
    leads, cases = open_loads(user_ids, LEADS), open_loads(user_ids, CASES)
    today = timezone.localdate()
    rows: dict[int, list[MemberRow]] = {t.pk: [] for t in teams}
    for m in memberships:
        rows[m.team_id].append(
            MemberRow(
                membership=m,
                open_leads=leads.get(m.user_id, 0),
                open_cases=cases.get(m.user_id, 0),
                out_of_office=is_out_of_office(m.user, on=today),
            )
        )
    return rows


def latest_run() -> TerritoryRun | None:
    return TerritoryRun.objects.select_related("requested_by").order_by("-requested_at", "-id").first()
