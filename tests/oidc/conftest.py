from __future__ import annotations

import pytest

from tests.factories import ContractFactory, MembershipFactory
from tests.oidc.factories import operations_user, register_application
from tests.oidc.relying_party import RelyingParty, UserAgent

CALLBACK = "/rp/callback"
LOGGED_OUT = "/rp/logged-out"


@pytest.fixture
def ops(db):
    return operations_user()


@pytest.fixture
def orders(ops, live_server):
    return register_application(
        actor=ops,
        key="orders",
        redirect_uri=f"{live_server.url}{CALLBACK}",
        post_logout_redirect_uri=f"{live_server.url}{LOGGED_OUT}",
        roles={"orders:read": ["buyer", "org_admin"], "orders:write": ["buyer"], "orders:admin": ["org_admin"]},
    )


@pytest.fixture
def billing(ops, live_server):
    return register_application(
        actor=ops,
        key="billing",
        redirect_uri=f"{live_server.url}{CALLBACK}",
        roles={"invoices:read": ["billing_contact", "buyer"], "invoices:pay": ["billing_contact"]},
    )


@pytest.fixture
def acme_contract(db):
    return ContractFactory(account__name="Acme Industries")


@pytest.fixture
def member(acme_contract):
    """A buyer at Acme, whose contract is active."""
    return MembershipFactory(account=acme_contract.account, roles=["buyer"], user__email="buyer@acme.example")


@pytest.fixture
def relying_party(live_server):
    def make(app, *, redirect_path: str = CALLBACK) -> RelyingParty:
        return RelyingParty(
            base_url=live_server.url,
            client_id=app.client_id,
            client_secret=app.client_secret,
            redirect_uri=f"{live_server.url}{redirect_path}",
        )

    return make


@pytest.fixture
def user_agent(live_server) -> UserAgent:
    return UserAgent(base_url=live_server.url)


@pytest.fixture
def callback(live_server) -> str:
    return f"{live_server.url}{CALLBACK}"
