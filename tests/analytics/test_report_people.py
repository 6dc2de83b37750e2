"""Invitations, portal adoption and activities: known answers, drill-down, scoping, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse
from django.utils import timezone

from iam.audit import audit_record
from invitations.models import Invitation, InvitationBatch
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContractFactory,
    LeadFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db


def _url(slug: str) -> str:
    return reverse("analytics:report_detail", args=[slug])


def _figures(response) -> dict:
    return {f.label: f for f in response.context["report"].figures}


def _drills_match(client, report, table_key: str, columns: tuple[int, ...]) -> None:
    for row in report.table(table_key).rows:
        for column in columns:
            cell = row[column]
            assert client.get(cell.href).context["summary"]["count"] == cell.value, (table_key, row[0].value)


# --- Invitations ---------------------------------------------------------------------------------


def _invitation(*, by, status, sent_days_ago=None, accepted_after=None, lead=None, account=None, batch=None):
    sent = timezone.now() - dt.timedelta(days=sent_days_ago) if sent_days_ago is not None else None
    return Invitation.objects.create(
        email=f"person{Invitation.objects.count()}@example.com",
        account=account,
        lead=lead,
        batch=batch,
        invited_by=by,
        status=status,
        expires_at=timezone.now() + dt.timedelta(days=7),
        sent_at=sent,
        accepted_at=sent + accepted_after if accepted_after is not None else None,
    )


@pytest.fixture
def invitations(sales_rep, other_rep):
    account = AccountFactory(owner=sales_rep)
    batch = InvitationBatch.objects.create(
        name="Spring customers", source="contacts", created_by=sales_rep, expires_in_days=14
    )
    _invitation(
        by=sales_rep,
        status="accepted",
        sent_days_ago=5,
        accepted_after=dt.timedelta(hours=2),
        batch=batch,
        account=account,
    )
    _invitation(
        by=sales_rep,
        status="accepted",
        sent_days_ago=5,
        accepted_after=dt.timedelta(days=3),
        batch=batch,
        account=account,
    )
    _invitation(by=sales_rep, status="expired", sent_days_ago=20, batch=batch, account=account)
    _invitation(by=sales_rep, status="bounced", sent_days_ago=4, account=account)
    lead = LeadFactory(owner=sales_rep, source="web")
    _invitation(by=sales_rep, status="accepted", sent_days_ago=2, accepted_after=dt.timedelta(hours=30), lead=lead)
    _invitation(by=sales_rep, status="pending", account=account)
    _invitation(by=other_rep, status="accepted", sent_days_ago=1, accepted_after=dt.timedelta(hours=1), account=account)
    return batch


def test_invitations_known_answers(invitations, rep_client):
    response = rep_client.get(_url("invitations"))
    figures = _figures(response)
    assert figures["Sent"].value == 5
    assert figures["Accepted"].value == 3
    assert figures["Acceptance"].value == 60.0
    assert figures["Expired"].value == 1
    assert figures["Bounced"].value == 1
    report = response.context["report"]
    batches = {row[0].value: [c.value for c in row[1:]] for row in report.table("by_batch").rows}
    assert batches["Spring customers"] == [3, 3, 2, 1, 0, 66.7]
    assert batches["Single invitations"] == [3, 2, 1, 0, 1, 50.0]
    waits = {row[0].value: row[1].value for row in report.table("acceptance").rows}
    assert waits == {"Same day": 1, "Next day": 1, "2–3 days": 1, "4–7 days": 0, "8–14 days": 0, "Later": 0}
    sources = {row[0].value: (row[1].value, row[2].value) for row in report.table("by_source").rows}
    assert sources["Website"] == (1, 1)
    assert sources["Batch invitations"] == (3, 2)


def test_invitations_drill_down_and_scoping(invitations, rep_client, manager_client):
    report = rep_client.get(_url("invitations")).context["report"]
    _drills_match(rep_client, report, "by_batch", (1, 2, 3, 4, 5))
    _drills_match(rep_client, report, "acceptance", (1,))
    _drills_match(rep_client, report, "by_source", (1, 2))
    assert _figures(manager_client.get(_url("invitations")))["Accepted"].value == 4


# --- Portal adoption -----------------------------------------------------------------------------


@pytest.fixture
def portal(sales_rep, other_rep):
    acme = ContractFactory(account=AccountFactory(owner=sales_rep, name="Acme GmbH")).account
    admin = MembershipFactory(account=acme, roles=["org_admin"])
    MembershipFactory(account=acme)
    Authenticator.objects.create(user=admin.user, type=Authenticator.Type.TOTP, data={})
    orphan = ContractFactory(account=AccountFactory(owner=sales_rep, name="Orphan AG")).account
    plain = MembershipFactory(account=orphan)
    Authenticator.objects.create(user=plain.user, type=Authenticator.Type.RECOVERY_CODES, data={})
    MembershipFactory(account=ContractFactory(account=AccountFactory(owner=other_rep)).account)
    for _ in range(2):
        audit_record(actor=admin.user, action="iam.user.signed_in", target=admin.user)
    audit_record(actor=plain.user, action="iam.user.signed_in", target=plain.user)
    return acme


def test_portal_adoption_known_answers(portal, rep_client):
    response = rep_client.get(_url("portal"))
    figures = _figures(response)
    assert figures["Active portal users"].value == 3
    assert figures["MFA adoption"].value == pytest.approx(33.3)
    assert figures["Without MFA"].value == 2
    assert figures["No org admin"].value == 1
    assert figures["Sign-ins"].value == 3
    accounts = {
        row[0].value: [c.value for c in row[1:4]] for row in response.context["report"].table("by_account").rows
    }
    assert accounts == {"Acme GmbH": [2, 1, 1], "Orphan AG": [1, 0, 0]}


def test_portal_drill_down_and_scoping(portal, rep_client, manager_client):
    report = rep_client.get(_url("portal")).context["report"]
    for figure in report.figures:
        if figure.href and figure.kind == "int":
            assert rep_client.get(figure.href).context["summary"]["count"] == figure.value, figure.label
    _drills_match(rep_client, report, "signins", (1,))
    assert _figures(manager_client.get(_url("portal")))["Active portal users"].value == 4


# --- Activities ----------------------------------------------------------------------------------


@pytest.fixture
def activities(sales_rep, other_rep):
    mine = AccountFactory(owner=sales_rep)
    now = timezone.now()
    ActivityFactory(account=mine, kind="call", occurred_at=now - dt.timedelta(days=1))
    ActivityFactory(account=mine, kind="call", occurred_at=now - dt.timedelta(days=8))
    ActivityFactory(account=mine, kind="meeting", occurred_at=now - dt.timedelta(days=1))
    ActivityFactory(account=mine, kind="task", done=False, done_at=None, due_at=now - dt.timedelta(days=2))
    ActivityFactory(account=mine, kind="note", occurred_at=now)
    ActivityFactory(account=mine, kind="call", occurred_at=now - dt.timedelta(days=400))
    ActivityFactory(account=AccountFactory(owner=other_rep), kind="call")


def test_activities_known_answers_and_drill_down(activities, rep_client):
    response = rep_client.get(_url("activities"))
    figures = _figures(response)
    assert (figures["Calls"].value, figures["Meetings"].value, figures["Tasks"].value) == (2, 1, 1)
    assert figures["Overdue tasks"].value == 1
    report = response.context["report"]
    assert sum(row[1].value for row in report.table("by_week").rows) == 2
    _drills_match(rep_client, report, "by_week", (1, 2, 3))
    _drills_match(rep_client, report, "by_owner", (1, 2, 3, 6))


def test_activities_manager_sees_every_owner(activities, manager_client):
    rows = manager_client.get(_url("activities")).context["report"].table("by_owner").rows
    assert len(rows) == 2


# --- Every report ----------------------------------------------------------------------------------


SLUGS = ("pipeline", "funnel", "contracts", "invitations", "portal", "activities", "data-health")


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_is_closed_to_portal_users(slug, external_client):
    assert external_client.get(_url(slug)).status_code == 404
    assert external_client.get(reverse("analytics:report_records", args=[slug])).status_code == 404


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_renders_empty_and_exports_csv(slug, rep_client):
    response = rep_client.get(_url(slug))
    assert response.status_code == 200
    csv_response = rep_client.get(_url(slug), {"format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_costs_the_same_queries_with_more_data(slug, rep_client, sales_rep, django_assert_max_num_queries):
    rep_client.get(_url(slug))
    with django_assert_max_num_queries(19) as empty:
        rep_client.get(_url(slug))
    account = ContractFactory(account=AccountFactory(owner=sales_rep)).account
    MembershipFactory(account=account)
    ActivityFactory.create_batch(3, account=account)
    LeadFactory.create_batch(3, owner=sales_rep)
    with django_assert_max_num_queries(len(empty.captured_queries)):
        rep_client.get(_url(slug))


def test_index_lists_every_report(rep_client):
    response = rep_client.get(reverse("analytics:report_index"))
    for slug in SLUGS:
        assert f'href="/reports/{slug}/"' in response.content.decode()
