"""Reads of the reports, from the snapshots: a page costs the same at a million contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analytics.models import DataHealthAccountCount, DataHealthOwnerCount, DataHealthSnapshot, ReconfirmationRun
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

TOP_ACCOUNTS = 15
OWNERS_SHOWN = 50
TREND_DAYS = 180


@dataclass
class DataHealth:
    snapshot: DataHealthSnapshot | None
    owners: list[DataHealthOwnerCount] = field(default_factory=list)
    top_accounts: list[DataHealthAccountCount] = field(default_factory=list)
    trend: Sequence[Mapping[str, Any]] = field(default_factory=list)
    runs: list[ReconfirmationRun] = field(default_factory=list)
    mine: DataHealthOwnerCount | None = None


def data_health(*, user: User, trend_days: int = TREND_DAYS) -> DataHealth:
    """The latest snapshot, stale share per owner and the accounts with most stale contacts, the trend.

    Six queries whatever the size of the CRM: each reads a snapshot table by its indexes.
    """
    if not is_crm_user(user):
        return DataHealth(snapshot=None)
    snapshot = DataHealthSnapshot.objects.order_by("-day").first()
    runs = list(ReconfirmationRun.objects.filter(requested_by=user).select_related("account", "owner")[:5])
    if snapshot is None:
        return DataHealth(snapshot=None, runs=runs)
    owners = list(
        DataHealthOwnerCount.objects.filter(snapshot=snapshot)
        .select_related("owner")
        .order_by("-stale", "owner_id")[:OWNERS_SHOWN]
    )
    top_accounts = list(
        DataHealthAccountCount.objects.filter(snapshot=snapshot, stale__gt=0)
        .select_related("account")
        .order_by("-stale", "account_id")[:TOP_ACCOUNTS]
    )
    trend = list(
        DataHealthSnapshot.objects.filter(day__gt=snapshot.day - dt.timedelta(days=trend_days))
        .order_by("day")
        .values("day", "fresh", "ageing", "stale")
    )
    mine = DataHealthOwnerCount.objects.filter(snapshot=snapshot, owner=user).first()
    return DataHealth(snapshot=snapshot, owners=owners, top_accounts=top_accounts, trend=trend, runs=runs, mine=mine)


def reconfirmation_run_for(*, user: User, run_id: int) -> ReconfirmationRun | None:
    """A run its requester may watch; anyone else's is the same None as one that does not exist."""
    if not is_crm_user(user):
        return None
    return ReconfirmationRun.objects.filter(pk=run_id, requested_by=user).select_related("account", "owner").first()


# --- Data that stays right (issue 19): the loops, what they catch, and where decay is heading ----

LEFT_SHOWN = 10
OVERDUE_SHOWN = 10
FORECAST_MONTHS = (3, 6, 12)


@dataclass
class DataHealthLoops:
    reviews_opened: int = 0  # reviews opened within the last interval
    reviews_completed: int = 0  # of those, completed
    reviews_overdue: list[Any] = field(default_factory=list)
    reviews_overdue_count: int = 0
    left_this_month: list[Any] = field(default_factory=list)
    left_this_month_count: int = 0
    expected_monthly: float = 0.0  # % of contacts whose data is expected to go wrong in a month
    observed_monthly: float = 0.0  # % caught by the loops in the last 30 days (left, changed, corrected)
    forecast: list[tuple[int, float]] = field(default_factory=list)  # (months ahead, % stale if nobody verifies)

    @property
    def completion_percent(self) -> float | None:
        return 100 * self.reviews_completed / self.reviews_opened if self.reviews_opened else None


FORECAST_CACHE_KEY = "analytics:data-health-forecast"


def data_health_forecast_compute(*, now: dt.datetime) -> list[tuple[int, float]]:
    """% of contacts stale in 3, 6 and 12 months if nobody verifies anyone: one scan of an index.

    Taken with the nightly snapshot (``analytics.services``) and kept in the cache for the page.
    """
    from django.db.models import Count

    from crm.decay import MONTH, DecayPolicy, Freshness
    from crm.models import Contact

    policy = DecayPolicy.from_settings()
    counts = Contact.objects.aggregate(
        total=Count("pk"),
        **{
            f"m{months}": Count("pk", filter=policy.state_q(Freshness.STALE, now + months * MONTH))
            for months in FORECAST_MONTHS
        },
    )
    total = counts["total"]
    return [(months, 100 * counts[f"m{months}"] / total if total else 0.0) for months in FORECAST_MONTHS]


def data_health_loops(*, user: User, total: int, now: dt.datetime | None = None) -> DataHealthLoops:
    """Review completion, the contacts who left this month, expected vs observed decay, a forecast.

    Six queries whatever the size of the CRM: aggregates over indexed ranges of small tables
    (reviews, answers, reconfirmations, the contacts who left) and two capped lists; the forecast
    comes from the cache, where the nightly snapshot puts it.
    """
    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Count, Q
    from django.utils import timezone

    from crm.models import Contact, ContactReconfirmation
    from reviews.models import AccessReview, AccessReviewAnswer

    if not is_crm_user(user):
        return DataHealthLoops()
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.REVIEWS_INTERVAL_DAYS)
    reviews = AccessReview.objects.filter(Q(opened_at__gte=since) | Q(completed_at__isnull=True)).aggregate(
        opened=Count("pk", filter=Q(opened_at__gte=since)),
        completed=Count("pk", filter=Q(opened_at__gte=since, completed_at__isnull=False)),
        overdue=Count("pk", filter=Q(completed_at__isnull=True, due_at__lt=now)),
    )
    overdue = AccessReview.objects.overdue(now).select_related("account__owner").order_by("due_at", "pk")
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_30 = now - dt.timedelta(days=30)
    left = Contact.objects.filter(left_at__gte=min(month_start, last_30)).aggregate(
        this_month=Count("pk", filter=Q(left_at__gte=month_start)),
        last_30=Count("pk", filter=Q(left_at__gte=last_30)),
    )
    caught = (
        left["last_30"]
        + AccessReviewAnswer.objects.filter(answered_at__gte=last_30, answer=AccessReviewAnswer.Answer.CHANGED).count()
        + ContactReconfirmation.objects.filter(
            used_at__gte=last_30, outcome=ContactReconfirmation.Outcome.CORRECTED
        ).count()
    )
    return DataHealthLoops(
        reviews_opened=reviews["opened"],
        reviews_completed=reviews["completed"],
        reviews_overdue=list(overdue[:OVERDUE_SHOWN]),
        reviews_overdue_count=reviews["overdue"],
        left_this_month=list(
            Contact.objects.filter(left_at__gte=month_start)
            .select_related("account", "owner")
            .order_by("-left_at", "-pk")[:LEFT_SHOWN]
        ),
        left_this_month_count=left["this_month"],
        expected_monthly=100 * settings.DECAY_MONTHLY_RATE,
        observed_monthly=100 * caught / total if total else 0.0,
        forecast=cache.get(FORECAST_CACHE_KEY) or [],
    )
