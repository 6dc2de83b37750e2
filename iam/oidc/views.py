"""Staff pages for applications: list, register, edit, rotate the secret (shown once).

Every CRM user may look; changes are operations' (``can_manage_applications``), and every
write goes through ``iam.oidc.services``.
"""

from __future__ import annotations

from allauth.idp.oidc.models import Client
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from iam.models import Application, ApplicationRole
from iam.oidc import services
from iam.oidc.forms import ApplicationForm
from iam.permissions import can_manage_applications

NAV = {"nav_section": "applications"}


def _require_manager(request: HttpRequest) -> None:
    if not can_manage_applications(request.user):
        raise PermissionDenied("Only operations may register applications and change their credentials.")


def _endpoints(request: HttpRequest) -> dict[str, str]:
    return {
        "discovery": request.build_absolute_uri(reverse("idp:oidc:configuration")),
        "issuer": settings.IDP_OIDC_ISSUER or request.build_absolute_uri("/").rstrip("/"),
    }


def _credentials(request: HttpRequest, outcome: services.ApplicationOutcome, *, title: str) -> HttpResponse:
    """The one page that shows a client secret; never cached, never stored."""
    response = render(
        request,
        "staff/application_credentials.html",
        {
            "application": outcome.application,
            "client": outcome.application.oidc_client,
            "client_secret": outcome.client_secret,
            "title": title,
            **_endpoints(request),
            **NAV,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required
def application_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    applications = (
        Application.objects.select_related("oidc_client")
        .annotate(role_count=Count("roles", distinct=True), user_count=Count("account_choices", distinct=True))
        .order_by("name")
    )
    return render(
        request,
        "staff/application_list.html",
        {
            "applications": applications,
            "can_manage": can_manage_applications(request.user),
            **_endpoints(request),
            **NAV,
        },
    )


@staff_required
def application_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = services.application_create(actor=request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _credentials(request, outcome, title=f"{outcome.application.name} is registered")
    return render(request, "staff/application_form.html", {"form": form, "application": None, **NAV})


def _application(pk: int) -> Application:
    return get_object_or_404(
        Application.objects.select_related("oidc_client").prefetch_related(
            Prefetch("roles", queryset=ApplicationRole.objects.prefetch_related("business_roles"))
        ),
        pk=pk,
    )


@staff_required
def application_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The application, its credentials and sign-in URIs; operations edit them here."""
    application = _application(pk)
    client = application.oidc_client
    can_manage = can_manage_applications(request.user)
    initial = {
        "name": application.name,
        "url": application.url,
        "description": application.description,
        "is_active": application.is_active,
        "redirect_uris": "\n".join(client.get_redirect_uris()) if client else "",
        "post_logout_redirect_uris": "\n".join(client.get_post_logout_redirect_uris()) if client else "",
    }
    form = ApplicationForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST":
        _require_manager(request)
        if form.is_valid():
            try:
                outcome = services.application_update(actor=request.user, application=application, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if outcome.client_secret:
                    return _credentials(request, outcome, title=f"{application.name} can sign users in now")
                messages.success(request, f"{outcome.application.name} is saved.")
                return redirect("staff_applications:detail", pk=application.pk)
    return render(
        request,
        "staff/application_form.html",
        {
            "form": form,
            "application": application,
            "client": client,
            "is_public": bool(client and client.type == Client.Type.PUBLIC),
            "can_manage": can_manage,
            **_endpoints(request),
            **NAV,
        },
    )


@staff_required
@require_POST
def application_rotate_secret(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    application = _application(pk)
    try:
        outcome = services.application_rotate_secret(actor=request.user, application=application)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("staff_applications:detail", pk=application.pk)
    return _credentials(request, outcome, title=f"A new secret for {application.name}")
