"""Operations' pages for the service desk's configuration: service levels (per contract, per tier,
the default) with their business hours and holidays, and case categories.

Every write is one ``cases.setup`` call; other staff get a 403, portal users the staff-only 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cases import setup
from cases.forms import CategoryForm, HolidayForm, ServiceLevelForm
from cases.models import CaseCategory, Holiday, ServiceLevel
from core.access import staff_required
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from iam.permissions import can_manage_service_levels


def _require(request: AuthenticatedHttpRequest) -> None:
    if not can_manage_service_levels(request.user):
        raise PermissionDenied("Only operations change service levels and case categories.")


@staff_required
def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    levels = (
        ServiceLevel.objects.select_related("contract__account")
        .annotate(holiday_count=Count("holidays"))
        .order_by("-is_default", "contract_id", "tier", "name", "id")
    )
    context = {
        "levels": list(levels[:200]),
        "categories": list(CaseCategory.objects.all()),
        "nav_section": "service_desk_setup",
    }
    return render(request, "cases/setup/overview.html", context)


def _level_page(
    request: AuthenticatedHttpRequest,
    level: ServiceLevel | None,
    form: ServiceLevelForm,
    holiday_form: HolidayForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "level": level,
        "form": form,
        "holidays": list(level.holidays.all()) if level is not None else [],
        "holiday_form": holiday_form or HolidayForm(),
        "nav_section": "service_desk_setup",
    }
    return render(request, "cases/setup/level.html", context, status=status)


@staff_required
def level_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request)
    level = get_object_or_404(ServiceLevel.objects.select_related("contract"), pk=pk) if pk else None
    form = ServiceLevelForm(request.POST or None, instance=level)
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = setup.service_level_save(
                    actor=request.user, level=ServiceLevel.objects.get(pk=pk) if pk else None, **form.service_fields()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Service level “{saved.name}” saved.")
                return redirect("cases_setup:level", pk=saved.pk)
        return _level_page(request, level, form, status=400)
    return _level_page(request, level, form)


@staff_required
@require_POST
def level_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    level = get_object_or_404(ServiceLevel.objects.select_related("contract__account"), pk=pk)
    setup.service_level_delete(actor=request.user, level=level)
    messages.success(request, f"Service level “{level.name}” removed. Open cases keep their due dates.")
    return redirect("cases_setup:overview")


@staff_required
@require_POST
def holiday_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    level = get_object_or_404(ServiceLevel.objects.select_related("contract"), pk=pk)
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            setup.holiday_add(actor=request.user, level=level, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Holiday added.")
            return redirect("cases_setup:level", pk=level.pk)
    return _level_page(request, level, ServiceLevelForm(instance=level), holiday_form=form, status=400)


@staff_required
@require_POST
def holiday_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    holiday = get_object_or_404(Holiday.objects.select_related("service_level"), pk=pk)
    setup.holiday_remove(actor=request.user, holiday=holiday)
    messages.success(request, "Holiday removed.")
    return redirect("cases_setup:level", pk=holiday.service_level_id)


@staff_required
def category_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request)
    category = get_object_or_404(CaseCategory, pk=pk) if pk else None
    initial = (
        {"key": category.key, "name": category.name, "sort_order": category.sort_order, "active": category.active}
        if category
        else None
    )
    form = CategoryForm(request.POST or None, initial=initial, editing=category is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            setup.category_save(
                actor=request.user,
                category=category,
                key=data["key"],
                name=data["name"],
                active=data["active"],
                sort_order=data["sort_order"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Category “{data['name']}” saved.")
            return redirect("cases_setup:overview")
    context = {"category": category, "form": form, "nav_section": "service_desk_setup"}
    return render(request, "cases/setup/category.html", context, status=400 if form.errors else 200)
