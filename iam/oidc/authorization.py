"""The account step of an authorization request: which account the user signs in for.

A real identity provider's organisation chooser (as Auth0 organisations or Keycloak's
``organization`` scope): a user who may use one account signs in for it; one who belongs to
several chooses on a page of their accounts, unless the application names one with
``account_hint=<account_id>``. ``prompt=select_account`` always shows the choice;
``prompt=none`` keeps the account chosen last, else answers ``account_selection_required``.
The step runs before allauth's authorization view and then lets it do its work.

The step only decides; it writes nothing. The choice is recorded (and a switch ends the
application's old tokens) once allauth has validated the whole request and issued the code:
a crafted link must not switch a consultant's organisation or sign them out of an application.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from allauth.idp.oidc.models import Client
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from core.http import AuthenticatedHttpRequest
from iam.models import Application, ApplicationAccountChoice, Membership
from iam.oidc.access import application_for_client, usable_memberships
from iam.oidc.services import CLIENT_SCOPES

ACCOUNT_HINT = "account_hint"


@dataclass(frozen=True)
class AccountStep:
    """What the account step decided for one authorization request."""

    # Our own page or error redirect; None lets allauth's authorization view go on.
    response: HttpResponse | None = None
    application: Application | None = None
    # The account to record for the application once the code is issued; None keeps the last choice.
    membership: Membership | None = None


def ignore_unknown_scopes(request: HttpRequest) -> None:
    """Drop the scope values this provider does not know from an authorization or refresh request.

    OIDC Core 3.1.2.1: scope values that are not understood SHOULD be ignored, and relying
    parties send ones of their own (``offline_access`` above all: every code exchange here gives
    a refresh token anyway), and send them again when they refresh. allauth answers
    ``invalid_scope`` for any value beyond the client's scopes and has no hook for this, so the
    parameters it reads are rewritten before it runs. A request left with no known value is one
    that named none: the client's default scopes apply (on a refresh, the ones first granted).
    """
    params = request.GET if request.method == "GET" else request.POST
    requested = params.get("scope")
    if requested is None:
        return
    values = requested.split()
    understood = list(dict.fromkeys(value for value in values if value in CLIENT_SCOPES))
    if understood == values:
        return
    rewritten = params.copy()
    if understood:
        rewritten["scope"] = " ".join(understood)
    else:
        del rewritten["scope"]
    if request.method == "GET":
        request.GET = rewritten
        request.META["QUERY_STRING"] = rewritten.urlencode()  # allauth reads request.get_full_path()
    else:
        request.POST = rewritten


def code_issued(response: HttpResponse, *, redirect_uri: str) -> bool:
    """Whether allauth answered the authorization request by sending a code to ``redirect_uri``."""
    location = response.get("Location", "") if response.status_code == HTTPStatus.FOUND else ""
    if not redirect_uri or not location.startswith(redirect_uri):
        return False
    params = parse_qs(urlsplit(location).query)
    return "code" in params and "error" not in params


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


def account_step(request: HttpRequest) -> AccountStep:
    """Our own response for the account step, or the account to sign in for while allauth goes on."""
    params = request.GET
    prompts = set(params.get("prompt", "").split())
    if "login" in prompts:
        return AccountStep()  # allauth asks for the password again first, then comes back without "login"
    client = Client.objects.filter(pk=params.get("client_id", "")).first()
    if client is None or params.get("redirect_uri", "") not in client.get_redirect_uris():
        return AccountStep()  # allauth shows its own error page, and never redirects to an unknown URI
    application = application_for_client(client)
    user = request.user
    if application is None:
        reason = "This client is not registered as one of our applications."
        return AccountStep(response=_refused(request, application=None, reason=reason))
    if not application.is_active:
        reason = f"{application.name} is switched off at the moment."
        return AccountStep(response=_refused(request, application=application, reason=reason))
    if user.is_staff:
        reason = "Staff logins work in the CRM; customer applications take a customer sign-in."
        return AccountStep(response=_refused(request, application=application, reason=reason))
    memberships = list(usable_memberships(user))
    if not memberships:
        reason = "None of your organisations can use it right now."
        return AccountStep(response=_refused(request, application=application, reason=reason))
    state = params.get("state", "")
    hint = params.get(ACCOUNT_HINT, "")
    if hint:
        chosen = next((m for m in memberships if str(m.account_id) == hint), None)
        if chosen is not None:
            return AccountStep(application=application, membership=chosen)
        if "none" in prompts:
            return AccountStep(response=_error_redirect(params["redirect_uri"], "account_selection_required", state))
        notice = f"{application.name} asked for an organisation you cannot use right now. Choose one of yours."
        return AccountStep(response=_chooser(request, application=application, memberships=memberships, notice=notice))
    if "select_account" not in prompts and len(memberships) == 1:
        return AccountStep(application=application, membership=memberships[0])
    if "none" in prompts:
        last = ApplicationAccountChoice.objects.filter(user=user, application=application).first()
        if last is not None and any(m.account_id == last.account_id for m in memberships):
            return AccountStep(application=application)
        return AccountStep(response=_error_redirect(params["redirect_uri"], "account_selection_required", state))
    return AccountStep(response=_chooser(request, application=application, memberships=memberships))
