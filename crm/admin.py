"""CRM records in the operations console, changed only through ``crm.services``.

Ops changing a record here does exactly what the CRM does: the same validation, audit events,
webhooks, portal access (a terminated contract suspends its account's users) and history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import EstimatedCountPaginator, ServiceModelAdmin
from crm import services
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity


class CRMModelAdmin(ServiceModelAdmin):
    """Changelists over tables of up to millions of rows: never count one whole.

    ``show_full_result_count = False`` drops the admin's second, unfiltered count; the
    paginator's own count is estimated or bounded (``core.admin``).
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    extra = 0


@admin.register(Account)
class AccountAdmin(CRMModelAdmin):
    list_display = ["name", "business_id", "country", "tier", "industry", "owner", "created_at"]
    list_filter = ["tier", "industry", "country"]
    search_fields = ["name", "business_id", "website"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    inlines = [AccountDomainInline]
    date_hierarchy = "created_at"

    def service_save(
        self, request: HttpRequest, obj: Account, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Account:
        return services.account_save(actor=request.user, account=obj, domains=_inline_domains(formsets))

    def service_delete(self, request: HttpRequest, obj: Account) -> None:
        services.account_delete(actor=request.user, account=obj)


def _inline_domains(formsets: Sequence[Any]) -> list[str] | None:
    """The domains the inline rows leave, or None (keep them) when the inline was not shown."""
    for formset in formsets:
        if formset.model is AccountDomain:
            return [
                row.cleaned_data["domain"]
                for row in formset.forms
                if row.cleaned_data.get("domain") and not row.cleaned_data.get("DELETE")
            ]
    return None


@admin.register(Contact)
class ContactAdmin(CRMModelAdmin):
    list_display = ["last_name", "first_name", "email", "account", "owner", "last_verified_at", "verification_method"]
    list_filter = ["verification_method", "consent_to_contact"]
    search_fields = ["last_name", "first_name", "email"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]
    # Freshness is what contact_verify and the jobs derive; consent's time is set by the service.
    readonly_fields = ["last_verified_at", "verified_by", "verification_method", "consent_updated_at"]

    def service_save(
        self, request: HttpRequest, obj: Contact, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Contact:
        return services.contact_save(actor=request.user, contact=obj)

    def service_delete(self, request: HttpRequest, obj: Contact) -> None:
        services.contact_delete(actor=request.user, contact=obj)


@admin.register(Lead)
class LeadAdmin(CRMModelAdmin):
    list_display = ["last_name", "first_name", "company_name", "email", "status", "source", "score", "owner"]
    list_filter = ["status", "source"]
    search_fields = ["last_name", "first_name", "email", "company_name"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    # A lead is converted with lead_convert (the CRM's Convert button), never by typing its result.
    readonly_fields = ["converted_at", "converted_account", "converted_contact", "converted_opportunity"]

    def service_save(
        self, request: HttpRequest, obj: Lead, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Lead:
        return services.lead_save(actor=request.user, lead=obj)

    def service_delete(self, request: HttpRequest, obj: Lead) -> None:
        services.lead_delete(actor=request.user, lead=obj)


@admin.register(Opportunity)
class OpportunityAdmin(CRMModelAdmin):
    list_display = ["name", "account", "stage", "amount", "currency", "expected_close_date", "probability", "owner"]
    list_filter = ["stage", "currency"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]

    def service_save(
        self, request: HttpRequest, obj: Opportunity, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Opportunity:
        return services.opportunity_save(actor=request.user, opportunity=obj)

    def service_delete(self, request: HttpRequest, obj: Opportunity) -> None:
        services.opportunity_delete(actor=request.user, opportunity=obj)


@admin.register(Contract)
class ContractAdmin(CRMModelAdmin):
    list_display = ["number", "account", "status", "start_date", "end_date", "value", "currency", "owner"]
    list_filter = ["status"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]

    def service_save(
        self, request: HttpRequest, obj: Contract, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Contract:
        return services.contract_save(actor=request.user, contract=obj)

    def service_delete(self, request: HttpRequest, obj: Contract) -> None:
        services.contract_delete(actor=request.user, contract=obj)


# What crm.services.activity_update lets change on a logged activity.
ACTIVITY_CHANGEABLE = ("subject", "body", "due_at", "owner", "done")


class ActivityAdminForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == Activity.Kind.NOTE:
            cleaned["done"] = True  # a note records what happened: never an open task
        return cleaned


@admin.register(Activity)
class ActivityAdmin(CRMModelAdmin):
    form = ActivityAdminForm
    list_display = ["subject", "kind", "occurred_at", "done", "author", "account", "contact", "lead"]
    list_filter = ["kind", "done"]
    search_fields = ["subject"]
    list_select_related = ["author", "account", "contact", "lead"]
    autocomplete_fields = ["owner", "account", "contact", "lead", "opportunity"]
    fields = [
        "kind",
        "subject",
        "body",
        "occurred_at",
        "due_at",
        "done",
        "done_at",
        "owner",
        "author",
        "account",
        "contact",
        "lead",
        "opportunity",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Activity | None = None) -> list[str]:
        # The author is whoever logs it; once logged, only what activity_update allows may change.
        if obj is None:
            return ["author", "done_at"]
        return [name for name in self.fields if name not in ACTIVITY_CHANGEABLE]

    def service_save(
        self, request: HttpRequest, obj: Activity, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Activity:
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in form.changed_data if name in ACTIVITY_CHANGEABLE}
            return services.activity_update(actor=request.user, activity=obj, changes=changes)
        return services.activity_log(
            actor=request.user,
            kind=data["kind"],
            subject=data["subject"],
            body=data["body"],
            occurred_at=data["occurred_at"],
            due_at=data["due_at"],
            done=data["done"],
            owner=data["owner"],
            account=data["account"],
            contact=data["contact"],
            lead=data["lead"],
            opportunity=data["opportunity"],
        )

    def service_delete(self, request: HttpRequest, obj: Activity) -> None:
        services.activity_delete(actor=request.user, activity=obj)
