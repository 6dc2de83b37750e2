"""Portal identities nobody uses: warned by email first, deactivated later, audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from iam.inactivity import InactivityOutcome, users_deactivate_inactive
from iam.models import AuditEvent, User
from tests.factories import MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.IAM_DEACTIVATE_INACTIVE_AFTER_DAYS = 365
    settings.IAM_INACTIVITY_WARNING_DAYS = 14
    settings.SITE_URL = "http://testserver"


def _user_last_seen(days_ago: int) -> User:
    membership = MembershipFactory()
    User.objects.filter(pk=membership.user_id).update(last_login=timezone.now() - dt.timedelta(days=days_ago))
    return User.objects.get(pk=membership.user_id)


def _run(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return users_deactivate_inactive(**kwargs)


def test_a_user_about_to_count_as_inactive_is_warned_first_and_not_deactivated(django_capture_on_commit_callbacks):
    user = _user_last_seen(400)
    active = _user_last_seen(100)
    outcome = _run(django_capture_on_commit_callbacks)
    assert (outcome.warned, outcome.deactivated) == (1, 0)
    assert User.objects.get(pk=user.pk).is_active
    [message] = mail.outbox
    assert message.to == [user.email]
    assert "http://testserver/auth/login/" in message.body
    assert "http://testserver/auth/login/" in message.alternatives[0][0]
    warned = AuditEvent.objects.get(action="iam.user.inactivity_warned")
    assert warned.target_id == str(user.pk)
    assert warned.account_id == user.memberships.get().account_id
    assert active.email not in {m.to[0] for m in mail.outbox}


def test_then_deactivated_after_the_warning_period_and_audited(django_capture_on_commit_callbacks):
    user = _user_last_seen(400)
    _run(django_capture_on_commit_callbacks)
    assert _run(django_capture_on_commit_callbacks) == InactivityOutcome(0, 0)
    with time_machine.travel(timezone.now() + dt.timedelta(days=13)):
        assert _run(django_capture_on_commit_callbacks).deactivated == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=14, hours=1)):
        outcome = _run(django_capture_on_commit_callbacks)
        assert outcome.deactivated == 1
        assert _run(django_capture_on_commit_callbacks).deactivated == 0  # twice: nothing more
    assert not User.objects.get(pk=user.pk).is_active
    event = AuditEvent.objects.get(action="iam.user.deactivated_inactive")
    assert (event.target_id, event.account_id, event.actor_id) == (
        str(user.pk),
        user.memberships.get().account_id,
        None,
    )
    assert len(mail.outbox) == 1  # one warning, no more


def test_signing_in_after_the_warning_keeps_the_account(django_capture_on_commit_callbacks):
    user = _user_last_seen(360)
    _run(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    later = timezone.now() + dt.timedelta(days=10)
    User.objects.filter(pk=user.pk).update(last_login=later)
    with time_machine.travel(later + dt.timedelta(days=30)):
        assert _run(django_capture_on_commit_callbacks) == InactivityOutcome(0, 0)
    assert User.objects.get(pk=user.pk).is_active


def test_a_user_who_never_signed_in_counts_from_joining(django_capture_on_commit_callbacks):
    membership = MembershipFactory()
    User.objects.filter(pk=membership.user_id).update(
        last_login=None, date_joined=timezone.now() - dt.timedelta(days=500)
    )
    assert _run(django_capture_on_commit_callbacks).warned == 1


def test_staff_are_never_deactivated_for_inactivity(django_capture_on_commit_callbacks):
    rep = StaffFactory()
    User.objects.filter(pk=rep.pk).update(last_login=timezone.now() - dt.timedelta(days=900))
    assert _run(django_capture_on_commit_callbacks).warned == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        assert _run(django_capture_on_commit_callbacks).deactivated == 0
    assert User.objects.get(pk=rep.pk).is_active


def test_zero_days_turns_the_job_off(settings, django_capture_on_commit_callbacks):
    settings.IAM_DEACTIVATE_INACTIVE_AFTER_DAYS = 0
    _user_last_seen(4000)
    assert _run(django_capture_on_commit_callbacks).warned == 0


def test_the_command_runs_it_by_hand():
    _user_last_seen(400)
    out = io.StringIO()
    call_command("users_deactivate_inactive", stdout=out)
    assert "1 users warned, 0 deactivated" in out.getvalue()
