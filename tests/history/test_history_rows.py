"""``history_record_rows``: a set-based write's history, the same as one record at a time would get."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import Account, Contact, Lead, Opportunity
from history.models import RecordChange
from history.services import _Creations, _diff, _values_snapshot, history_record_rows
from iam.models import User
from tests.factories import AccountFactory, StaffFactory

CREATIONS = [
    (Contact, {"first_name": "Maija", "last_name": "Virtanen", "account_id": 7, "owner_id": 3}),
    (Contact, {"last_name": "Ek", "email": "", "phone": "+358401234567", "consent_to_contact": True}),
    (
        Contact,
        {
            "last_name": "Ek",
            "account": Account(pk=9),
            "last_verified_at": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
            "custom_fields": {"tier": "gold", "empty": "", "none": None, "tags": ["a"]},
            "other_emails": [],
        },
    ),
    (Contact, {"last_name": "Both", "account": Account(pk=1), "account_id": 2}),
    (Lead, {"last_name": "Lee", "company_name": "Acme", "score": 0, "status": "new", "source": "web"}),
    (Account, {"name": "Acme Oy", "business_id": None, "country": "FI", "website": ""}),
    (
        Opportunity,
        {"name": "Deal", "account_id": 4, "amount": Decimal("1200.5"), "close_date": dt.date(2027, 1, 31)},
    ),
]


@pytest.mark.parametrize(("model", "values"), CREATIONS)
def test_a_created_rows_changes_are_what_a_snapshot_and_diff_give(model, values):
    reference = _diff(None, _values_snapshot(model, 1, "label", values, True))
    assert _Creations(model).changes(values) == reference
    assert reference  # each case names something, so an empty answer cannot pass


@pytest.mark.django_db
def test_rows_written_as_a_set_read_like_a_created_record_with_its_references_named():
    owner = StaffFactory(first_name="Deepa", last_name="Larsen")
    account = AccountFactory(name="Blue Pharma AB")
    labels: dict = {}
    rows = [
        (1001, "Maija Virtanen", None, {"first_name": "Maija", "last_name": "Virtanen", "account_id": account.pk}),
        (1002, "Ek", None, {"last_name": "Ek", "account_id": account.pk, "owner_id": owner.pk}),
    ]
    assert history_record_rows(actor=owner, model=Contact, rows=rows, labels=labels) == 2
    first, second = RecordChange.objects.filter(record_id__in=[1001, 1002]).order_by("record_id")
    assert first.kind == RecordChange.Kind.CREATED
    assert first.changes["account"] == {"old": None, "new": {"id": account.pk, "label": "Blue Pharma AB"}}
    assert first.changes["last_name"] == {"old": None, "new": "Virtanen"}
    assert second.changes["owner"]["new"] == {"id": owner.pk, "label": str(owner)}
    # The labels were read once and kept for the caller's next set: a renamed account's later rows
    # in the same job keep the name it had, and no query is made for it.
    assert labels[(Account, account.pk)] == "Blue Pharma AB"
    assert labels[(User, owner.pk)] == str(owner)
