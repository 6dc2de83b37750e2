"""Two routing picks at the same moment, on two PostgreSQL connections, never get the same member."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from crm.models import Lead
from territories.routing import pick_assignee
from tests.territories.factories import TeamFactory, TeamMembershipFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only"),
]


def test_concurrent_round_robin_picks_get_different_members():
    team = TeamFactory()
    members = [TeamMembershipFactory(team=team).user for _ in range(3)]
    rounds, per_round = 6, 2
    picked: list[list[int]] = []
    lock = threading.Lock()

    def worker(barrier: threading.Barrier, out: list[int]) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                user = pick_assignee(record=Lead(), strategy="round_robin", team=team)
                # Hold the team's lock a moment longer, as a real lead insert would.
                Lead.objects.exists()
            with lock:
                out.append(user.pk)
        finally:
            connections.close_all()

    for _ in range(rounds):
        barrier = threading.Barrier(per_round)
        out: list[int] = []
        threads = [threading.Thread(target=worker, args=(barrier, out)) for _ in range(per_round)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        picked.append(out)

    for pair in picked:
        assert len(set(pair)) == per_round, pair
    flat = [pk for pair in picked for pk in pair]
    assert {pk: flat.count(pk) for pk in set(flat)} == {m.pk: 4 for m in members}
