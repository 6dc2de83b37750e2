from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ExternalUserFactory, MembershipFactory, StaffFactory


@pytest.fixture(autouse=True)
def _default_business_roles(request):
    """Transactional tests flush the database, data migrations included: put the roles back."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    from iam.defaults import ensure_default_business_roles
    from iam.models import BusinessRole

    ensure_default_business_roles(BusinessRole)


@pytest.fixture
def sales_rep(db):
    return StaffFactory(email="alice.rep@clientele.example", first_name="Alice", last_name="Rep")


@pytest.fixture
def other_rep(db):
    return StaffFactory(email="bob.rep@clientele.example", first_name="Bob", last_name="Rep")


@pytest.fixture
def external_user(db):
    """A customer's user with working portal access: CRM pages must still be closed to them."""
    user = ExternalUserFactory(email="charlie@customer.example", first_name="Charlie", last_name="Outsider")
    MembershipFactory(user=user)
    return user


@pytest.fixture
def rep_client(sales_rep) -> Client:
    client = Client()
    client.force_login(sales_rep)
    # allauth records a session on its first request; do that now so query counts compare like with like.
    client.get("/healthz")
    return client


@pytest.fixture
def external_client(external_user) -> Client:
    client = Client()
    client.force_login(external_user)
    client.get("/healthz")
    return client


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; see tests/smtp_sink.py."""
    from tests.smtp_sink import SmtpSink

    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def smtp_mail(smtp_sink, settings):
    """Django's real SMTP backend, sending into ``smtp_sink``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_sink.host
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_sink


@pytest.fixture(autouse=True)
def _forget_custom_field_definitions():
    """Custom field definitions are cached across requests; a test's rolled-back ones must not linger.

    Each test starts with none defined (as its database has none), already cached: a page's
    query count does not depend on whether an earlier request happened to read them.
    """
    from customfields.selectors import CACHE_SECONDS, MODEL_LABELS, _cache_key, shared_cache

    shared_cache.set_many({_cache_key(label): [] for label in MODEL_LABELS}, CACHE_SECONDS)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with an empty default cache: sign-in rate limits and API throttles count
    there, per client address, and a worker's earlier browser journeys must not use up a later
    test's allowance (every live-server test signs in from 127.0.0.1)."""
    from django.core.cache import cache

    cache.clear()
