"""What each list exports: its columns (header, the value's path) and whether it is personal data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from crm import selectors
from crm.filters import (
    AccountFilter,
    ActivityFilter,
    ContactFilter,
    ContractFilter,
    LeadFilter,
    OpportunityFilter,
    SearchFilterSet,
)

# Freshness is derived from last_verified_at when read (crm.decay), not stored: exports annotate it.
FRESHNESS = "freshness_state"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    path: str


@dataclass(frozen=True)
class ExportSpec:
    noun: str
    selector: Callable[..., QuerySet[Any]]
    filterset: type[SearchFilterSet]
    list_spec: str  # the name of the list's ListSpec in crm.views (its sorts)
    columns: tuple[Column, ...]
    personal_data: bool


def _owner() -> Column:
    return Column("owner", "Owner", "owner__email")


EXPORTS: dict[str, ExportSpec] = {
    "contacts": ExportSpec(
        "contact",
        selectors.contact_list,
        ContactFilter,
        "CONTACT_LIST",
        (
            Column("first_name", "First name", "first_name"),
            Column("last_name", "Last name", "last_name"),
            Column("account", "Account", "account__name"),
            Column("email", "Email", "email"),
            Column("phone", "Phone", "phone"),
            Column("job_title", "Job title", "job_title"),
            _owner(),
            Column("last_verified_at", "Last verified", "last_verified_at"),
            Column("freshness", "Freshness", FRESHNESS),
            Column("id", "Clientele id", "id"),
        ),
        True,
    ),
    "accounts": ExportSpec(
        "account",
        selectors.account_list,
        AccountFilter,
        "ACCOUNT_LIST",
        (
            Column("name", "Name", "name"),
            Column("business_id", "Business id", "business_id"),
            Column("country", "Country", "country"),
            Column("website", "Website", "website"),
            Column("industry", "Industry", "industry"),
            Column("tier", "Tier", "tier"),
            Column("territory", "Territory", "territory"),
            _owner(),
            Column("id", "Clientele id", "id"),
        ),
        False,
    ),
    "leads": ExportSpec(
        "lead",
        selectors.lead_list,
        LeadFilter,
        "LEAD_LIST",
        (
            Column("first_name", "First name", "first_name"),
            Column("last_name", "Last name", "last_name"),
            Column("email", "Email", "email"),
            Column("phone", "Phone", "phone"),
            Column("company_name", "Company", "company_name"),
            Column("status", "Status", "status"),
            Column("source", "Source", "source"),
            Column("score", "Score", "score"),
            _owner(),
            Column("id", "Clientele id", "id"),
        ),
        True,
    ),
    "opportunities": ExportSpec(
        "opportunity",
        selectors.opportunity_list,
        OpportunityFilter,
        "OPPORTUNITY_LIST",
        (
            Column("name", "Name", "name"),
            Column("account", "Account", "account__name"),
            Column("stage", "Stage", "stage"),
            Column("amount", "Amount", "amount"),
            Column("currency", "Currency", "currency"),
            Column("expected_close_date", "Expected close", "expected_close_date"),
            Column("probability", "Probability %", "probability"),
            _owner(),
            Column("id", "Clientele id", "id"),
        ),
        False,
    ),
    "contracts": ExportSpec(
        "contract",
        selectors.contract_list,
        ContractFilter,
        "CONTRACT_LIST",
        (
            Column("number", "Number", "number"),
            Column("account", "Account", "account__name"),
            Column("status", "Status", "status"),
            Column("start_date", "Start", "start_date"),
            Column("end_date", "End", "end_date"),
            Column("value", "Value", "value"),
            Column("currency", "Currency", "currency"),
            _owner(),
            Column("id", "Clientele id", "id"),
        ),
        False,
    ),
    "activities": ExportSpec(
        "activity",
        selectors.activity_list,
        ActivityFilter,
        "ACTIVITY_LIST",
        (
            Column("kind", "Kind", "kind"),
            Column("subject", "Subject", "subject"),
            Column("occurred_at", "When", "occurred_at"),
            Column("due_at", "Due", "due_at"),
            Column("done", "Done", "done"),
            Column("account", "Account", "account__name"),
            _owner(),
            Column("id", "Clientele id", "id"),
        ),
        True,
    ),
}


CUSTOM_FIELD_RECORDS = {"account", "contact", "lead", "opportunity", "contract"}


def columns_with_custom_fields(spec: ExportSpec) -> tuple[Column, ...]:
    """The list's own columns, then one per active custom field of its record type (its label as
    the header, the stored value: a choice's value, as in the API and the import)."""
    if spec.noun not in CUSTOM_FIELD_RECORDS:
        return spec.columns
    from customfields.selectors import fields_for

    custom = tuple(
        Column(f"custom_fields.{f.key}", f.label, f"custom_fields__{f.key}") for f in fields_for(f"crm.{spec.noun}")
    )
    return spec.columns + custom
