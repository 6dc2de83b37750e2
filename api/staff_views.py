"""Staff pages for API keys: list, create (the key is shown once) and revoke. Operations only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import services
from api.forms import ApiKeyForm
from api.models import ApiKey
from api.permissions import can_manage_api_keys
from core.access import staff_required
from core.http import AuthenticatedHttpRequest

KEYS_SHOWN = 200


def _require_key_admin(request: HttpRequest) -> None:
    if not can_manage_api_keys(request.user):
        raise PermissionDenied("Only operations staff manage API keys.")


@staff_required
def api_key_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_key_admin(request)
    keys = (
        ApiKey.objects.select_related("created_by")
        .prefetch_related("accounts")
        .order_by("revoked_at", "-created_at", "-id")[:KEYS_SHOWN]
    )
    return render(request, "staff/api_key_list.html", {"keys": keys, "nav_section": "api_keys"})


@never_cache
@staff_required
def api_key_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_key_admin(request)
    form = ApiKeyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        account = form.cleaned_data.get("account")
        try:
            issued = services.api_key_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                accounts=[account] if account else [],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # Rendered, not redirected: the key is never stored anywhere, not even in the session.
            return render(request, "staff/api_key_created.html", {"issued": issued, "nav_section": "api_keys"})
    return render(request, "staff/api_key_form.html", {"form": form, "nav_section": "api_keys"})


@require_POST
@staff_required
def api_key_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_key_admin(request)
    api_key = get_object_or_404(ApiKey, pk=pk)
    services.api_key_revoke(actor=request.user, api_key=api_key)
    messages.success(request, f"The key “{api_key.name}” ({api_key.prefix}) is revoked: it stops working at once.")
    return redirect("staff_api:api_key_list")
