"""Staff open a case for a customer: from the queue, an account or a contact, with article suggestions."""

from __future__ import annotations

import pytest
from django.test import Client

from cases.models import Case
from iam.models import User
from tests.factories import AccountFactory, ArticleFactory, ContactFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def agent():
    return StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)


def test_staff_open_a_case_from_a_contact(agent):
    contact = ContactFactory(email="pat@customer.example")
    client = _client(agent)
    page = client.get(f"/cases/new/?contact={contact.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert contact.account.name in html  # the account is chosen for them
    assert "pat@customer.example" in html
    response = client.post(
        "/cases/new/",
        {
            "account": contact.account.pk,
            "contact": contact.pk,
            "subject": "Called: cannot sign in",
            "description": "Locked out since the password change.",
            "category": "problem",
            "severity": "high",
            "team": "service_desk",
            "assignee": agent.pk,
            "draft": "staff-draft",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert (case.account, case.contact, case.channel, case.assignee, case.status) == (
        contact.account,
        contact,
        "staff",
        agent,
        "open",
    )
    assert case.requester_email == "pat@customer.example"


def test_new_case_buttons_on_queue_account_and_contact(agent):
    contact = ContactFactory()
    client = _client(agent)
    assert "/cases/new/" in client.get("/cases/").content.decode()
    assert (
        f"/cases/new/?account={contact.account.pk}" in client.get(f"/accounts/{contact.account.pk}/").content.decode()
    )
    assert f"/cases/new/?contact={contact.pk}" in client.get(f"/contacts/{contact.pk}/").content.decode()


def test_a_contact_of_another_account_is_refused(agent):
    account = AccountFactory()
    stranger = ContactFactory()
    response = _client(agent).post(
        "/cases/new/",
        {
            "account": account.pk,
            "contact": stranger.pk,
            "subject": "Mixed up",
            "category": "question",
            "severity": "normal",
            "team": "service_desk",
        },
    )
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_bad_input_changes_nothing(agent):
    response = _client(agent).post("/cases/new/", {"subject": "", "category": "question", "severity": "normal"})
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_staff_see_internal_and_public_suggestions(agent):
    ArticleFactory(title="Resetting a locked password", status="published", visibility="internal")
    ArticleFactory(title="Password rules", status="published", visibility="public")
    ArticleFactory(title="Password draft", status="draft")
    html = _client(agent).get("/cases/suggest/?subject=password").content.decode()
    assert "Resetting a locked password" in html
    assert "Password rules" in html
    assert "Password draft" not in html


@pytest.mark.parametrize("path", ["/cases/new/", "/cases/suggest/?subject=password"])
def test_staff_new_case_routes_are_closed_to_portal_users(path):
    admin = MembershipFactory(roles=["org_admin"])
    assert _client(admin.user).get(path).status_code == 404
    assert _client(admin.user).post("/cases/new/", {"account": admin.account.pk, "subject": "x"}).status_code == 404
    assert Case.objects.count() == 0


def test_saved_views_of_the_queue(agent, django_assert_max_num_queries):
    client = _client(agent)
    response = client.post(
        "/views/cases/save/",
        {"name": "Urgent, mine", "query": "severity=urgent&assignee=me", "shared": "on", "default": "on"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/cases/?severity=urgent&assignee=me&view=")
    # The queue opens with the default view; "?view=" opens it without.
    assert client.get("/cases/")["Location"].startswith("/cases/?severity=urgent&assignee=me&view=")
    page = client.get(response["Location"]).content.decode()
    assert "Urgent, mine" in page
    assert client.get("/cases/?view=").status_code == 200
    colleague = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)
    assert "Urgent, mine" in _client(colleague).get("/cases/?view=").content.decode()  # shared with the team
