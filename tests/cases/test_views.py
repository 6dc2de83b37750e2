"""The case pages, staff and portal: who sees which case, what a page costs, what a form does.

Personas: the org admin (sees the organisation's cases), a member (their own and those shared
with them), a colleague, and a customer of another organisation (sees nothing of ours).
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases.models import Case, CaseMessage
from cases.services import case_reply, case_share
from iam.models import User
from tests.factories import MembershipFactory, StaffFactory, make_case

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def org():
    admin = MembershipFactory(roles=["org_admin"])
    member = MembershipFactory(account=admin.account, roles=["buyer"])
    colleague = MembershipFactory(account=admin.account, roles=["buyer"])
    tech = MembershipFactory(account=admin.account, roles=["technical_contact"])
    outsider = MembershipFactory(roles=["org_admin"])
    return admin, member, colleague, tech, outsider


@pytest.fixture
def agent():
    return StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)


def test_member_raises_a_case_in_the_portal(org):
    _admin, member, *_ = org
    client = _client(member.user)
    response = client.post(
        "/portal/cases/new/",
        {
            "subject": "Invoices page is blank",
            "description": "Since this morning.",
            "category": "problem",
            "severity": "high",
            "draft": "d1",
            "attachments": [SimpleUploadedFile("log.txt", b"error 500", content_type="text/plain")],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/cases/{case.pk}/"
    assert (case.account, case.raised_by, case.channel, case.severity) == (
        member.account,
        member.user,
        "portal",
        "high",
    )
    assert case.attachments.get().filename == "log.txt"
    page = client.get(response["Location"])
    assert b"Invoices page is blank" in page.content
    assert b"log.txt" in page.content
    download = client.get(f"/portal/cases/{case.pk}/attachments/{case.attachments.get().pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"error 500"


def test_bad_input_changes_nothing(org):
    _admin, member, *_ = org
    client = _client(member.user)
    response = client.post(
        "/portal/cases/new/",
        {
            "subject": "x",
            "description": "y",
            "category": "problem",
            "severity": "normal",
            "attachments": [SimpleUploadedFile("evil.exe", b"MZ")],
        },
    )
    assert response.status_code == 400
    assert "is not a file type cases accept" in response.content.decode()
    assert Case.objects.count() == 0
    assert client.post("/portal/cases/new/", {"subject": "", "description": ""}).status_code == 400


def test_who_sees_which_case_in_the_portal(org):
    admin, member, colleague, tech, outsider = org
    own = make_case(membership=member, subject="Member's own")
    theirs = make_case(membership=colleague, subject="Colleague's")
    shared = make_case(membership=colleague, subject="Shared with member")
    case_share(actor=colleague.user, case=shared, users=[member.user])
    foreign = make_case(membership=outsider, subject="Another organisation's")

    def visible(membership):
        client = _client(membership.user)
        return {c.pk for c in (own, theirs, shared, foreign) if client.get(f"/portal/cases/{c.pk}/").status_code == 200}

    assert visible(member) == {own.pk, shared.pk}
    assert visible(colleague) == {theirs.pk, shared.pk}
    assert visible(admin) == {own.pk, theirs.pk, shared.pk}
    assert visible(tech) == {own.pk, theirs.pk, shared.pk}
    assert visible(outsider) == {foreign.pk}


@pytest.mark.parametrize(
    "path",
    [
        "/portal/cases/{pk}/",
        "/portal/cases/{pk}/attachments/{att}/",
    ],
)
def test_another_organisations_case_is_a_plain_404(org, path):
    *_, outsider = org
    admin = org[0]
    case = make_case(
        membership=admin,
        uploads=[__import__("cases.services", fromlist=["Upload"]).Upload(name="a.pdf", content=b"%PDF")],
    )
    url = path.format(pk=case.pk, att=case.attachments.get().pk)
    assert _client(outsider.user).get(url).status_code == 404
    assert _client(admin.user).get(url).status_code == 200


def test_writes_on_another_organisations_case_are_404_and_change_nothing(org):
    admin, *_, outsider = org
    case = make_case(membership=admin)
    client = _client(outsider.user)
    assert client.post(f"/portal/cases/{case.pk}/reply/", {"body": "hi"}).status_code == 404
    assert client.post(f"/portal/cases/{case.pk}/resolve/").status_code == 404
    case.refresh_from_db()
    assert case.status == Case.Status.NEW
    assert case.messages.count() == 1


def test_internal_notes_and_their_files_never_reach_the_portal(org, agent):
    admin, *_ = org
    case = make_case(membership=admin)
    from cases.services import Upload

    case_reply(
        actor=agent,
        case=case,
        body="Customer is on old version",
        kind=CaseMessage.Kind.NOTE,
        uploads=[Upload(name="internal.pdf", content=b"%PDF")],
    )
    note_file = case.attachments.get(internal=True)
    client = _client(admin.user)
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert "old version" not in page
    assert "internal.pdf" not in page
    assert client.get(f"/portal/cases/{case.pk}/attachments/{note_file.pk}/").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/cases/", "/cases/{pk}/", "/cases/{pk}/attachments/{att}/", "/knowledge/"],
)
def test_staff_routes_are_closed_to_portal_users(org, path):
    admin, *_ = org
    from cases.services import Upload

    case = make_case(membership=admin, uploads=[Upload(name="a.pdf", content=b"%PDF")])
    url = path.format(pk=case.pk, att=case.attachments.get().pk)
    assert _client(admin.user).get(url).status_code == 404


@pytest.mark.parametrize(
    "path", ["/cases/{pk}/reply/", "/cases/{pk}/assign/", "/cases/{pk}/status/", "/cases/{pk}/merge/"]
)
def test_staff_writes_are_closed_to_portal_users(org, path):
    admin, *_ = org
    case = make_case(membership=admin)
    assert _client(admin.user).post(path.format(pk=case.pk), {"body": "x", "status": "closed"}).status_code == 404
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_portal_routes_are_not_for_staff(agent, org):
    case = make_case(membership=org[0])
    assert _client(agent).get(f"/portal/cases/{case.pk}/").status_code == 404


def test_staff_reply_assign_resolve_and_history(org, agent):
    admin, *_ = org
    case = make_case(membership=admin)
    client = _client(agent)
    assert client.post(f"/cases/{case.pk}/assign/", {"assignee": agent.pk, "team": "service_desk"}).status_code == 302
    assert (
        client.post(f"/cases/{case.pk}/reply/", {"kind": "reply", "body": "Fixed it.", "status": ""}).status_code == 302
    )
    assert client.post(f"/cases/{case.pk}/status/", {"status": "resolved"}).status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.status) == (agent, Case.Status.RESOLVED)
    assert case.first_responded_at is not None
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Fixed it." in page
    assert "Resolved" in page
    from history.models import RecordChange
    from iam.models import AuditEvent

    assert RecordChange.objects.filter(record_type="cases.case", record_id=case.pk).count() >= 4
    assert set(AuditEvent.objects.filter(target_id=str(case.pk)).values_list("action", flat=True)) >= {
        "cases.case.created",
        "cases.case.assigned",
        "cases.case.replied",
        "cases.case.resolved",
    }
    # The customer sees the reply; the history is an API resource too.
    assert "Fixed it." in _client(admin.user).get(f"/portal/cases/{case.pk}/").content.decode()


def test_merge_moves_the_conversation(org):
    admin, *_ = org
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    survivor = make_case(membership=admin, subject="Export fails")
    duplicate = make_case(membership=admin, subject="Export broken", description="Same again")
    response = _client(manager).post(f"/cases/{duplicate.pk}/merge/", {"survivor": survivor.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{survivor.pk}/"
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert duplicate.status == Case.Status.CLOSED
    assert survivor.messages.filter(body="Same again").exists()
    # A rep may not merge; another account's case cannot be the survivor.
    rep = StaffFactory()
    other = make_case(membership=org[4])
    third = make_case(membership=admin)
    assert _client(rep).post(f"/cases/{third.pk}/merge/", {"survivor": survivor.pk}).status_code == 400
    assert _client(manager).post(f"/cases/{third.pk}/merge/", {"survivor": other.pk}).status_code == 400


def test_staff_queue_costs_the_same_for_few_and_many(org, agent, django_assert_max_num_queries):
    admin, *_ = org
    for _ in range(3):
        make_case(membership=admin)
    client = _client(agent)
    with django_assert_max_num_queries(10) as few:
        assert client.get("/cases/?team=service_desk").status_code == 200
    for _ in range(20):
        make_case(membership=admin)
    with django_assert_max_num_queries(10) as many:
        response = client.get("/cases/?team=service_desk")
    assert len(few.captured_queries) == len(many.captured_queries)
    assert response.content.decode().count('class="row-link"') == 23


def test_queue_filters(org, agent):
    admin, *_ = org
    urgent = make_case(membership=admin, severity="urgent", subject="Everything down")
    make_case(membership=admin, severity="low", subject="Typo on page")
    page = _client(agent).get("/cases/?severity=urgent").content.decode()
    assert "Everything down" in page
    assert "Typo on page" not in page
    assert f"/cases/{urgent.pk}/" in page


def test_portal_home_shows_contracts_cases_and_account_manager(org, django_assert_max_num_queries):
    admin, member, *_ = org
    make_case(membership=member, subject="My open case")
    client = _client(member.user)
    with django_assert_max_num_queries(25) as few:
        page = client.get("/portal/").content.decode()
    assert "My open case" in page
    assert admin.account.owner.email in page  # the account manager
    contract = admin.account.contracts.get()
    assert contract.number in page
    for _ in range(10):
        make_case(membership=member)
    with django_assert_max_num_queries(25) as many:
        client.get("/portal/")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_account_360_shows_open_cases(org, agent):
    admin, *_ = org
    make_case(membership=admin, subject="Visible on the account")
    page = _client(agent).get(f"/accounts/{admin.account.pk}/").content.decode()
    assert "Visible on the account" in page
