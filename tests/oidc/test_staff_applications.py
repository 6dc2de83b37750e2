"""Staff pages for applications: who may see and change them, what a change leaves behind."""

from __future__ import annotations

import pytest
from allauth.idp.oidc.models import Client
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from iam.models import Application, AuditEvent
from tests.factories import StaffFactory
from tests.oidc.factories import operations_user, register_application

pytestmark = pytest.mark.django_db

NEW_APP = {
    "name": "Orders",
    "key": "orders",
    "url": "https://orders.example.com",
    "description": "Order entry for customers",
    "client_type": "confidential",
    "redirect_uris": "https://orders.example.com/oidc/callback\nhttp://127.0.0.1:8100/callback",
    "post_logout_redirect_uris": "https://orders.example.com/",
    "is_active": "on",
}


def _client(user=None) -> HttpClient:
    client = HttpClient()
    if user is not None:
        client.force_login(user)
        client.get("/healthz")
    return client


@pytest.fixture
def ops(db):
    return operations_user()


@pytest.fixture
def rep(db):
    return StaffFactory(email="rep.apps@clientele.example")


@pytest.fixture
def app(ops):
    return register_application(
        actor=ops, key="shop", redirect_uri="https://shop.example.com/cb", roles={"shop:buy": ["buyer"]}
    ).application


def _snapshot():
    return (
        list(Application.objects.values_list("pk", "name", "is_active", "updated_at")),
        list(Client.objects.values_list("pk", "secret", "redirect_uris", "data")),
        AuditEvent.objects.count(),
    )


# --- Personas ---------------------------------------------------------------------------------


def test_operations_and_other_staff_see_the_list_but_only_operations_may_register(ops, rep, app):
    ops_page = _client(ops).get(reverse("staff_applications:list"))
    rep_page = _client(rep).get(reverse("staff_applications:list"))

    assert ops_page.status_code == 200
    assert rep_page.status_code == 200
    assert app.oidc_client_id in ops_page.content.decode()
    assert 'id="application-create"' in ops_page.content.decode()
    assert 'id="application-create"' not in rep_page.content.decode()
    assert _client(rep).get(reverse("staff_applications:create")).status_code == 403


def test_external_users_get_404_and_anonymous_visitors_the_sign_in_page(db, app, external_user):
    urls = [
        reverse("staff_applications:list"),
        reverse("staff_applications:create"),
        reverse("staff_applications:detail", args=[app.pk]),
    ]
    external, anonymous = _client(external_user), _client()
    for url in urls:
        assert external.get(url).status_code == 404, url
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_refused_writes_change_nothing(db, ops, rep, app, external_user):
    before = _snapshot()
    for client, expected in ((_client(rep), 403), (_client(external_user), 404), (_client(), 302)):
        assert client.post(reverse("staff_applications:create"), NEW_APP).status_code == expected
        edit = {**NEW_APP, "name": "Hijacked", "redirect_uris": "https://evil.example/cb"}
        assert client.post(reverse("staff_applications:detail", args=[app.pk]), edit).status_code == expected
        assert client.post(reverse("staff_applications:rotate_secret", args=[app.pk])).status_code == expected
    assert _snapshot() == before


def test_the_list_costs_the_same_queries_with_one_application_or_many(ops, django_assert_num_queries):
    client = _client(ops)
    register_application(actor=ops, key="one", redirect_uri="https://one.example/cb", roles={})
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("staff_applications:list"))
    for key in ("two", "three", "four"):
        register_application(actor=ops, key=key, redirect_uri=f"https://{key}.example/cb", roles={"r": ["buyer"]})
    with django_assert_num_queries(len(one.captured_queries)):
        client.get(reverse("staff_applications:list"))


# --- Register, edit, rotate -----------------------------------------------------------------------


def test_registering_shows_the_secret_once_stores_it_hashed_and_audits(ops):
    response = _client(ops).post(reverse("staff_applications:create"), NEW_APP)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    application = Application.objects.select_related("oidc_client").get(key="orders")
    client = application.oidc_client
    secret = response.context["client_secret"]
    assert secret in response.content.decode()
    assert secret not in client.secret
    assert client.check_secret(secret)
    assert client.get_redirect_uris() == ["https://orders.example.com/oidc/callback", "http://127.0.0.1:8100/callback"]
    assert client.get_post_logout_redirect_uris() == ["https://orders.example.com/"]
    assert set(client.get_grant_types()) == {"authorization_code", "refresh_token"}
    event = AuditEvent.objects.get(action="iam.application.created")
    assert event.actor == ops
    assert event.target_id == str(application.pk)
    assert event.data["client_id"] == client.pk
    assert secret not in str(event.data)
    # The detail page never shows it again.
    detail = _client(ops).get(reverse("staff_applications:detail", args=[application.pk]))
    assert secret not in detail.content.decode()


def test_a_public_client_gets_no_secret(ops):
    response = _client(ops).post(reverse("staff_applications:create"), {**NEW_APP, "client_type": "public"})

    assert response.status_code == 200
    assert response.context["client_secret"] is None
    assert Application.objects.get(key="orders").oidc_client.type == Client.Type.PUBLIC


@pytest.mark.parametrize(
    ("uris", "message"),
    [
        ("http://orders.example.com/cb", "use https"),
        ("https://*.example.com/cb", "wildcards are not allowed"),
        ("https://orders.example.com/cb#frag", "#fragment"),
        ("javascript:alert(1)", "must start with https://"),
        ("", "This field is required."),
    ],
)
def test_bad_redirect_uris_are_refused_with_a_clear_error_and_nothing_saved(ops, uris, message):
    before = _snapshot()

    response = _client(ops).post(reverse("staff_applications:create"), {**NEW_APP, "redirect_uris": uris})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert _snapshot() == before


def test_editing_updates_the_client_and_audits_what_changed(ops, app):
    client = _client(ops)
    data = {
        "name": "Shop",
        "url": "",
        "description": "",
        "redirect_uris": "https://shop.example.com/cb\nhttps://shop.example.com/cb2",
        "post_logout_redirect_uris": "https://shop.example.com/bye",
        "is_active": "on",
    }

    response = client.post(reverse("staff_applications:detail", args=[app.pk]), data)

    assert response.status_code == 302
    app.refresh_from_db()
    assert app.oidc_client.get_redirect_uris() == ["https://shop.example.com/cb", "https://shop.example.com/cb2"]
    event = AuditEvent.objects.get(action="iam.application.updated")
    assert event.data["changed"] == ["post_logout_redirect_uris", "redirect_uris"]
    assert event.data["after"]["redirect_uris"] == ["https://shop.example.com/cb", "https://shop.example.com/cb2"]
    # Saving the same again is no change, and no event.
    client.post(reverse("staff_applications:detail", args=[app.pk]), data)
    assert AuditEvent.objects.filter(action="iam.application.updated").count() == 1


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_stops_working(ops, app):
    old_hash = app.oidc_client.secret

    response = _client(ops).post(reverse("staff_applications:rotate_secret", args=[app.pk]))

    assert response.status_code == 200
    secret = response.context["client_secret"]
    app.oidc_client.refresh_from_db()
    assert app.oidc_client.secret != old_hash
    assert app.oidc_client.check_secret(secret)
    event = AuditEvent.objects.get(action="iam.application.secret_rotated")
    assert event.actor == ops
    assert secret not in str(event.data)


def test_an_application_made_before_sign_in_existed_gets_its_client_when_its_uris_are_saved(ops):
    legacy = Application.objects.create(key="legacy", name="Legacy portal")

    response = _client(ops).post(
        reverse("staff_applications:detail", args=[legacy.pk]),
        {"name": "Legacy portal", "redirect_uris": "https://legacy.example.com/cb", "is_active": "on"},
    )

    assert response.status_code == 200
    legacy.refresh_from_db()
    assert legacy.oidc_client.check_secret(response.context["client_secret"])
    assert AuditEvent.objects.get(action="iam.application.updated").data["changed"] == [
        "client_id",
        "client_type",
        "redirect_uris",
    ]


def test_every_application_change_is_audited(ops, app):
    client = _client(ops)
    client.post(reverse("staff_applications:create"), {**NEW_APP, "key": "audited"})
    client.post(
        reverse("staff_applications:detail", args=[app.pk]),
        {"name": "Shop renamed", "redirect_uris": "https://shop.example.com/cb", "is_active": "on"},
    )
    client.post(reverse("staff_applications:rotate_secret", args=[app.pk]))

    actions = list(AuditEvent.objects.filter(action__startswith="iam.application.").values_list("action", flat=True))
    assert sorted(actions) == [
        "iam.application.created",  # the fixture's
        "iam.application.created",
        "iam.application.secret_rotated",
        "iam.application.updated",
    ]


def test_the_admin_shows_oidc_clients_read_only_so_every_change_goes_through_the_audited_pages(ops, app):
    client = _client(ops)
    change_url = reverse("admin:allauth_idp_oidc_client_change", args=[app.oidc_client_id])
    before = _snapshot()

    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"name": "Renamed", "redirect_uris": "https://evil.example/cb"}).status_code == 403
    assert client.get(reverse("admin:allauth_idp_oidc_client_add")).status_code == 403
    assert _snapshot() == before
