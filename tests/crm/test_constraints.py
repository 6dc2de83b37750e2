"""The invariants the database itself guarantees, whatever code writes the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


def _violates(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_business_id_is_unique_when_present():
    AccountFactory(business_id="DE123")
    assert _violates(lambda: AccountFactory(business_id="DE123"))


def test_accounts_without_business_id_do_not_collide():
    AccountFactory(business_id=None)
    AccountFactory(business_id="")
    AccountFactory(business_id="   ")
    assert Account.objects.filter(business_id__isnull=True).count() == 3


def test_contract_cannot_end_before_it_starts():
    today = timezone.localdate()
    assert _violates(lambda: ContractFactory(start_date=today, end_date=today - dt.timedelta(days=1)))


def test_contract_number_is_unique():
    ContractFactory(number="C-1")
    assert _violates(lambda: ContractFactory(number="C-1"))


def test_opportunity_amount_cannot_be_negative():
    assert _violates(lambda: OpportunityFactory(amount=Decimal("-1")))


def test_won_opportunity_is_certain_and_lost_is_zero():
    assert _violates(lambda: OpportunityFactory(stage=Opportunity.Stage.WON, probability=90))
    assert _violates(lambda: OpportunityFactory(stage=Opportunity.Stage.LOST, probability=10))
    assert not _violates(lambda: OpportunityFactory(stage=Opportunity.Stage.WON, probability=100))


def test_currency_must_be_an_iso_code():
    assert _violates(lambda: OpportunityFactory(currency="eur"))


def test_lead_score_is_at_most_100():
    assert _violates(lambda: LeadFactory(score=101))


def test_converted_lead_has_a_conversion_date():
    assert _violates(lambda: LeadFactory(status=Lead.Status.CONVERTED, converted_at=None))


def test_contact_verification_is_all_or_nothing():
    assert _violates(lambda: ContactFactory(last_verified_at=timezone.now(), verification_method=""))
    assert _violates(lambda: ContactFactory(last_verified_at=None, verification_method="rep"))
    contact = ContactFactory(last_verified_at=timezone.now(), verification_method=Contact.VerificationMethod.IMPORT)
    assert contact.freshness == "fresh"


def test_activity_must_belong_to_a_record():
    rep = AccountFactory().owner
    assert _violates(
        lambda: Activity.objects.create(
            kind="note", subject="Orphan", author=rep, owner=rep, done=True, done_at=timezone.now()
        )
    )


def test_done_activity_has_a_done_date():
    assert _violates(lambda: ActivityFactory(done=True, done_at=None))


def test_account_is_customer_only_while_it_has_an_active_contract():
    account = AccountFactory()
    ContractFactory(account=account, status=Contract.Status.EXPIRED)
    assert not account.is_customer
    assert not Account.objects.with_customer_flag().get(pk=account.pk).is_customer
    ContractFactory(account=account, status=Contract.Status.ACTIVE)
    assert account.is_customer
    assert Account.objects.with_customer_flag().get(pk=account.pk).is_customer
    assert list(Account.objects.customers()) == [account]
