from django.contrib import admin

from core.admin import EstimatedCountPaginator
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity


class CRMModelAdmin(admin.ModelAdmin):
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


@admin.register(Contact)
class ContactAdmin(CRMModelAdmin):
    list_display = ["last_name", "first_name", "email", "account", "owner", "last_verified_at", "verification_method"]
    list_filter = ["verification_method", "consent_to_contact"]
    search_fields = ["last_name", "first_name", "email"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner", "verified_by"]


@admin.register(Lead)
class LeadAdmin(CRMModelAdmin):
    list_display = ["last_name", "first_name", "company_name", "email", "status", "source", "score", "owner"]
    list_filter = ["status", "source"]
    search_fields = ["last_name", "first_name", "email", "company_name"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner", "converted_account", "converted_contact", "converted_opportunity"]


@admin.register(Opportunity)
class OpportunityAdmin(CRMModelAdmin):
    list_display = ["name", "account", "stage", "amount", "currency", "expected_close_date", "probability", "owner"]
    list_filter = ["stage", "currency"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]


@admin.register(Contract)
class ContractAdmin(CRMModelAdmin):
    list_display = ["number", "account", "status", "start_date", "end_date", "value", "currency", "owner"]
    list_filter = ["status"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]


@admin.register(Activity)
class ActivityAdmin(CRMModelAdmin):
    list_display = ["subject", "kind", "occurred_at", "done", "author", "account", "contact", "lead"]
    list_filter = ["kind", "done"]
    search_fields = ["subject"]
    list_select_related = ["author", "account", "contact", "lead"]
    autocomplete_fields = ["author", "owner", "account", "contact", "lead", "opportunity"]
