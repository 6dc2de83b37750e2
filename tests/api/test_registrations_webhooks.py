"""Registrations and webhook endpoints through the API: their apps' services, their own personas."""

from __future__ import annotations

import pytest

from crm.models import AccountDomain
from iam.models import AuditEvent
from registrations.models import RegistrationRequest
from tests.api.factories import Api, issue_key
from tests.factories import ContractFactory, StaffFactory
from tests.registrations.factories import verified
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


# --- Registrations ---------------------------------------------------------------------------------


def test_a_sales_rep_may_not_see_registrations_but_a_manager_may(rep_api):
    registration = verified()
    assert rep_api.get(f"/api/v1/registrations/{registration.pk}/").status_code == 404
    assert rep_api.get("/api/v1/registrations/").json()["results"] == []
    manager = Api(user=StaffFactory(staff_role="sales_manager"))
    assert manager.get(f"/api/v1/registrations/{registration.pk}/").json()["email"] == registration.email


def test_approve_creates_the_account_through_the_service(key_api, committing):
    registration = verified()
    response = committing(key_api.post, f"/api/v1/registrations/{registration.pk}/approve/", {"create_account": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["matched_account"] is not None
    assert (
        AuditEvent.objects.filter(action="registrations.registration.approved").get().actor_label.startswith("api-key:")
    )
    again = key_api.post(f"/api/v1/registrations/{registration.pk}/approve/", {"create_account": True})
    assert again.status_code == 409


def test_a_queued_match_carries_its_evidence(key_api):
    acme = ContractFactory(account__name="Acme Robotics", account__business_id="FI21123456").account
    AccountDomain.objects.create(account=acme, domain="acme-robotics.fi")
    registration = verified(email="mallory@evil-imports.fi")
    body = key_api.get(f"/api/v1/registrations/{registration.pk}/").json()
    assert body["status"] == "pending"
    assert body["matched_account"] == acme.pk
    assert body["match_evidence"]["on"] == "business_id"
    assert body["match_evidence"]["email_domain_is_the_accounts"] is False
    listed = key_api.get("/api/v1/registrations/", {"status": "pending"}).json()["results"]
    assert [r["match_evidence"] for r in listed] == [body["match_evidence"]]


def test_reject_needs_a_reason_and_changes_nothing_without_one(key_api, committing):
    registration = verified()
    bad = key_api.post(f"/api/v1/registrations/{registration.pk}/reject/", {})
    assert bad.status_code == 400
    assert {e["pointer"] for e in bad.json()["errors"]} == {"#/reason"}
    registration.refresh_from_db()
    assert registration.is_open
    ok = committing(key_api.post, f"/api/v1/registrations/{registration.pk}/reject/", {"reason": "Not a company."})
    assert ok.json()["status"] == "rejected"


def test_request_info(key_api, committing):
    registration = verified()
    response = committing(
        key_api.post, f"/api/v1/registrations/{registration.pk}/request-info/", {"message": "Your VAT number?"}
    )
    assert response.status_code == 200, response.content
    assert RegistrationRequest.objects.get(pk=registration.pk).status == "info_requested"


# --- Webhooks --------------------------------------------------------------------------------------


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


def test_register_an_endpoint_shows_its_secret_once(key_api, loopback_allowed):
    created = key_api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook", "event_types": ["contact.created"]})
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret
    shown = key_api.get(f"/api/v1/webhooks/{created.json()['id']}/").json()
    assert "secret" not in shown
    assert shown["event_types"] == ["contact.created"]
    rotated = key_api.post(f"/api/v1/webhooks/{shown['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in ("", secret)


def test_an_endpoint_on_a_private_address_is_refused(key_api):
    response = key_api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400
    assert {e["pointer"] for e in response.json()["errors"]} == {"#/url"}
    assert not Endpoint.objects.exists()


def test_unknown_event_types_are_refused(key_api, loopback_allowed):
    response = key_api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook", "event_types": ["nope"]})
    assert response.status_code == 400
    assert not Endpoint.objects.exists()


def test_disable_enable_test_and_the_delivery_log(key_api, loopback_allowed, committing):
    pk = key_api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook"}).json()["id"]
    assert key_api.patch(f"/api/v1/webhooks/{pk}/", {"description": "ERP"}).json()["description"] == "ERP"
    assert key_api.post(f"/api/v1/webhooks/{pk}/disable/", {"reason": "maintenance"}).json()["is_active"] is False
    assert key_api.post(f"/api/v1/webhooks/{pk}/test/").status_code == 409
    assert key_api.post(f"/api/v1/webhooks/{pk}/enable/").json()["is_active"] is True
    sent = key_api.post(f"/api/v1/webhooks/{pk}/test/")
    assert sent.status_code == 202, sent.content
    log = key_api.get(f"/api/v1/webhooks/{pk}/deliveries/")
    assert log.status_code == 200
    assert [d["event_type"] for d in log.json()["results"]] == ["webhook.test"]
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED)
    again = key_api.post(f"/api/v1/webhooks/{pk}/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202, again.content
    assert key_api.post(f"/api/v1/webhooks/{pk}/deliveries/999999/redeliver/").status_code == 404
    # Each operation is audited once, by its service, naming the key.
    actions = list(AuditEvent.objects.exclude(action__startswith="api.api_key.").values_list("action", flat=True))
    assert sorted(actions) == [
        "webhooks.delivery.redelivered",
        "webhooks.endpoint.created",
        "webhooks.endpoint.disabled",
        "webhooks.endpoint.enabled",
        "webhooks.endpoint.tested",
        "webhooks.endpoint.updated",
    ]
    assert AuditEvent.objects.get(action="webhooks.endpoint.tested").actor_label.startswith("api-key:")


def test_webhooks_are_for_operations_only(rep_api, loopback_allowed, ops):
    from webhooks.services import endpoint_create

    endpoint = endpoint_create(actor=ops, url="http://127.0.0.1:9/hook")
    assert rep_api.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert rep_api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x"}).status_code == 403
    assert Endpoint.objects.count() == 1


def test_a_key_restricted_to_accounts_sees_no_endpoints(ops, loopback_allowed):
    from tests.factories import AccountFactory
    from webhooks.services import endpoint_create

    endpoint = endpoint_create(actor=ops, url="http://127.0.0.1:9/hook")
    _key, raw = issue_key("webhooks:read", accounts=[AccountFactory()], created_by=ops)
    assert Api(key=raw).get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
