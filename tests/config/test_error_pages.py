"""Error pages wear the product's layout and offer a way back; every page has a favicon."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

pytestmark = pytest.mark.django_db


def _looks_like_clientele(html: str) -> None:
    assert "/static/css/app.css" in html
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'class="skip-link" href="#main"' in html
    assert f'href="{reverse("home")}"' in html
    assert "Go to the start page" in html


def test_a_missing_page_says_so_with_the_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _looks_like_clientele(html)
    assert "We could not find that page" in html


def test_a_portal_user_on_a_staff_route_gets_the_friendly_404(external_client):
    response = external_client.get(reverse("crm:account_list"))
    assert response.status_code == 404
    _looks_like_clientele(response.content.decode())


def test_forbidden_bad_request_and_server_error_pages_render_with_the_layout():
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    forbidden = defaults.permission_denied(request, PermissionDenied())
    bad = defaults.bad_request(request, Exception())
    broken = defaults.server_error(request)

    assert (forbidden.status_code, bad.status_code, broken.status_code) == (403, 400, 500)
    for response, words in (
        (forbidden, "You do not have access to this page"),
        (bad, "We could not understand that request"),
        (broken, "Something went wrong on our side"),
    ):
        html = response.content.decode()
        _looks_like_clientele(html)
        assert words in html


def test_an_expired_form_explains_itself():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    _looks_like_clientele(html)
    assert "This form has expired" in html


def test_favicon_is_served_and_referenced_from_staff_and_portal_pages(rep_client, external_client, client):
    assert client.get("/favicon.ico").url == "/static/favicon.svg"
    for page in (rep_client.get(reverse("home")), external_client.get(reverse("portal:home"))):
        assert 'rel="icon" href="/static/favicon.svg"' in page.content.decode()
