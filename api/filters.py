"""Query filters per resource (django-filter): owner, status, dates, account, ``updated_since`` for sync.

Search reuses the CRM lists' own search (``crm.filters``), so the API finds what the UI finds,
contacts by name, email or company through the trigram indexes.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

from crm import filters as crm_filters
from crm.decay import Freshness
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import AuditEvent, Membership
from invitations.models import Invitation, InvitationBatch
from registrations.models import RegistrationRequest
from webhooks.models import Endpoint


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601 with any UTC offset Python accepts, compared in UTC.

    PostgreSQL refuses offsets beyond ±15:59 and years before 1 in UTC (``-23:41``, or
    ``0001-01-01T00:00+01:00``), which used to be a 500: they are converted, or refused as bad input.
    """

    default_error_messages = {"invalid": "Enter a date and time in ISO 8601, e.g. 2026-01-31T09:00:00Z."}

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """``true`` or ``false`` (``1``/``0``); anything else is refused instead of meaning "no filter"."""

    widget = forms.TextInput  # the select widgets turn what they do not know into None

    def to_python(self, value):
        if value is None:
            return None
        if str(value).lower() not in {"true", "false", "1", "0"}:
            raise ValidationError("Send true or false.", code="invalid")
        return super().to_python(str(value).lower())


@extend_schema_field(OpenApiTypes.BOOL)  # a method= filter would be documented as a string
class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number, documented as an integer (a NumberFilter is any decimal)."""

    field_class = forms.IntegerField


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request sends none of the view's filters (a plain page).

    Building and validating a FilterSet's form costs more than the rest of an unfiltered page.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        names = filterset_class.base_filters.keys()
        if not any(name in request.query_params for name in names):
            return queryset
        # An empty value is no filter for a form, but an API client that sent ``?status=`` asked
        # for something: say what was wrong instead of answering the unfiltered list. Text
        # filters are the exception: an empty text is a text.
        empty = [
            name
            for name, query_filter in filterset_class.base_filters.items()
            if request.query_params.get(name) == "" and not isinstance(query_filter, django_filters.CharFilter)
        ]
        if empty:
            raise exceptions.ValidationError({name: ["Send a value, or leave the parameter out."] for name in empty})
        return super().filter_queryset(request, queryset, view)


class ApiFilterSet(django_filters.FilterSet):
    search_fields: tuple[str, ...] = ()

    owner = IdFilter(field_name="owner_id", help_text="Staff user id of the owner.")
    updated_since = IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only records changed at or after this time (ISO 8601): for incremental sync, "
        "with ordering=updated_at.",
    )
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", help_text="Text search.")

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return crm_filters.SearchFilterSet.search(self, queryset, name, value)


class AccountFilter(ApiFilterSet):
    search_fields = ("name", "business_id", "website")
    tier = django_filters.ChoiceFilter(choices=Account.Tier.choices)
    industry = django_filters.ChoiceFilter(choices=Account.Industry.choices)
    business_id = django_filters.CharFilter()
    customer = BooleanFilter(method="filter_customer", help_text="Has an active contract.")

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_customer(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return crm_filters.AccountFilter.filter_customer(self, queryset, name, value)


class ContactFilter(ApiFilterSet):
    account = IdFilter(field_name="account_id")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    verified = BooleanFilter(
        field_name="last_verified_at", lookup_expr="isnull", exclude=True, help_text="Ever verified."
    )
    freshness = django_filters.ChoiceFilter(
        choices=Freshness.choices, method="filter_freshness", help_text="How current the data is."
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Name (“Anna Smith” too), email or company.")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_freshness(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.freshness_in(value)  # type: ignore[attr-defined]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return crm_filters.ContactFilter.search(self, queryset, name, value)


class LeadFilter(ApiFilterSet):
    search_fields = ("first_name", "last_name", "email", "company_name")
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.ChoiceFilter(choices=Lead.Source.choices)

    class Meta:
        model = Lead
        fields: list[str] = []


class OpportunityFilter(ApiFilterSet):
    search_fields = ("name",)
    account = IdFilter(field_name="account_id")
    stage = django_filters.ChoiceFilter(choices=Opportunity.Stage.choices)
    close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")

    class Meta:
        model = Opportunity
        fields: list[str] = []


class ContractFilter(ApiFilterSet):
    search_fields = ("number",)
    account = IdFilter(field_name="account_id")
    status = django_filters.ChoiceFilter(choices=Contract.Status.choices)
    ends_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte")
    ends_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Contract
        fields: list[str] = []


class ActivityFilter(ApiFilterSet):
    search_fields = ("subject",)
    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices)
    done = BooleanFilter()
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    lead = IdFilter(field_name="lead_id")
    opportunity = IdFilter(field_name="opportunity_id")
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields: list[str] = []


class MembershipFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    status = django_filters.ChoiceFilter(choices=Membership.Status.choices)
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="iexact")
    updated_since = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Membership
        fields: list[str] = []


class AuditEventFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    action = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="A dotted prefix: iam.membership"
    )
    actor = IdFilter(field_name="actor_id")
    target_type = django_filters.CharFilter()
    target_id = django_filters.CharFilter()
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class InvitationFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    lead = IdFilter(field_name="lead_id")
    contact = IdFilter(field_name="contact_id")
    batch = IdFilter(field_name="batch_id")
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices)
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    updated_since = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Invitation
        fields: list[str] = []


class InvitationBatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvitationBatch.Status.choices)
    source = django_filters.ChoiceFilter(choices=InvitationBatch.Source.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = InvitationBatch
        fields: list[str] = []


class RegistrationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RegistrationRequest.Status.choices)
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    business_id = django_filters.CharFilter()
    updated_since = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    submitted_after = IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")

    class Meta:
        model = RegistrationRequest
        fields: list[str] = []


class WebhookEndpointFilter(django_filters.FilterSet):
    is_active = BooleanFilter()

    class Meta:
        model = Endpoint
        fields: list[str] = []


class AccessReviewFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    opened_after = IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    completed = BooleanFilter(
        field_name="completed_at", lookup_expr="isnull", exclude=True, help_text="Completed (or still open)."
    )

    class Meta:
        from reviews.models import AccessReview

        model = AccessReview
        fields: list[str] = []
