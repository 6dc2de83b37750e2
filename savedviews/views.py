"""Saving, removing and choosing the default view of a CRM list (forms in the list's Views menu)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from savedviews import services
from savedviews.models import SavedView

LIST_URL_NAMES = {
    "accounts": "crm:account_list",
    "contacts": "crm:contact_list",
    "leads": "crm:lead_list",
    "opportunities": "crm:opportunity_list",
    "contracts": "crm:contract_list",
    "activities": "crm:activity_list",
    "cases": "cases:queue",
}


def _open(view: SavedView) -> HttpResponseRedirect:
    query = f"{view.query}&" if view.query else ""
    return HttpResponseRedirect(f"{reverse(LIST_URL_NAMES[view.list_key])}?{query}view={view.pk}")


@staff_required
@require_POST
def view_save(request: AuthenticatedHttpRequest, list_key: str) -> HttpResponseRedirect:
    if list_key not in LIST_URL_NAMES:
        raise Http404("No such list.")
    hidden = [c for c in request.POST.get("hidden_columns", "").split("|") if c.strip()]
    try:
        view = services.saved_view_save(
            actor=request.user,
            list_key=list_key,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            hidden_columns=hidden,
            shared=request.POST.get("shared") == "on",
            make_default=request.POST.get("default") == "on",
        )
    except ValidationError as exc:
        messages.error(request, "The view was not saved: " + "; ".join(exc.messages))
        return HttpResponseRedirect(reverse(LIST_URL_NAMES[list_key]) + "?view=")
    messages.success(request, f"View “{view.name}” saved{' and shared with the team' if view.shared else ''}.")
    return _open(view)


@staff_required
@require_POST
def view_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseRedirect:
    view = get_object_or_404(SavedView.objects.visible_to(request.user), pk=pk)
    try:
        services.saved_view_delete(actor=request.user, view=view)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return _open(view)
    messages.success(request, f"View “{view.name}” removed.")
    return HttpResponseRedirect(reverse(LIST_URL_NAMES[view.list_key]) + "?view=")


@staff_required
@require_POST
def view_default(request: AuthenticatedHttpRequest, list_key: str) -> HttpResponseRedirect:
    if list_key not in LIST_URL_NAMES:
        raise Http404("No such list.")
    raw = request.POST.get("view", "")
    view = get_object_or_404(SavedView.objects.visible_to(request.user), pk=int(raw)) if raw.isdecimal() else None
    services.saved_view_make_default(actor=request.user, view=view, list_key=list_key)
    if view is None:
        messages.success(request, "The list now opens without a view.")
        return HttpResponseRedirect(reverse(LIST_URL_NAMES[list_key]) + "?view=")
    messages.success(request, f"The list now opens with “{view.name}”.")
    return _open(view)
