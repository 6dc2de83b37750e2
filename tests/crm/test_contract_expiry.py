from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from crm.models import Contract
from crm.tasks import contracts_expire_due_task
from iam.models import AuditEvent, Membership
from tests.factories import ContractFactory, MembershipFactory
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event as WebhookEvent

pytestmark = pytest.mark.django_db


def test_ended_active_contracts_expire_once_and_others_stay():
    today = timezone.localdate()
    ended = ContractFactory(start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=1))
    ends_today = ContractFactory(start_date=today - dt.timedelta(days=400), end_date=today)
    terminated = ContractFactory(
        status=Contract.Status.TERMINATED,
        start_date=today - dt.timedelta(days=400),
        end_date=today - dt.timedelta(days=9),
    )

    assert contracts_expire_due_task() == 1
    assert contracts_expire_due_task() == 0

    statuses = dict(Contract.objects.values_list("pk", "status"))
    assert statuses == {ended.pk: "expired", ends_today.pk: "active", terminated.pk: "terminated"}
    assert not ended.account.is_customer
    assert ends_today.account.is_customer


def test_the_scheduled_expiry_is_audited_announced_and_ends_access_like_a_manual_one(
    settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    today = timezone.localdate()
    contract = ContractFactory(start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=1))
    member = MembershipFactory(account=contract.account, roles=["buyer"])
    EndpointFactory(event_types=["contract.ended"])

    with django_capture_on_commit_callbacks(execute=False):
        # Run as the worker runs it: the task's signals put the job in the acting context.
        assert contracts_expire_due_task.apply().get() == 1

    event = AuditEvent.objects.get(action="crm.contract.status_changed")
    assert (event.actor, event.actor_label) == (None, "system")
    assert (event.account_id, event.target_id) == (contract.account_id, str(contract.pk))
    assert event.data == {"from": "active", "to": "expired", "reason": "end_date", "job": "crm.contracts_expire_due"}
    ended = WebhookEvent.objects.get(type="contract.ended")
    assert json.loads(ended.body)["data"]["id"] == contract.pk
    member.refresh_from_db()
    assert (member.status, member.suspended_by) == (Membership.Status.SUSPENDED, Membership.SuspendedBy.CONTRACT)
    suspended = AuditEvent.objects.get(action="iam.membership.suspended")
    assert suspended.data == {"reason": "contract", "job": "crm.contracts_expire_due"}

    # A second run (a redelivered task) changes, audits and announces nothing more.
    assert contracts_expire_due_task.apply().get() == 0
    assert AuditEvent.objects.filter(action="crm.contract.status_changed").count() == 1
    assert WebhookEvent.objects.filter(type="contract.ended").count() == 1
