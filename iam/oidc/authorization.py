"""The account step of an authorization request: which account the user signs in for.

A real identity provider's organisation chooser (as Auth0 organisations or Keycloak's
``organization`` scope): a user who may use one account signs in for it; one who belongs to
several chooses on a page of their accounts, unless the application names one with
``account_hint=<account_id>``. ``prompt=select_account`` always shows the choice;
``prompt=none`` keeps the account chosen last, else answers ``account_selection_required``.
The step runs before allauth's authorization view and then lets it do its work.
"""

from __future__ import annotations

from http import HTTPStatus

from allauth.idp.oidc.models import Client
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from core.http import AuthenticatedHttpRequest
from iam.models import ApplicationAccountChoice, Membership
from iam.oidc.access import application_for_client, usable_memberships
from iam.oidc.services import application_account_choose

ACCOUNT_HINT = "account_hint"


class _ClientRedirect(HttpResponse):
    """A redirect to a registered redirect URI, which may use an app's own scheme."""

    def __init__(self, url: str) -> None:
        super().__init__(status=HTTPStatus.FOUND)
        self["Location"] = url


def _error_redirect(redirect_uri: str, error: str, state: str) -> HttpResponse:
    params = {"error": error}
    if state:
        params["state"] = state
    separator = "&" if "?" in redirect_uri else "?"
    return _ClientRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


def _refused(request: HttpRequest, *, application, reason: str) -> HttpResponse:
    return render(
        request,
        "oidc/refused.html",
        {"application": application, "reason": reason},
        status=HTTPStatus.FORBIDDEN,
    )


def _choice_url(request: HttpRequest, account_id: int) -> str:
    params = request.GET.copy()
    prompts = [p for p in params.get("prompt", "").split() if p != "select_account"]
    if prompts:
        params["prompt"] = " ".join(prompts)
    else:
        params.pop("prompt", None)
    params[ACCOUNT_HINT] = str(account_id)
    return f"{request.path}?{params.urlencode()}"


def _chooser(
    request: AuthenticatedHttpRequest, *, application, memberships: list[Membership], notice: str = ""
) -> HttpResponse:
    prefetch_related_objects(memberships, "roles")
    last = (
        ApplicationAccountChoice.objects.filter(user=request.user, application=application)
        .values_list("account_id", flat=True)
        .first()
    )
    options = [
        {"membership": m, "url": _choice_url(request, m.account_id), "last": m.account_id == last} for m in memberships
    ]
    return render(
        request,
        "oidc/choose_account.html",
        {"application": application, "options": options, "notice": notice},
    )


def account_step(request: AuthenticatedHttpRequest) -> HttpResponse | None:
    """A response for the account step, or None to let the authorization proceed."""
    params = request.GET
    prompts = set(params.get("prompt", "").split())
    if "login" in prompts:
        return None  # allauth asks for the password again first, then comes back without "login"
    client = Client.objects.filter(pk=params.get("client_id", "")).first()
    if client is None or params.get("redirect_uri", "") not in client.get_redirect_uris():
        return None  # allauth shows its own error page, and never redirects to an unknown URI
    application = application_for_client(client)
    user = request.user
    if application is None:
        return _refused(request, application=None, reason="This client is not registered as one of our applications.")
    if not application.is_active:
        return _refused(request, application=application, reason=f"{application.name} is switched off at the moment.")
    if user.is_staff:
        return _refused(
            request,
            application=application,
            reason="Staff logins work in the CRM; customer applications take a customer sign-in.",
        )
    memberships = list(usable_memberships(user))
    if not memberships:
        return _refused(request, application=application, reason="None of your organisations can use it right now.")
    state = params.get("state", "")
    hint = params.get(ACCOUNT_HINT, "")
    if hint:
        chosen = next((m for m in memberships if str(m.account_id) == hint), None)
        if chosen is not None:
            application_account_choose(actor=user, application=application, membership=chosen)
            return None
        if "none" in prompts:
            return _error_redirect(params["redirect_uri"], "account_selection_required", state)
        return _chooser(
            request,
            application=application,
            memberships=memberships,
            notice=f"{application.name} asked for an organisation you cannot use right now. Choose one of yours.",
        )
    if "select_account" not in prompts and len(memberships) == 1:
        application_account_choose(actor=user, application=application, membership=memberships[0])
        return None
    if "none" in prompts:
        last = ApplicationAccountChoice.objects.filter(user=user, application=application).first()
        if last is not None and any(m.account_id == last.account_id for m in memberships):
            return None
        return _error_redirect(params["redirect_uri"], "account_selection_required", state)
    return _chooser(request, application=application, memberships=memberships)
