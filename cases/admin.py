"""The service desk's configuration in the operations console, changed only through ``cases.setup``.

Cases themselves are worked in the CRM's case pages; they are look-only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from cases import setup
from cases.models import Case, CaseCategory, Holiday, ServiceLevel
from core.admin import EstimatedCountPaginator, ReadOnlyAdmin, ServiceModelAdmin

if TYPE_CHECKING:
    from iam.models import User


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)  # the admin site lets only signed-in staff in


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(ServiceLevel)
class ServiceLevelAdmin(ServiceModelAdmin):
    list_display = [
        "name",
        "is_default",
        "tier",
        "contract",
        "first_response_minutes",
        "resolution_minutes",
        "time_zone",
    ]
    list_filter = ["is_default", "tier"]
    search_fields = ["name", "contract__number"]
    raw_id_fields = ["contract"]
    inlines = [HolidayInline]

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> ServiceLevel:
        fields = {name: form.cleaned_data[name] for name in setup.LEVEL_FIELDS if name in form.cleaned_data}
        original = ServiceLevel.objects.get(pk=obj.pk) if change else None
        level = setup.service_level_save(actor=_actor(request), level=original, **fields)
        for formset in formsets:
            for row in formset.forms:
                data = getattr(row, "cleaned_data", None) or {}
                existing = row.instance if row.instance.pk else None
                if existing is not None and (data.get("DELETE") or row.has_changed()):
                    setup.holiday_remove(actor=_actor(request), holiday=Holiday.objects.get(pk=existing.pk))
                if data.get("date") and not data.get("DELETE") and (existing is None or row.has_changed()):
                    setup.holiday_add(actor=_actor(request), level=level, date=data["date"], name=data.get("name", ""))
        return level

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        setup.service_level_delete(actor=_actor(request), level=obj)


@admin.register(CaseCategory)
class CaseCategoryAdmin(ServiceModelAdmin):
    list_display = ["name", "key", "sort_order", "active"]
    list_filter = ["active"]

    def get_readonly_fields(self, request: HttpRequest, obj: CaseCategory | None = None) -> list[str]:
        return ["key"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cases hold the key: retire a category instead

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> CaseCategory:
        data = form.cleaned_data
        return setup.category_save(
            actor=_actor(request),
            category=CaseCategory.objects.get(pk=obj.pk) if change else None,
            key=data.get("key", obj.key),
            name=data["name"],
            active=data["active"],
            sort_order=data["sort_order"],
        )


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "subject", "account", "status", "severity", "team", "sla_state", "created_at"]
    list_filter = ["status", "severity", "team", "sla_state"]
    list_select_related = ["account"]
    search_fields = ["=id", "subject"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
