"""``python -m bench.coverage_queries``: the reads behind My work's and Data health's new cards
(issue 19: the weekly verification list, customers without an org admin, org-admin coverage,
the reps' weekly completion) on the bench database, median and worst of 7 runs after a warm-up.

Run against a copy of the 1,000,000-contact bench database:
``DATABASE_URL=postgres://…/clientele_bench_<name> python -m bench.coverage_queries``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def _timed(label: str, fn: Callable[[], object], runs: int = 7) -> None:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    print(f"  {label}: p50 {statistics.median(times):.1f} ms, worst {max(times):.1f} ms")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from django.db.models import Count

    from crm.models import Contact
    from iam.models import User
    from reviews.selectors import (
        accounts_needing_org_admin,
        org_admin_coverage,
        verification_completion,
        verification_queue,
    )

    books = Contact.objects.values("owner").annotate(n=Count("pk")).order_by("-n")
    busiest, smallest = books[0], books.reverse()[0]
    rep, small = User.objects.get(pk=busiest["owner"]), User.objects.get(pk=smallest["owner"])
    manager = User.objects.filter(is_staff=True, is_superuser=True).first() or rep
    total = Contact.objects.count()
    print(f"{total:,} contacts; the busiest rep owns {busiest['n']:,}, the smallest book {smallest['n']:,}")
    _timed("weekly verification list, busiest rep", lambda: verification_queue(user=rep))
    _timed("weekly verification list, smallest book", lambda: verification_queue(user=small))
    _timed("customers without an org admin, busiest rep", lambda: accounts_needing_org_admin(user=rep))
    _timed(
        "customers without an org admin, every account", lambda: accounts_needing_org_admin(user=manager, mine=False)
    )
    _timed("org-admin coverage, every customer account", lambda: org_admin_coverage(user=manager))
    _timed("the reps' weekly completion", lambda: verification_completion(user=manager))


if __name__ == "__main__":
    main()
