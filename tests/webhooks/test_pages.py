"""The staff pages: operations manage endpoints; other staff, external users and visitors do not."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from iam.models import AuditEvent
from tests.factories import StaffFactory
from tests.webhooks.factories import EndpointFactory
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def _urls(endpoint: Endpoint, delivery: Delivery | None = None) -> dict[str, tuple[str, str]]:
    urls = {
        "list": ("get", reverse("webhooks:endpoint_list")),
        "create": ("get", reverse("webhooks:endpoint_create")),
        "detail": ("get", reverse("webhooks:endpoint_detail", args=[endpoint.pk])),
        "edit": ("get", reverse("webhooks:endpoint_edit", args=[endpoint.pk])),
        "disable": ("post", reverse("webhooks:endpoint_disable", args=[endpoint.pk])),
        "enable": ("post", reverse("webhooks:endpoint_enable", args=[endpoint.pk])),
        "rotate": ("post", reverse("webhooks:endpoint_rotate_secret", args=[endpoint.pk])),
        "test": ("post", reverse("webhooks:endpoint_send_test", args=[endpoint.pk])),
    }
    if delivery is not None:
        urls["delivery"] = ("get", reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk]))
        urls["redeliver"] = ("post", reverse("webhooks:delivery_redeliver", args=[endpoint.pk, delivery.pk]))
    return urls


@pytest.fixture
def delivered(ops, receiver, django_capture_on_commit_callbacks):
    endpoint = services.endpoint_create(actor=ops, url=receiver.url, description="ERP")
    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_emit("lead.created", data={"id": 1})
    return endpoint, Delivery.objects.get(event=event)


def _nothing_changed(endpoint: Endpoint, before: Endpoint) -> None:
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.is_active, endpoint.url) == (before.secret, before.is_active, before.url)
    assert not AuditEvent.objects.filter(action__startswith="webhooks.").exclude(action="webhooks.endpoint.created")


@pytest.mark.parametrize(
    "page", ["list", "create", "detail", "edit", "delivery", "disable", "rotate", "test", "redeliver"]
)
def test_anonymous_visitors_are_sent_to_sign_in(client, delivered, page):
    endpoint, delivery = delivered
    method, url = _urls(endpoint, delivery)[page]
    response = getattr(client, method)(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("account_login"))
    _nothing_changed(endpoint, Endpoint.objects.get(pk=endpoint.pk))


@pytest.mark.parametrize(
    "page", ["list", "create", "detail", "edit", "delivery", "disable", "rotate", "test", "redeliver"]
)
def test_external_users_get_404(external_client, delivered, page):
    endpoint, delivery = delivered
    before = Endpoint.objects.get(pk=endpoint.pk)
    method, url = _urls(endpoint, delivery)[page]
    assert getattr(external_client, method)(url).status_code == 404
    _nothing_changed(endpoint, before)


@pytest.mark.parametrize(
    "page", ["list", "create", "detail", "edit", "delivery", "disable", "rotate", "test", "redeliver"]
)
def test_sales_staff_get_403(rep_client, delivered, receiver, page):
    endpoint, delivery = delivered
    before = Endpoint.objects.get(pk=endpoint.pk)
    sent = len(receiver.requests)
    method, url = _urls(endpoint, delivery)[page]
    assert getattr(rep_client, method)(url).status_code == 403
    _nothing_changed(endpoint, before)
    assert len(receiver.requests) == sent


def test_sales_staff_do_not_see_the_webhooks_link(rep_client, ops_client):
    assert reverse("webhooks:endpoint_list") not in rep_client.get(reverse("home")).content.decode()
    assert reverse("webhooks:endpoint_list") in ops_client.get(reverse("home")).content.decode()


def test_the_list_shows_health_in_constant_queries(ops_client, django_assert_num_queries):
    EndpointFactory(description="Healthy one")
    with django_assert_num_queries(8) as one:
        ops_client.get(reverse("webhooks:endpoint_list"))
    for _ in range(5):
        EndpointFactory(is_active=False, disabled_at="2026-01-01T00:00:00Z", disabled_reason="x")
    with django_assert_num_queries(len(one.captured_queries)):
        response = ops_client.get(reverse("webhooks:endpoint_list"))
    html = response.content.decode()
    assert "Healthy one" in html
    assert html.count('data-health="disabled"') == 5


def test_creating_an_endpoint_shows_its_secret_once(ops, ops_client, receiver):
    response = ops_client.post(
        reverse("webhooks:endpoint_create"),
        {"url": receiver.url, "description": "ERP sync", "event_types": ["lead.created", "contact.updated"]},
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == endpoint.get_absolute_url()
    assert endpoint.event_types == ["contact.updated", "lead.created"]
    assert endpoint.created_by == ops

    first = ops_client.get(endpoint.get_absolute_url()).content.decode()
    assert endpoint.secret in first
    again = ops_client.get(endpoint.get_absolute_url()).content.decode()
    assert endpoint.secret not in again
    assert AuditEvent.objects.get(action="webhooks.endpoint.created").actor == ops


def test_all_events_is_the_default_subscription(ops_client, receiver):
    ops_client.post(reverse("webhooks:endpoint_create"), {"url": receiver.url, "all_events": "on"})
    assert Endpoint.objects.get().event_types == []


def test_an_internal_url_is_a_form_error_and_creates_nothing(ops_client):
    response = ops_client.post(
        reverse("webhooks:endpoint_create"), {"url": "http://169.254.169.254/latest/", "all_events": "on"}
    )
    assert response.status_code == 200
    assert "it is a link-local address" in response.content.decode()
    assert not Endpoint.objects.exists()
    assert not AuditEvent.objects.exists()


def test_choosing_no_events_is_a_form_error(ops_client, receiver):
    response = ops_client.post(reverse("webhooks:endpoint_create"), {"url": receiver.url})
    assert "Choose the event types" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_editing_events_is_audited_with_the_change(ops_client, delivered):
    endpoint, _delivery = delivered
    response = ops_client.post(
        reverse("webhooks:endpoint_edit", args=[endpoint.pk]),
        {"url": endpoint.url, "description": "ERP", "event_types": ["membership.suspended"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["membership.suspended"]
    audit = AuditEvent.objects.get(action="webhooks.endpoint.updated")
    assert audit.data == {"event_types": {"from": ["*"], "to": ["membership.suspended"]}}


def test_disable_enable_and_rotate_are_audited(ops_client, delivered):
    endpoint, _delivery = delivered
    old_secret = endpoint.secret

    ops_client.post(reverse("webhooks:endpoint_disable", args=[endpoint.pk]), {"reason": "Receiver migrating"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "Receiver migrating"
    assert "Receiver migrating" in ops_client.get(endpoint.get_absolute_url()).content.decode()

    ops_client.post(reverse("webhooks:endpoint_enable", args=[endpoint.pk]))
    ops_client.post(reverse("webhooks:endpoint_rotate_secret", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.secret != old_secret
    assert endpoint.previous_secret == old_secret
    assert endpoint.secret in ops_client.get(endpoint.get_absolute_url()).content.decode()
    actions = list(
        AuditEvent.objects.filter(action__startswith="webhooks.").order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "webhooks.endpoint.created",
        "webhooks.endpoint.disabled",
        "webhooks.endpoint.enabled",
        "webhooks.endpoint.secret_rotated",
    ]
    assert old_secret not in str(AuditEvent.objects.get(action="webhooks.endpoint.secret_rotated").data)


def test_send_test_event_and_redeliver_from_the_pages(
    ops_client, delivered, receiver, django_capture_on_commit_callbacks
):
    endpoint, delivery = delivered
    with django_capture_on_commit_callbacks(execute=True):
        ops_client.post(reverse("webhooks:endpoint_send_test", args=[endpoint.pk]))
        ops_client.post(reverse("webhooks:delivery_redeliver", args=[endpoint.pk, delivery.pk]))
    assert [r.json["type"] for r in receiver.requests] == ["lead.created", "webhook.test", "lead.created"]

    log = ops_client.get(endpoint.get_absolute_url()).content.decode()
    assert "webhook.test" in log
    assert "lead.created" in log
    page = ops_client.get(reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk])).content.decode()
    assert "HTTP 200" in page
    assert delivery.event.public_id in page


def test_the_delivery_log_costs_the_same_with_more_rows(
    ops_client, delivered, django_capture_on_commit_callbacks, django_assert_num_queries
):
    endpoint, _delivery = delivered
    url = endpoint.get_absolute_url()
    ops_client.get(url)  # the secret shown once
    with django_assert_num_queries(10) as few:
        ops_client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(8):
            services.webhook_emit("contact.updated", data={"id": n})
    with django_assert_num_queries(len(few.captured_queries)):
        response = ops_client.get(url + "?state=succeeded")
    assert response.content.decode().count("contact.updated") == 8


def test_another_endpoints_delivery_is_404(ops_client, delivered):
    _endpoint, delivery = delivered
    other = EndpointFactory()
    assert ops_client.get(reverse("webhooks:delivery_detail", args=[other.pk, delivery.pk])).status_code == 404
    assert ops_client.post(reverse("webhooks:delivery_redeliver", args=[other.pk, delivery.pk])).status_code == 404
    assert ops_client.get(reverse("webhooks:endpoint_detail", args=[999999])).status_code == 404


def test_a_superuser_manages_webhooks_too(delivered):
    superuser = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(superuser)
    assert client.get(reverse("webhooks:endpoint_list")).status_code == 200


def test_the_new_secret_waits_in_the_session_sealed_and_its_page_is_not_cached(ops_client, receiver):
    from django.contrib.sessions.models import Session

    ops_client.post(reverse("webhooks:endpoint_create"), {"url": receiver.url, "all_events": "on"})
    endpoint = Endpoint.objects.get()

    stored = "".join(s.session_data + str(s.get_decoded()) for s in Session.objects.all())
    assert endpoint.secret not in stored
    page = ops_client.get(endpoint.get_absolute_url())
    assert endpoint.secret in page.content.decode()
    assert "no-store" in page["Cache-Control"]
