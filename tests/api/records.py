"""One record per API resource, with the account it belongs to (None: it has none)."""

from __future__ import annotations

from typing import Any

from iam.audit import audit_record
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    MembershipFactory,
    OpportunityFactory,
)


def _audit_event():
    account = AccountFactory()
    return audit_record(actor=account.owner, action="iam.test.happened", account=account, target=account), account


def make(resource: str) -> tuple[Any, Any]:
    if resource == "accounts":
        account = AccountFactory()
        return account, account
    if resource == "contacts":
        record = ContactFactory()
    elif resource == "leads":
        return LeadFactory(), None
    elif resource == "opportunities":
        record = OpportunityFactory()
    elif resource == "contracts":
        record = ContractFactory()
    elif resource == "activities":
        record = ActivityFactory()
    elif resource == "memberships":
        record = MembershipFactory()
    elif resource == "audit-events":
        return _audit_event()
    else:
        raise AssertionError(resource)
    return record, record.account


RESOURCES = ["accounts", "contacts", "leads", "opportunities", "contracts", "activities", "memberships", "audit-events"]
