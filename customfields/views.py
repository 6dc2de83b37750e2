"""Operations' pages to define custom fields: list, add, change, archive, restore, purge."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from customfields import services
from customfields.forms import CustomFieldForm
from customfields.models import CustomField
from customfields.selectors import custom_field_list
from iam.permissions import can_define_custom_fields


def _require(request: AuthenticatedHttpRequest) -> None:
    if not can_define_custom_fields(request.user):
        raise PermissionDenied("Only operations define custom fields.")


def _model_param(request: AuthenticatedHttpRequest) -> str:
    model = request.GET.get("model", "")
    return model if model in CustomField.RecordType.values else CustomField.RecordType.CONTACT


@staff_required
def field_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    model = _model_param(request)
    fields = list(custom_field_list(user=request.user, model_label=model))
    counts = dict(
        custom_field_list(user=request.user)
        .filter(archived_at__isnull=True)
        .order_by()
        .values_list("model")
        .annotate(n=Count("id"))
        .values_list("model", "n")
    )
    tabs = [(value, label, counts.get(value, 0)) for value, label in CustomField.RecordType.choices]
    context = {
        "nav_section": "custom_fields",
        "model": model,
        "model_label": CustomField.RecordType(model).label,
        "tabs": tabs,
        "active": [f for f in fields if f.archived_at is None],
        "archived": [f for f in fields if f.archived_at is not None],
    }
    return render(request, "customfields/field_list.html", context)


def _changes(form: CustomFieldForm) -> dict[str, Any]:
    data = form.cleaned_data
    changes = {name: data[name] for name in services.EDITABLE if name in data and name != "choices"}
    changes["choices"] = data.get("choices_text") or []
    return changes


@staff_required
def field_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    if request.method == "POST":
        form = CustomFieldForm(request.POST)
        if form.is_valid():
            field = form.save(commit=False)
            field.choices = form.cleaned_data.get("choices_text") or []
            try:
                services.custom_field_create(actor=request.user, field=field)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Custom field “{field.label}” added to {field.get_model_display().lower()}.")
                return redirect(f"{reverse('customfields:list')}?model={field.model}")
    else:
        form = CustomFieldForm(initial={"model": _model_param(request)})
    return render(
        request, "customfields/field_form.html", {"form": form, "field": None, "nav_section": "custom_fields"}
    )


@staff_required
def field_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    field = get_object_or_404(custom_field_list(user=request.user), pk=pk)
    label = field.label
    if request.method == "POST":
        form = CustomFieldForm(request.POST, instance=CustomField.objects.get(pk=field.pk))
        if form.is_valid():
            new_type = form.cleaned_data["type"]
            try:
                conversion = services.custom_field_update(
                    actor=request.user, field=field, changes=_changes(form), new_type=new_type
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except BusinessRuleViolation as exc:
                form.add_error("type", str(exc))
            else:
                note = f" {conversion.converted:,} values converted." if conversion else ""
                messages.success(request, f"Custom field “{form.cleaned_data['label']}” saved.{note}")
                return redirect(f"{reverse('customfields:list')}?model={field.model}")
    else:
        form = CustomFieldForm(instance=field)
    context = {"form": form, "field": field, "label": label, "nav_section": "custom_fields"}
    return render(request, "customfields/field_form.html", context)


@staff_required
@require_POST
def field_archive(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    field = get_object_or_404(custom_field_list(user=request.user), pk=pk)
    services.custom_field_archive(actor=request.user, field=field)
    messages.success(request, f"“{field.label}” archived: it left forms, lists and the API; its values are kept.")
    return redirect(f"{reverse('customfields:list')}?model={field.model}")


@staff_required
@require_POST
def field_restore(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    field = get_object_or_404(custom_field_list(user=request.user), pk=pk)
    services.custom_field_restore(actor=request.user, field=field)
    messages.success(request, f"“{field.label}” restored, with its values.")
    return redirect(f"{reverse('customfields:list')}?model={field.model}")


@staff_required
def field_purge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    field = get_object_or_404(custom_field_list(user=request.user).filter(archived_at__isnull=False), pk=pk)
    error = ""
    if request.method == "POST":
        try:
            purged = services.custom_field_purge(
                actor=request.user, field=field, confirm_key=request.POST.get("confirm_key", "")
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except BusinessRuleViolation as exc:
            error = str(exc)
        else:
            messages.success(request, f"“{field.label}” purged: its values were removed from {purged:,} records.")
            return redirect(f"{reverse('customfields:list')}?model={field.model}")
    valued = services.valued_count(field)
    context = {"field": field, "valued": valued, "error": error, "nav_section": "custom_fields"}
    return render(request, "customfields/field_purge.html", context, status=400 if error else 200)
