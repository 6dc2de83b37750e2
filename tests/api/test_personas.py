"""Who sees what, resource by resource: ops, staff, a key restricted to other accounts (404),
an external user (403), a key without the scope (403), anonymous (401)."""

from __future__ import annotations

import pytest

from tests.api.factories import Api, issue_key
from tests.api.records import HIDDEN_FROM_SALES_REPS, RESOURCES, make
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("resource", RESOURCES)
def test_operations_staff_see_the_list_and_the_record(resource, ops_api):
    record, _account = make(resource)
    listed = ops_api.get(f"/api/v1/{resource}/")
    assert listed.status_code == 200, listed.content
    assert record.pk in _ids(listed)
    detail = ops_api.get(f"/api/v1/{resource}/{record.pk}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == record.pk


@pytest.mark.parametrize("resource", sorted(set(RESOURCES) - HIDDEN_FROM_SALES_REPS))
def test_a_sales_rep_sees_company_records(resource, rep_api):
    record, _account = make(resource)
    assert rep_api.get(f"/api/v1/{resource}/{record.pk}/").status_code == 200
    assert record.pk in _ids(rep_api.get(f"/api/v1/{resource}/"))


@pytest.mark.parametrize("resource", sorted(HIDDEN_FROM_SALES_REPS))
def test_a_sales_rep_gets_404_where_their_role_may_not_look(resource, rep_api):
    record, _account = make(resource)
    assert rep_api.get(f"/api/v1/{resource}/{record.pk}/").status_code == 404
    assert rep_api.get(f"/api/v1/{resource}/").json()["results"] == []


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_key_with_the_scope_sees_the_record(resource, ops):
    record, _account = make(resource)
    _key, raw = issue_key(f"{resource}:read", created_by=ops)
    api = Api(key=raw)
    detail = api.get(f"/api/v1/{resource}/{record.pk}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == record.pk


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_key_restricted_to_other_accounts_gets_the_same_404_as_a_missing_id(resource, ops):
    record, _account = make(resource)
    _key, raw = issue_key(f"{resource}:read", accounts=[AccountFactory()], created_by=ops)
    api = Api(key=raw)
    out_of_scope = api.get(f"/api/v1/{resource}/{record.pk}/")
    missing = api.get(f"/api/v1/{resource}/999999999/")
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json() | {"instance": ""} == missing.json() | {"instance": ""}
    assert out_of_scope["Content-Type"] == "application/problem+json"
    assert record.pk not in _ids(api.get(f"/api/v1/{resource}/"))


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_key_restricted_to_the_records_account_sees_it(resource, ops):
    record, account = make(resource)
    if account is None:
        pytest.skip("no account (a lead, a batch): keys restricted to accounts see none of these")
    _key, raw = issue_key(f"{resource}:read", accounts=[account], created_by=ops)
    assert Api(key=raw).get(f"/api/v1/{resource}/{record.pk}/").status_code == 200


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_external_user_gets_403(resource, external_api):
    record, _account = make(resource)
    for path in (f"/api/v1/{resource}/", f"/api/v1/{resource}/{record.pk}/"):
        response = external_api.get(path)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_key_without_the_scope_gets_403(resource, ops):
    record, _account = make(resource)
    other = "leads:read" if resource != "leads" else "contacts:read"
    _key, raw = issue_key(other, created_by=ops)
    response = Api(key=raw).get(f"/api/v1/{resource}/{record.pk}/")
    assert response.status_code == 403
    body = response.json()
    assert body["status"] == 403
    assert f"{resource}:read" in body["detail"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_read_only_key_may_not_write(resource, ops):
    record, _account = make(resource)
    _key, raw = issue_key(f"{resource}:read", created_by=ops)
    response = Api(key=raw).patch(f"/api/v1/{resource}/{record.pk}/", {})
    # 405 where the resource has no PATCH at all.
    no_patch = {
        "audit-events",
        "invitations",
        "invitation-batches",
        "registrations",
        "articles",
        "access-reviews",
        "imports",
    }
    assert response.status_code == (405 if resource in no_patch else 403)


@pytest.mark.parametrize("resource", RESOURCES)
def test_anonymous_gets_401_with_the_scheme_to_use(resource, anon_api):
    response = anon_api.get(f"/api/v1/{resource}/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Api-Key")
    assert response.json()["type"].endswith("not-authenticated")


def test_a_revoked_an_expired_and_a_wrong_key_get_401(ops):
    import datetime as dt

    from django.utils import timezone

    from api.models import ApiKey
    from api.services import api_key_revoke

    revoked, revoked_raw = issue_key("contacts:read", created_by=ops)
    api_key_revoke(actor=ops, api_key=revoked)
    expired, expired_raw = issue_key("contacts:read", created_by=ops)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _key, good = issue_key("contacts:read", created_by=ops)
    wrong = good[:-4] + ("aaaa" if not good.endswith("aaaa") else "bbbb")
    for raw in (revoked_raw, expired_raw, wrong, "clt_nope", "garbage"):
        response = Api(key=raw).get("/api/v1/contacts/")
        assert response.status_code == 401, raw
    assert Api(key=good).get("/api/v1/contacts/").status_code == 200


def test_a_key_stops_working_when_its_staff_user_is_deactivated(ops):
    _key, raw = issue_key("contacts:read", created_by=ops)
    ops.is_active = False
    ops.save(update_fields=["is_active"])
    assert Api(key=raw).get("/api/v1/contacts/").status_code == 401


def test_an_unknown_path_under_the_api_is_a_problem_404(key_api):
    response = key_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
