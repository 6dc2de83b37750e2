"""The duplicate finder and the merge page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.http import AuthenticatedHttpRequest
from dedup import selectors, services
from dedup.models import DuplicatePair
from dedup.tasks import duplicates_scan_task
from iam.permissions import can_merge

TYPES = {"contacts": "crm.contact", "accounts": "crm.account", "leads": "crm.lead"}


def _record_type(resource: str) -> str:
    if resource not in TYPES:
        raise Http404("No such record type.")
    return TYPES[resource]


@staff_required
def finder(request: AuthenticatedHttpRequest, resource: str = "contacts") -> HttpResponse:
    record_type = _record_type(resource)
    pairs, total = selectors.open_pairs(user=request.user, record_type=record_type)
    context = {"pairs": pairs, "total": total, "resource": resource, "types": TYPES, "tab": "duplicates"}
    return render(request, "dedup/finder.html", context)


@staff_required
@require_POST
def scan(request: AuthenticatedHttpRequest, resource: str) -> HttpResponse:
    record_type = _record_type(resource)
    duplicates_scan_task.delay(record_type)
    messages.success(request, "Looking for duplicates. New candidates show here as they are found; reload in a moment.")
    return redirect("dedup:finder_type", resource=resource)


@staff_required
@require_POST
def dismiss(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    pair = get_object_or_404(DuplicatePair, pk=pk)
    services.pair_dismiss(actor=request.user, pair=pair)
    messages.success(request, "Marked as not a duplicate: they will not be proposed again.")
    resource = next((k for k, v in TYPES.items() if v == pair.record_type), "contacts")
    return redirect("dedup:finder_type", resource=resource)


@staff_required
@require_POST
def not_duplicate(request: AuthenticatedHttpRequest, resource: str, first: int, second: int) -> HttpResponse:
    record_type = _record_type(resource)
    visible = selectors.visible(record_type, user=request.user)
    a, b = get_object_or_404(visible, pk=first), get_object_or_404(visible, pk=second)
    services.pair_not_duplicate(actor=request.user, record_type=record_type, first_id=a.pk, second_id=b.pk)
    messages.success(request, f"“{a}” and “{b}” are marked as different records.")
    return redirect(a)


def _values(request: AuthenticatedHttpRequest, record_type: str, first: Any, second: Any) -> dict[str, Any]:
    values = {}
    for name in services.MERGE_FIELDS[record_type]:
        source = second if request.POST.get(f"pick_{name}") == "second" else first
        value = getattr(source, name)
        values[name] = value
    return values


@staff_required
def merge(request: AuthenticatedHttpRequest, resource: str, first: int, second: int) -> HttpResponse:
    """Side by side: which record survives, and each field's value taken from which."""
    record_type = _record_type(resource)
    visible = selectors.visible(record_type, user=request.user)
    a, b = get_object_or_404(visible, pk=first), get_object_or_404(visible, pk=second)
    if not can_merge(request.user, record_type):
        raise PermissionDenied("Only sales managers and operations merge accounts.")
    if request.method == "POST":
        survivor, merged = (b, a) if request.POST.get("survivor") == "second" else (a, b)
        values = _values(request, record_type, a, b)
        try:
            result = services.merge_records(actor=request.user, survivor=survivor, merged=merged, values=values)
        except (ValidationError, BusinessRuleViolation) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"Merged “{merged}” into “{result}”: everything related moved here.")
            return redirect(result.get_absolute_url())  # type: ignore[attr-defined]
    context = {
        "resource": resource,
        "first": a,
        "second": b,
        "rows": selectors.side_by_side(a, b),
        "noun": record_type.split(".")[1],
    }
    return render(request, "dedup/merge.html", context)
