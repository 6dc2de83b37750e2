"""Portal identities nobody uses: warned by email first, deactivated later, audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from iam.inactivity import InactivityOutcome, users_deactivate_inactive
from iam.models import AuditEvent, Membership, User
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


def _member_last_seen(days_ago: int, **kwargs) -> Membership:
    membership = MembershipFactory(**kwargs)
    User.objects.filter(pk=membership.user_id).update(last_login=timezone.now() - dt.timedelta(days=days_ago))
    return membership


def _deactivate_after_warning(django_capture_on_commit_callbacks) -> InactivityOutcome:
    _run(django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        return _run(django_capture_on_commit_callbacks)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_deactivation_removes_the_memberships_and_the_admin_sees_them_removed(django_capture_on_commit_callbacks):
    admin = MembershipFactory(roles=["org_admin"])
    User.objects.filter(pk=admin.user_id).update(last_login=timezone.now() + dt.timedelta(days=15))
    gone = _member_last_seen(400, account=admin.account)
    suspended = _member_last_seen(400, account=admin.account)
    Membership.objects.filter(pk=suspended.pk).update(status=Membership.Status.SUSPENDED, suspended_by="admin")
    elsewhere = _member_last_seen(400, user=gone.user)  # the same person at another organisation

    assert _deactivate_after_warning(django_capture_on_commit_callbacks).deactivated == 2
    statuses = dict(Membership.objects.values_list("pk", "status"))
    assert statuses[gone.pk] == statuses[suspended.pk] == statuses[elsewhere.pk] == Membership.Status.DEACTIVATED
    assert statuses[admin.pk] == Membership.Status.ACTIVE
    removed = AuditEvent.objects.filter(action="iam.membership.removed")
    assert sorted(removed.values_list("target_id", flat=True)) == sorted(
        str(m.pk) for m in (gone, suspended, elsewhere)
    )
    assert {(e.actor_id, e.data["reason"]) for e in removed} == {(None, "inactive")}
    assert not AuditEvent.objects.filter(action="iam.account.left_without_admin").exists()

    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        client = _signed_in(User.objects.get(pk=admin.user_id))
        rows = client.get(reverse("portal:org_members")).content.decode()
        trail = client.get(reverse("portal:org_audit")).content.decode()
    assert gone.user.email in rows
    assert rows.count("Removed") >= 2
    assert "User removed" in trail

    before = (AuditEvent.objects.count(), list(Membership.objects.order_by("pk").values_list("status", "updated_at")))
    with time_machine.travel(timezone.now() + dt.timedelta(days=16)):
        assert _run(django_capture_on_commit_callbacks) == InactivityOutcome(0, 0)
    assert (
        AuditEvent.objects.count(),
        list(Membership.objects.order_by("pk").values_list("status", "updated_at")),
    ) == (before)


def test_the_last_admin_is_removed_anyway_and_the_organisation_is_told(django_capture_on_commit_callbacks):
    last_admin = _member_last_seen(400, roles=["org_admin"])
    member = MembershipFactory(account=last_admin.account)
    User.objects.filter(pk=member.user_id).update(last_login=timezone.now() + dt.timedelta(days=15))

    assert _deactivate_after_warning(django_capture_on_commit_callbacks).deactivated == 1
    assert Membership.objects.get(pk=last_admin.pk).status == Membership.Status.DEACTIVATED
    removed = AuditEvent.objects.get(action="iam.membership.removed")
    assert removed.data["last_admin"] is True
    told = AuditEvent.objects.get(action="iam.account.left_without_admin")
    assert (told.account_id, told.target_id, told.actor_id) == (last_admin.account_id, str(last_admin.account_id), None)
    assert "make someone else an admin" in told.data["message"]
    # Whoever staff make the next admin finds it in the organisation's trail.
    Membership.objects.filter(pk=member.pk).update(is_org_admin=True)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        trail = _signed_in(User.objects.get(pk=member.user_id)).get(reverse("portal:org_audit")).content.decode()
    assert "No active admin left" in trail


def test_an_admin_leaving_while_another_admin_stays_is_an_ordinary_removal(django_capture_on_commit_callbacks):
    leaving = _member_last_seen(400, roles=["org_admin"])
    staying = MembershipFactory(account=leaving.account, roles=["org_admin"])
    User.objects.filter(pk=staying.user_id).update(last_login=timezone.now() + dt.timedelta(days=15))
    _deactivate_after_warning(django_capture_on_commit_callbacks)
    assert "last_admin" not in AuditEvent.objects.get(action="iam.membership.removed").data
    assert not AuditEvent.objects.filter(action="iam.account.left_without_admin").exists()


def test_a_warning_the_mail_server_refused_is_sent_again_and_nobody_is_deactivated_unwarned(
    django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    user = _user_last_seen(400)

    def refuse(self, messages):
        raise ConnectionRefusedError("the mail server is down")

    with monkeypatch.context() as patched:
        patched.setattr(EmailBackend, "send_messages", refuse)
        with pytest.raises(ConnectionRefusedError):
            _run(django_capture_on_commit_callbacks)
    assert not AuditEvent.objects.filter(action="iam.user.inactivity_warned").exists()

    assert _run(django_capture_on_commit_callbacks).warned == 1
    assert len(mail.outbox) == 1
    assert User.objects.get(pk=user.pk).is_active
