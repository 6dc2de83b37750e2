from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import Contract
from crm.tasks import contracts_expire_due_task
from tests.factories import ContractFactory

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
