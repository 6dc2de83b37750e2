"""How fast contact data decays, and what that makes of each contact: fresh, ageing or stale.

The probability that a contact's data is still accurate is ``(1 - rate) ** months`` where
``months`` is the time since it was last verified. The state follows from two probability
thresholds. Because the probability only falls with time, each threshold is one point in time
(a cutoff): a contact is fresh when verified on or after the fresh cutoff, stale when verified
before the stale cutoff (or never), ageing in between. So the periodic recompute is one
set-based UPDATE comparing ``last_verified_at`` with two timestamps, on any database.

Issue 19: the state is no longer stored. It is derived at read time from ``last_verified_at``
(``Contact.freshness``, ``CRMQuerySet.freshness_in`` and ``state_expression`` in SQL), so the
passage of time, a COPY load or a new ``DECAY_MONTHLY_RATE`` rewrites no row. A stored column
cost 128.7 s (358 s under load) to bring 1,000,000 contacts up to date in the worst case: every
state change is a non-HOT row version inserted into all of ``crm_contact``'s indexes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

# The Gregorian average month: 365.2425 days / 12.
MONTH = dt.timedelta(days=30.436875)


class Freshness(models.TextChoices):
    FRESH = "fresh", "Fresh"
    AGEING = "ageing", "Ageing"
    STALE = "stale", "Stale"


@dataclass(frozen=True)
class DecayPolicy:
    monthly_rate: float  # 0.02: 2 % of contacts' data goes wrong each month
    fresh_threshold: float  # probability at or above which a contact is fresh
    stale_threshold: float  # probability below which a contact is stale

    def __post_init__(self) -> None:
        if not 0 <= self.monthly_rate < 1:
            raise ImproperlyConfigured(f"DECAY_MONTHLY_RATE must be in [0, 1), got {self.monthly_rate}.")
        if not 0 < self.stale_threshold <= self.fresh_threshold <= 1:
            raise ImproperlyConfigured(
                "Freshness thresholds need 0 < DECAY_STALE_BELOW <= DECAY_FRESH_FROM <= 1, got "
                f"{self.stale_threshold} and {self.fresh_threshold}."
            )

    @classmethod
    def from_settings(cls) -> DecayPolicy:
        return cls(
            monthly_rate=settings.DECAY_MONTHLY_RATE,
            fresh_threshold=settings.DECAY_FRESH_FROM,
            stale_threshold=settings.DECAY_STALE_BELOW,
        )

    def months_until(self, probability: float) -> float:
        """How many months after verification the probability falls to ``probability``."""
        if self.monthly_rate == 0 or probability <= 0:
            return math.inf
        return math.log(probability) / math.log(1 - self.monthly_rate)

    def probability(self, last_verified_at: dt.datetime | None, *, now: dt.datetime | None = None) -> float:
        if last_verified_at is None:
            return 0.0
        months = max((now or timezone.now()) - last_verified_at, dt.timedelta(0)) / MONTH
        return (1 - self.monthly_rate) ** months

    def cutoffs(self, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(fresh_cutoff, stale_cutoff): verified at/after the first is fresh, before the second stale.

        ``None`` means no such point in time (no decay at all: nothing verified ever leaves the state).
        """

        def back(months: float) -> dt.datetime | None:
            if math.isinf(months):
                return None
            try:
                return now - MONTH * months
            except OverflowError:
                return None

        return back(self.months_until(self.fresh_threshold)), back(self.months_until(self.stale_threshold))

    def state(self, last_verified_at: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
        if last_verified_at is None:
            return Freshness.STALE
        fresh_cutoff, stale_cutoff = self.cutoffs(now or timezone.now())
        if fresh_cutoff is None or last_verified_at >= fresh_cutoff:
            return Freshness.FRESH
        if stale_cutoff is not None and last_verified_at < stale_cutoff:
            return Freshness.STALE
        return Freshness.AGEING

    def state_expression(self, now: dt.datetime) -> Case:
        """The same rule as :meth:`state`, as SQL over ``last_verified_at``."""
        fresh_cutoff, stale_cutoff = self.cutoffs(now)
        whens = [When(last_verified_at__isnull=True, then=Value(Freshness.STALE))]
        if fresh_cutoff is None:
            whens.append(When(last_verified_at__isnull=False, then=Value(Freshness.FRESH)))
        else:
            whens.append(When(last_verified_at__gte=fresh_cutoff, then=Value(Freshness.FRESH)))
        if stale_cutoff is not None:
            whens.append(When(last_verified_at__lt=stale_cutoff, then=Value(Freshness.STALE)))
        return Case(*whens, default=Value(Freshness.AGEING), output_field=models.CharField())

    def state_q(self, state: str, now: dt.datetime) -> Q:
        """The contacts in ``state`` at ``now``, as a filter on ``last_verified_at`` (index-friendly)."""
        fresh_cutoff, stale_cutoff = self.cutoffs(now)
        verified = Q(last_verified_at__isnull=False)
        if state == Freshness.FRESH:
            return verified if fresh_cutoff is None else Q(last_verified_at__gte=fresh_cutoff)
        if state == Freshness.STALE:
            never = Q(last_verified_at__isnull=True)
            return never if stale_cutoff is None else never | Q(last_verified_at__lt=stale_cutoff)
        if state == Freshness.AGEING:
            if fresh_cutoff is None:
                return Q(pk__in=[])
            ageing = Q(last_verified_at__lt=fresh_cutoff)
            return ageing if stale_cutoff is None else ageing & Q(last_verified_at__gte=stale_cutoff)
        raise ValueError(f"Unknown freshness state {state!r}.")


def freshness_state(last_verified_at: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    return DecayPolicy.from_settings().state(last_verified_at, now=now)


def contacts_refresh_freshness(*, now: dt.datetime | None = None) -> int | None:
    """Kept for the nightly job's callers: freshness is derived at read time, so nothing is written.

    Returns 0 (no contact's stored state changed, because none is stored).
    """
    return 0
