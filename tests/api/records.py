"""One record per API resource, with the account it belongs to (None: it has none)."""

from __future__ import annotations

import itertools
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

_registrations = itertools.count()

# Staff who are not sales managers, service desk or operations see no registrations, and only
# operations see webhook endpoints: for them these are the same 404 as a missing id.
HIDDEN_FROM_SALES_REPS = {"registrations", "webhooks", "workflow-rules"}


def _audit_event():
    account = AccountFactory()
    return audit_record(actor=account.owner, action="iam.test.happened", account=account, target=account), account


def _invitation():
    from invitations.services import invitation_create

    contract = ContractFactory()
    contact = ContactFactory(account=contract.account)
    outcome = invitation_create(actor=contract.account.owner, contact=contact)
    return outcome.invitation, contract.account


def _invitation_batch():
    from crm.models import Contact
    from invitations.batches import invitation_batch_create

    contract = ContractFactory()
    ContactFactory(account=contract.account)
    batch = invitation_batch_create(
        actor=contract.account.owner,
        name="Spring",
        source="contacts",
        queryset=Contact.objects.filter(account=contract.account),
    )
    return batch, None


def _import():
    import io

    from imports import services
    from tests.factories import StaffFactory

    rep = StaffFactory(staff_role="sales_rep")
    job = services.import_stage(
        actor=rep, resource="leads", stream=io.BytesIO(b"Last name,Email\nPuu,pia@example.com\n"), file_name="l.csv"
    )
    return services.import_configure(actor=rep, job=job, mapping={"0": "last_name", "1": "email"}, policy="skip")


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
    elif resource == "invitations":
        return _invitation()
    elif resource == "invitation-batches":
        return _invitation_batch()
    elif resource == "registrations":
        from tests.registrations.factories import verified

        n = next(_registrations)
        return verified(email=f"registrant{n}@nordlys-robotics.fi", company_name=f"Nordlys {n} Oy"), None
    elif resource == "access-reviews":
        from reviews.models import AccessReview

        record = AccessReview.objects.create(account=AccountFactory(), due_at="2030-01-01T00:00:00Z")
    elif resource == "webhooks":
        from tests.webhooks.factories import EndpointFactory

        return EndpointFactory(), None
    elif resource == "cases":
        from tests.factories import make_case

        record = make_case()
    elif resource == "imports":
        return _import(), None
    elif resource == "articles":
        from tests.factories import ArticleFactory

        return ArticleFactory(), None
    elif resource == "workflow-rules":
        from iam.models import User
        from tests.factories import StaffFactory
        from workflows.models import Rule
        from workflows.services import rule_create

        manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
        rule = Rule(name="Welcome", record_type="crm.contact", trigger="created")
        rule.actions = [{"type": "task", "subject": "Welcome {{ first_name }}"}]
        return rule_create(actor=manager, rule=rule), None
    elif resource in ("territories", "teams"):
        from tests.territories.factories import TeamMembershipFactory, TerritoryFactory

        return (TerritoryFactory() if resource == "territories" else TeamMembershipFactory().team), None
    else:
        raise AssertionError(resource)
    return record, record.account


RESOURCES = [
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "contracts",
    "activities",
    "memberships",
    "invitations",
    "invitation-batches",
    "registrations",
    "webhooks",
    "audit-events",
    "cases",
    "articles",
    "access-reviews",
    "workflow-rules",
    "territories",
    "teams",
    "imports",
]
