"""Signing secrets are encrypted at rest, and survive a SECRET_KEY rotation done the Django way."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from tests.webhooks.factories import EndpointFactory
from webhooks.models import Endpoint
from webhooks.services import endpoint_rotate_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint():
    return EndpointFactory()


def _stored(endpoint: Endpoint) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, previous_secret FROM webhooks_endpoint WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()


def test_the_database_holds_no_signing_secret_in_clear_text(ops, endpoint):
    endpoint = endpoint_rotate_secret(actor=ops, endpoint=endpoint)

    secret, previous = _stored(endpoint)
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret not in secret
    assert endpoint.previous_secret not in previous
    again = Endpoint.objects.get(pk=endpoint.pk)
    assert (again.secret, again.previous_secret) == (endpoint.secret, endpoint.previous_secret)


def test_a_rotated_secret_key_still_opens_secrets_through_its_fallback(endpoint, settings):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert Endpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FALLBACKS"):
        Endpoint.objects.get(pk=endpoint.pk)
