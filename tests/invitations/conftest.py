from __future__ import annotations

import pytest

from tests.factories import ContractFactory, MembershipFactory, StaffFactory


@pytest.fixture
def acme():
    """A customer account (active contract), owned by its own sales rep."""
    return ContractFactory(account__name="Acme Industries").account


@pytest.fixture
def owner(acme):
    return acme.owner


@pytest.fixture
def org_admin(acme):
    return MembershipFactory(account=acme, roles=["org_admin", "buyer"])


@pytest.fixture
def member(acme):
    return MembershipFactory(account=acme, roles=["buyer"])


@pytest.fixture
def outsider():
    """An org admin of another customer."""
    return MembershipFactory(roles=["org_admin", "buyer", "technical_contact"])


@pytest.fixture
def manager():
    return StaffFactory(staff_role="sales_manager", first_name="Mia", last_name="Manager")
