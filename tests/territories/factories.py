"""Factories for teams and territories (tests of routing build state with these)."""

from __future__ import annotations

import factory

from territories.models import AssignmentRule, Team, TeamMembership, Territory
from tests.factories import StaffFactory


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    key = factory.Sequence(lambda n: f"team{n}")
    name = factory.Sequence(lambda n: f"Team {n}")


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(StaffFactory)


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory

    name = factory.Sequence(lambda n: f"Territory {n}")
    position = factory.Sequence(lambda n: n)


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    record_type = AssignmentRule.RecordType.LEAD
    position = factory.Sequence(lambda n: n)
