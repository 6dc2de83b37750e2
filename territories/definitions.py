"""The definitions every routed record reads: the active territories in order, and the active
assignment rules of each record type with the territories they match.

They change rarely and are read on every routed lead and case (and every account save, for its
territory), so they are kept in the shared cache (Redis in production), as the workflow rules'
index is: one cache read instead of three queries. Every change forgets them (the services,
and so the admin and the API, and the models' ``save()``/``delete()``); the timeout bounds how
long a change made behind their back (a raw UPDATE, an ORM change of a rule's territories) goes
unseen.

Only the definitions are cached. What a pick depends on and changes without them is read fresh
each time: people (active, staff, out of office; a territory's owner and a rule's fallback are
loaded by id), team memberships and capacities, open loads, and the round-robin pointer (under
the team's row lock). The teams cached with rules and territories serve only for their id and key,
which never changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction

from territories.models import AssignmentRule, Territory

CACHE_KEY = "territories:definitions:v1"  # a new version when Definitions changes shape (pickled)
CACHE_SECONDS = 60


@dataclass
class Definitions:
    territories: list[Territory]
    rules: dict[str, list[AssignmentRule]] = field(default_factory=dict)
    # Rule id -> ids of the territories it matches (none: any territory, or none).
    rule_territories: dict[int, frozenset[int]] = field(default_factory=dict)

    def rules_for(self, record_type: str) -> list[AssignmentRule]:
        return self.rules.get(record_type, [])

    def territory_ids_of(self, rule: AssignmentRule) -> frozenset[int]:
        return self.rule_territories.get(rule.pk, frozenset())


def load_active_territories() -> list[Territory]:
    """From the database (the re-apply job reads them so, never from the cache)."""
    return list(Territory.objects.filter(is_active=True).select_related("team").order_by("position", "id"))


def _load() -> Definitions:
    rules: dict[str, list[AssignmentRule]] = defaultdict(list)
    for rule in AssignmentRule.objects.filter(is_active=True).select_related("team").order_by("position", "id"):
        rules[rule.record_type].append(rule)
    wanted: dict[int, set[int]] = defaultdict(set)
    through = AssignmentRule.territories.through
    for rule_id, territory_id in through.objects.filter(assignmentrule__is_active=True).values_list(
        "assignmentrule_id", "territory_id"
    ):
        wanted[rule_id].add(territory_id)
    return Definitions(
        territories=load_active_territories(),
        rules=dict(rules),
        rule_territories={pk: frozenset(ids) for pk, ids in wanted.items()},
    )


def definitions() -> Definitions:
    """The active territories and rules: from the shared cache, else three queries (then cached).

    Each call gives its own copy, so what a caller loads onto these instances stays with it.
    """
    found = cache.get(CACHE_KEY)
    if found is None:
        found = _load()
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def forget_definitions() -> None:
    """A territory, rule or team changed: every process reads them again (now, and once the change
    commits: a routed record may read the old rows in between)."""
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))
