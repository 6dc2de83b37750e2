"""Operations set up an endpoint in a real browser: secret shown once, test event delivered."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.webhooks.factories import EndpointFactory, OpsFactory
from tests.webhooks.receiver import running_receiver
from webhooks.models import Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# WEBHOOKS_SCREENSHOTS=/some/dir keeps a picture of each page, for looking at the UI.
SHOTS = os.environ.get("WEBHOOKS_SCREENSHOTS")


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with running_receiver() as receiver:
        yield receiver


def _shot(tab, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_ops_registers_an_endpoint_copies_the_secret_and_sends_a_test_event(signed_in_page, receiver):
    ops = OpsFactory(first_name="Olivia", last_name="Ops")
    EndpointFactory(description="Data warehouse", last_success_at=timezone.now() - dt.timedelta(minutes=3))
    EndpointFactory(
        description="Legacy ERP",
        url="https://erp.partner.example/hooks",
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="Disabled automatically: 50 delivery attempts in a row failed (last: HTTP 503).",
        consecutive_failures=50,
        last_failure_at=timezone.now(),
    )
    tab = signed_in_page(ops)

    tab.get_by_role("link", name="Webhooks").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Webhooks")
    _shot(tab, "endpoint_list")
    tab.get_by_role("link", name="Add endpoint").first.click()
    tab.get_by_label("Endpoint URL").fill(receiver.url)
    tab.get_by_label("Description").fill("Billing sync")
    tab.get_by_label("Send every event type").uncheck()
    tab.get_by_label("contact.updated").check()
    tab.get_by_label("membership.suspended").check()
    _shot(tab, "endpoint_form")
    tab.get_by_role("button", name="Add endpoint").click()

    endpoint = Endpoint.objects.get(description="Billing sync")
    expect(tab).to_have_url(re.compile(rf"/webhooks/{endpoint.pk}/$"))
    expect(tab.locator("#secret-value")).to_have_value(endpoint.secret)
    _shot(tab, "endpoint_created")

    tab.get_by_role("button", name="Send test event").click()
    expect(tab.locator("#delivery-log")).to_contain_text("webhook.test")
    expect(tab.locator("#delivery-log")).to_contain_text("Succeeded")
    expect(tab.locator("#secret-value")).to_have_count(0)  # shown once
    assert receiver.requests[0].json["type"] == "webhook.test"
    _shot(tab, "endpoint_detail")

    tab.locator("#delivery-log").get_by_role("link", name="webhook.test").click()
    expect(tab.locator("#attempts")).to_contain_text("HTTP 200")
    _shot(tab, "delivery_detail")


def test_a_disabled_endpoint_says_why_and_shows_its_failed_deliveries(signed_in_page):
    from webhooks.models import Delivery, DeliveryAttempt, Event

    ops = OpsFactory()
    endpoint = EndpointFactory(
        description="Legacy ERP",
        url="https://erp.partner.example/hooks",
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="Disabled automatically: 50 delivery attempts in a row failed (last: HTTP 503).",
        consecutive_failures=50,
        failing_since=timezone.now() - dt.timedelta(hours=30),
        last_failure_at=timezone.now(),
    )
    for n, code in enumerate([503, 503, None]):
        event = Event.objects.create(
            public_id=f"msg_demo{n}", type="contact.updated", body='{"type":"contact.updated","data":{"id":1}}'
        )
        delivery = Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            state=Delivery.State.FAILED,
            attempt_count=8,
            last_status_code=code,
            last_error=""
            if code
            else "Refused: Webhooks cannot be sent to erp.partner.example (10.0.0.8): it is a private address.",
        )
        DeliveryAttempt.objects.create(delivery=delivery, number=8, started_at=timezone.now(), status_code=code)
    tab = signed_in_page(ops)

    tab.goto(endpoint.get_absolute_url())
    expect(tab.locator("#disabled-reason")).to_contain_text("50 delivery attempts in a row failed")
    expect(tab.get_by_role("button", name="Send test event")).to_have_count(0)
    expect(tab.locator("#delivery-log")).to_contain_text("private address")
    _shot(tab, "endpoint_disabled")
