"""Filters for list pages (and, later, the API): one definition per record type."""

from __future__ import annotations

import django_filters
from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet

from core.listing import as_search
from crm.decay import Freshness
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import Membership, User


class _EqualsAny(Func):
    """``column = ANY(array)``: unlike ``IN (subquery)`` an index condition that can join a BitmapOr."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


# pg_trgm indexes serve LIKE '%...%' only for patterns of at least one trigram.
TRIGRAM = 3


def _staff():
    return User.objects.staff().order_by("first_name", "last_name")


class SearchFilterSet(django_filters.FilterSet):
    """Adds ``?q=`` search over the columns listed in ``search_fields``."""

    q = django_filters.CharFilter(method="search", label="Search")
    search_fields: tuple[str, ...] = ()

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            widget = field.widget
            css = "form-select" if widget.input_type == "select" else "form-control"
            widget.attrs.setdefault("class", css)
            widget.attrs.setdefault("aria-label", field.label or "")
        for name in ("owner", "status", "source", "stage", "tier", "industry", "kind", "verification"):
            if name in self.form.fields and hasattr(self.form.fields[name], "empty_label"):
                self.form.fields[name].empty_label = f"Any {self.form.fields[name].label.lower()}"

    @property
    def is_filtered(self) -> bool:
        return any(v not in (None, "", []) for v in self.form.cleaned_data.values()) if self.is_bound else False


class ContactFilter(SearchFilterSet):
    search_fields = ("first_name", "last_name", "email", "account__name")
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    account = django_filters.NumberFilter(field_name="account_id", widget=django_filters.widgets.forms.HiddenInput)
    verification = django_filters.ChoiceFilter(
        label="Freshness",
        choices=[("verified", "Verified"), ("never", "Never verified")],
        method="filter_verification",
    )
    # For batch invitations: "contacts of customers who have no portal access".
    customer = django_filters.ChoiceFilter(
        label="Account",
        choices=[("yes", "Customers"), ("no", "Not customers")],
        method="filter_customer",
    )
    portal = django_filters.ChoiceFilter(
        label="Portal access",
        choices=[("none", "No portal access"), ("active", "Portal users")],
        method="filter_portal",
    )

    freshness = django_filters.ChoiceFilter(
        label="Freshness state", choices=Freshness.choices, method="filter_freshness"
    )

    class Meta:
        model = Contact
        fields = ["q", "owner", "account", "verification", "freshness", "customer", "portal"]

    def filter_freshness(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.freshness_in(value)  # type: ignore[attr-defined]

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        active = Exists(Contract.objects.filter(account=OuterRef("account_id"), status=Contract.Status.ACTIVE))
        return queryset.filter(active if value == "yes" else ~active)

    def filter_portal(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        member = Exists(Membership.objects.filter(contact=OuterRef("pk"), status=Membership.Status.ACTIVE))
        return queryset.filter(member if value == "active" else ~member)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Name ("Anna Smith" too), email or company, paged as a search (``listing.as_search``).

        On PostgreSQL every condition is on the contact table (the company as
        ``account_id = ANY(ARRAY(<accounts by trigram>))``), so the trigram and account indexes
        combine in one bitmap scan instead of an OR across a join that reads every contact.
        The rows are those of a plain ``icontains`` over the four columns on either database.
        """
        value = value.strip()
        if not value:
            return queryset
        people = Q(first_name__icontains=value) | Q(last_name__icontains=value) | Q(email__icontains=value)
        first, _, last = value.partition(" ")
        if last.strip():
            people |= Q(first_name__icontains=first, last_name__icontains=last.strip())
        if connection.vendor == "postgresql":
            from django.contrib.postgres.expressions import ArraySubquery

            companies = Account.objects.filter(name__icontains=value).order_by().values("pk")
            if len(value) < TRIGRAM:
                # No trigram in the pattern, so no index helps and PostgreSQL scans the table
                # (stopping at the count limit). ``= ANY(array)`` would then walk up to 100k
                # account ids for each contact ("er": 1.5 s); a hashed IN (subquery) is a probe.
                company = Q(account_id__in=companies)
            else:
                company = Q(_EqualsAny(F("account_id"), ArraySubquery(companies)))
        else:
            company = Q(account__name__icontains=value)
        return as_search(queryset.filter(people | company))

    def filter_verification(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(last_verified_at__isnull=(value == "never"))


class AccountFilter(SearchFilterSet):
    search_fields = ("name", "business_id", "website")
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    tier = django_filters.ChoiceFilter(choices=Account.Tier.choices)
    industry = django_filters.ChoiceFilter(choices=Account.Industry.choices)
    customer = django_filters.BooleanFilter(method="filter_customer", label="Customer")

    class Meta:
        model = Account
        fields = ["q", "owner", "tier", "industry", "customer"]

    def filter_customer(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        active = Exists(Contract.objects.filter(account=OuterRef("pk"), status=Contract.Status.ACTIVE))
        return queryset.filter(active if value else ~active)


class LeadFilter(SearchFilterSet):
    search_fields = ("first_name", "last_name", "email", "company_name")
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.ChoiceFilter(choices=Lead.Source.choices)

    class Meta:
        model = Lead
        fields = ["q", "owner", "status", "source"]


class OpportunityFilter(SearchFilterSet):
    search_fields = ("name", "account__name")
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    stage = django_filters.ChoiceFilter(choices=Opportunity.Stage.choices)
    open = django_filters.BooleanFilter(method="filter_open", label="Open only")
    account = django_filters.NumberFilter(field_name="account_id", widget=django_filters.widgets.forms.HiddenInput)

    class Meta:
        model = Opportunity
        fields = ["q", "owner", "stage", "open", "account"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        lookup = Q(stage__in=Opportunity.OPEN_STAGES)
        return queryset.filter(lookup) if value else queryset.exclude(lookup)


class ContractFilter(SearchFilterSet):
    search_fields = ("number", "account__name")
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    status = django_filters.ChoiceFilter(choices=Contract.Status.choices)
    ends_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte", label="Ends by")
    account = django_filters.NumberFilter(field_name="account_id", widget=django_filters.widgets.forms.HiddenInput)

    class Meta:
        model = Contract
        fields = ["q", "owner", "status", "ends_before", "account"]


class ActivityFilter(SearchFilterSet):
    search_fields = ("subject",)
    owner = django_filters.ModelChoiceFilter(queryset=_staff(), label="Owner")
    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices)
    done = django_filters.BooleanFilter(label="Done")

    class Meta:
        model = Activity
        fields = ["q", "owner", "kind", "done"]
