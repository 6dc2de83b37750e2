"""Sharing a case with colleagues in the portal: who may, with whom, and what they then see."""

from __future__ import annotations

import pytest
from django.test import Client

from cases.models import Case
from cases.services import case_share
from iam.models import AuditEvent
from tests.factories import MembershipFactory, make_case

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
    third = MembershipFactory(account=admin.account, roles=["buyer"])
    outsider = MembershipFactory(roles=["org_admin"])
    return admin, member, colleague, third, outsider


def test_the_raiser_shares_with_a_colleague_who_then_sees_it(org):
    _admin, member, colleague, *_ = org
    case = make_case(membership=member, subject="Printer on fire")
    client = _client(member.user)
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert 'id="sharing"' in page
    assert colleague.user.email in page
    assert _client(colleague.user).get(f"/portal/cases/{case.pk}/").status_code == 404
    response = client.post(f"/portal/cases/{case.pk}/share/", {"user": colleague.user.pk})
    assert response.status_code == 302
    assert list(case.shared_with.all()) == [colleague.user]
    assert AuditEvent.objects.filter(action="cases.case.shared", actor=member.user).exists()
    assert _client(colleague.user).get(f"/portal/cases/{case.pk}/").status_code == 200
    assert "Printer on fire" in _client(colleague.user).get("/portal/cases/").content.decode()
    client.post(f"/portal/cases/{case.pk}/unshare/", {"user": colleague.user.pk})
    assert not case.shared_with.exists()
    assert _client(colleague.user).get(f"/portal/cases/{case.pk}/").status_code == 404


def test_a_colleague_it_was_shared_with_does_not_pass_it_on(org):
    _admin, member, colleague, third, _outsider = org
    case = make_case(membership=member)
    case_share(actor=member.user, case=case, users=[colleague.user])
    client = _client(colleague.user)
    assert 'id="sharing"' not in client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert client.post(f"/portal/cases/{case.pk}/share/", {"user": third.user.pk}).status_code == 403
    assert client.post(f"/portal/cases/{case.pk}/unshare/", {"user": colleague.user.pk}).status_code == 403
    assert list(case.shared_with.all()) == [colleague.user]


def test_the_org_admin_shares_any_case_of_the_organisation(org):
    admin, member, colleague, *_ = org
    case = make_case(membership=member)
    assert _client(admin.user).post(f"/portal/cases/{case.pk}/share/", {"user": colleague.user.pk}).status_code == 302
    assert list(case.shared_with.all()) == [colleague.user]


def test_no_sharing_with_another_organisation(org):
    _admin, member, _colleague, _third, outsider = org
    case = make_case(membership=member)
    response = _client(member.user).post(f"/portal/cases/{case.pk}/share/", {"user": outsider.user.pk})
    assert response.status_code == 302
    assert not case.shared_with.exists()
    assert _client(outsider.user).get(f"/portal/cases/{case.pk}/").status_code == 404


def test_another_organisation_cannot_share_our_case(org):
    _admin, member, colleague, _third, outsider = org
    case = make_case(membership=member)
    client = _client(outsider.user)
    assert client.post(f"/portal/cases/{case.pk}/share/", {"user": outsider.user.pk}).status_code == 404
    assert client.post(f"/portal/cases/{case.pk}/share/", {"user": colleague.user.pk}).status_code == 404
    assert not case.shared_with.exists()


def test_case_page_costs_the_same_with_many_colleagues(org, django_assert_max_num_queries):
    admin, member, *_ = org
    case = make_case(membership=member)
    client = _client(member.user)
    with django_assert_max_num_queries(40) as few:
        client.get(f"/portal/cases/{case.pk}/")
    for _ in range(5):
        other = MembershipFactory(account=admin.account, roles=["buyer"])
        case_share(actor=member.user, case=case, users=[other.user])
        MembershipFactory(account=admin.account, roles=["buyer"])
    with django_assert_max_num_queries(40) as many:
        client.get(f"/portal/cases/{case.pk}/")
    assert len(few.captured_queries) == len(many.captured_queries)
    assert Case.objects.count() == 1
