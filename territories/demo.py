"""Demo teams, territories and assignment rules for ``seed_demo`` (idempotent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from territories.models import AssignmentRule, Strategy, Team, TeamMembership, Territory

if TYPE_CHECKING:
    from iam.models import User


def territories_demo_seed(*, manager: User, sales: User) -> None:
    team, _ = Team.objects.get_or_create(
        key="field_sales", defaults={"name": "Field sales", "manager": manager, "description": "DACH and the rest."}
    )
    for user, leads in ((sales, 25), (manager, 10)):
        TeamMembership.objects.get_or_create(team=team, user=user, defaults={"max_open_leads": leads})
    dach, _ = Territory.objects.get_or_create(
        name="DACH", defaults={"position": 10, "regions": ["dach"], "team": team, "owner": sales}
    )
    Territory.objects.get_or_create(name="International", defaults={"position": 100, "team": team})
    rule, created = AssignmentRule.objects.get_or_create(
        name="DACH leads to their territory",
        defaults={"record_type": AssignmentRule.RecordType.LEAD, "position": 10, "strategy": Strategy.TERRITORY},
    )
    if created:
        rule.territories.set([dach])
    AssignmentRule.objects.get_or_create(
        name="Website leads round-robin",
        defaults={
            "record_type": AssignmentRule.RecordType.LEAD,
            "position": 20,
            "lead_sources": ["web"],
            "strategy": Strategy.ROUND_ROBIN,
            "team": team,
            "fallback_user": manager,
        },
    )
