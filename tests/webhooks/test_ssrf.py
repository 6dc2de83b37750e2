"""Webhooks only reach public http(s) addresses: checked at registration and at every delivery.

No test here sends a packet anywhere but 127.0.0.1: refused targets are refused before any
connection, and name resolution for made-up host names is stubbed (DNS is outside the machine).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from iam.models import AuditEvent
from tests.webhooks.factories import EndpointFactory
from webhooks import services, targets
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

pytestmark = pytest.mark.django_db

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:a00:1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://localhost:8000/hook",
    "http://2130706433/hook",
]


def _resolve_to(monkeypatch, mapping: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in mapping:
            family = {4: socket.AF_INET, 6: socket.AF_INET6}
            return [
                (family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in mapping[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(targets.socket, "getaddrinfo", fake)


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_registration_refuses_internal_targets(ops, url):
    with pytest.raises(ValidationError) as refusal:
        services.endpoint_create(actor=ops, url=url)
    assert "Webhooks cannot be sent to" in refusal.value.message_dict["url"][0]
    assert not Endpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="webhooks.").exists()


def test_a_hostname_resolving_to_loopback_is_refused(ops, monkeypatch):
    _resolve_to(monkeypatch, {"hooks.partner.example": ["127.0.0.1"]})
    with pytest.raises(ValidationError, match="loopback"):
        services.endpoint_create(actor=ops, url="https://hooks.partner.example/in")
    assert not Endpoint.objects.exists()


def test_one_internal_address_among_public_ones_is_refused(ops, monkeypatch):
    _resolve_to(monkeypatch, {"hooks.partner.example": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(ValidationError, match="private"):
        services.endpoint_create(actor=ops, url="https://hooks.partner.example/in")


@pytest.mark.parametrize(
    "url", ["ftp://hooks.partner.example/", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)", "//x/"]
)
def test_only_http_and_https_urls_are_accepted(ops, url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the scheme rule holds even then
    with pytest.raises(ValidationError, match="Only http"):
        services.endpoint_create(actor=ops, url=url)
    assert not Endpoint.objects.exists()


def test_credentials_in_the_url_are_refused(ops, monkeypatch):
    _resolve_to(monkeypatch, {"hooks.partner.example": ["93.184.216.34"]})
    with pytest.raises(ValidationError, match="user name or password"):
        services.endpoint_create(actor=ops, url="https://user:pw@hooks.partner.example/")


def test_a_public_host_is_accepted(ops, monkeypatch):
    _resolve_to(monkeypatch, {"hooks.partner.example": ["93.184.216.34", "2606:2800:220:1::1"]})
    endpoint = services.endpoint_create(actor=ops, url="https://hooks.partner.example/in", event_types=["lead.created"])
    assert endpoint.event_types == ["lead.created"]
    assert AuditEvent.objects.get(action="webhooks.endpoint.created").data["url"] == endpoint.url


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1::1", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.255.255.255", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("fec0::1", False),
        ("2001:db8::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, wrapping 192.0.2.45
        ("198.18.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_address_policy(address, allowed):
    assert (targets.address_refusal(ipaddress.ip_address(address)) is None) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
    ],
)
def test_delivery_refuses_internal_targets_too(url, django_capture_on_commit_callbacks):
    # Stored directly, as if the rules had been looser when it was registered.
    endpoint = EndpointFactory(url=url)

    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_emit("contact.created", data={"id": 1})

    delivery = Delivery.objects.get(event=event, endpoint=endpoint)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.error.startswith("Refused: Webhooks cannot be sent to")
    assert attempt.status_code is None
    assert attempt.remote_address == ""
    assert delivery.state == Delivery.State.PENDING  # retried later, refused again


def test_dns_rebinding_to_loopback_after_registration_is_refused_at_delivery(
    ops, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    _resolve_to(monkeypatch, {"hooks.partner.example": ["93.184.216.34"]})
    endpoint = services.endpoint_create(actor=ops, url=f"http://hooks.partner.example:{receiver.port}/in")
    _resolve_to(monkeypatch, {"hooks.partner.example": ["127.0.0.1"]})

    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_emit("contact.created", data={"id": 1})

    attempt = DeliveryAttempt.objects.get(delivery__event=event, delivery__endpoint=endpoint)
    assert "loopback" in attempt.error
    assert receiver.requests == []


def test_delivery_connects_to_the_checked_address_with_the_host_name_in_the_host_header(
    ops, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """The name is resolved once per attempt, by the check; the connection goes to that address."""
    asked = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        asked.append(host)
        return real("127.0.0.1" if host == "hooks.partner.example" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    services.endpoint_create(actor=ops, url=f"http://hooks.partner.example:{receiver.port}/in")
    asked.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_emit("contact.created", data={"id": 1})

    assert asked.count("hooks.partner.example") == 1
    assert set(asked) <= {"hooks.partner.example", "127.0.0.1"}
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["host"] == f"hooks.partner.example:{receiver.port}"
    assert receiver.requests[0].path == "/in"


def test_the_private_targets_setting_allows_loopback(ops, receiver):
    endpoint = services.endpoint_create(actor=ops, url=receiver.url)
    assert endpoint.pk
