"""Freshness math: (1 - rate) ** months, and the fresh / ageing / stale thresholds at their edges."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from crm.decay import MONTH, DecayPolicy, Freshness, contacts_refresh_freshness
from crm.models import Contact
from crm.services import contact_verify
from tests.factories import ContactFactory, StaffFactory

T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
POLICY = DecayPolicy(monthly_rate=0.02, fresh_threshold=0.88, stale_threshold=0.78)


def test_probability_is_one_minus_rate_to_the_months():
    assert POLICY.probability(T0, now=T0) == 1
    assert POLICY.probability(T0, now=T0 + 12 * MONTH) == pytest.approx(0.98**12)
    assert POLICY.probability(T0, now=T0 + 12 * MONTH) == pytest.approx(0.7847, abs=1e-4)
    assert POLICY.probability(None, now=T0) == 0


def test_a_verification_in_the_future_counts_as_now():
    assert POLICY.probability(T0 + dt.timedelta(days=3), now=T0) == 1


def test_thresholds_become_months_after_verification():
    assert POLICY.months_until(0.88) == pytest.approx(math.log(0.88) / math.log(0.98))  # ~6.3 months
    assert POLICY.months_until(0.78) == pytest.approx(12.298, abs=1e-3)


@pytest.mark.parametrize(
    ("after", "state"),
    [
        (dt.timedelta(0), Freshness.FRESH),
        (POLICY.months_until(0.88) * MONTH, Freshness.FRESH),  # exactly at the threshold: still fresh
        (POLICY.months_until(0.88) * MONTH + dt.timedelta(seconds=1), Freshness.AGEING),
        (12 * MONTH, Freshness.AGEING),  # 78.5 % is not below 78 %
        (POLICY.months_until(0.78) * MONTH - dt.timedelta(seconds=1), Freshness.AGEING),
        (POLICY.months_until(0.78) * MONTH + dt.timedelta(seconds=1), Freshness.STALE),
    ],
)
def test_state_at_the_boundaries(after, state):
    assert POLICY.state(T0, now=T0 + after) == state


def test_never_verified_is_stale():
    assert POLICY.state(None, now=T0) == Freshness.STALE


def test_no_decay_keeps_every_verified_contact_fresh():
    policy = DecayPolicy(monthly_rate=0, fresh_threshold=0.88, stale_threshold=0.78)
    assert policy.state(T0, now=T0 + 100 * 12 * MONTH) == Freshness.FRESH
    assert policy.state(None, now=T0) == Freshness.STALE


@pytest.mark.parametrize(("rate", "fresh", "stale"), [(1.0, 0.9, 0.8), (-0.1, 0.9, 0.8), (0.02, 0.7, 0.8)])
def test_nonsense_policies_are_refused(rate, fresh, stale):
    with pytest.raises(ImproperlyConfigured):
        DecayPolicy(monthly_rate=rate, fresh_threshold=fresh, stale_threshold=stale)


@pytest.mark.django_db
def test_the_derived_state_moves_with_time_exactly_at_the_thresholds(settings):
    settings.DECAY_MONTHLY_RATE, settings.DECAY_FRESH_FROM, settings.DECAY_STALE_BELOW = 0.02, 0.88, 0.78
    rep = StaffFactory()
    with time_machine.travel(T0, tick=False):
        contact = ContactFactory(owner=rep)
        assert contact.freshness == Freshness.STALE  # never verified
        contact_verify(actor=rep, contact=contact)
        assert Contact.objects.get(pk=contact.pk).freshness == Freshness.FRESH
    fresh_until = T0 + POLICY.months_until(0.88) * MONTH
    stale_from = T0 + POLICY.months_until(0.78) * MONTH
    for moment, expected in [
        (fresh_until, Freshness.FRESH),
        (fresh_until + dt.timedelta(seconds=1), Freshness.AGEING),
        (stale_from, Freshness.AGEING),
        (stale_from + dt.timedelta(seconds=1), Freshness.STALE),
    ]:
        with time_machine.travel(moment, tick=False):
            assert Contact.objects.get(pk=contact.pk).freshness == expected, moment
            assert list(Contact.objects.freshness_in(expected).values_list("pk", flat=True)) == [contact.pk]


@pytest.mark.django_db
def test_a_faster_decay_rate_from_settings_makes_contacts_stale_sooner(settings):
    with time_machine.travel(T0, tick=False):
        contact = ContactFactory(last_verified_at=T0, verification_method=Contact.VerificationMethod.IMPORT)
    with time_machine.travel(T0 + 3 * MONTH, tick=False):
        assert Contact.objects.get(pk=contact.pk).freshness == Freshness.FRESH
        settings.DECAY_MONTHLY_RATE = 0.10  # 0.9 ** 3 = 0.729: below 0.78
        # Derived at read time: no job has to rewrite a row for the new rate to apply.
        assert contacts_refresh_freshness() == 0
        assert Contact.objects.get(pk=contact.pk).freshness == Freshness.STALE
        assert Contact.objects.freshness_in(Freshness.STALE).get() == contact
