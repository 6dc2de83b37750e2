"""The ``data`` of each event: the record's id and the fields an integrator syncs on.

One builder per model, keyed by its ``app_label.model_name``; a record of a model without a
builder is described by its id, its account and the audit event's own data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import models


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_data(account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": account.name,
        "business_id": account.business_id,
        "country": str(account.country or ""),
        "website": account.website,
        "tier": account.tier,
        "owner_id": account.owner_id,
        "updated_at": _iso(account.updated_at),
        "custom_fields": dict(account.custom_fields or {}),
    }


def contact_data(contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "account_id": contact.account_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": str(contact.phone or ""),
        "job_title": contact.job_title,
        "owner_id": contact.owner_id,
        "last_verified_at": _iso(contact.last_verified_at),
        "updated_at": _iso(contact.updated_at),
        "custom_fields": dict(contact.custom_fields or {}),
    }


def lead_data(lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "company_name": lead.company_name,
        "status": lead.status,
        "source": lead.source,
        "score": lead.score,
        "owner_id": lead.owner_id,
        "converted_account_id": lead.converted_account_id,
        "converted_contact_id": lead.converted_contact_id,
        "converted_opportunity_id": lead.converted_opportunity_id,
        "updated_at": _iso(lead.updated_at),
        "custom_fields": dict(lead.custom_fields or {}),
    }


def contract_data(contract) -> dict[str, Any]:
    return {
        "id": contract.pk,
        "account_id": contract.account_id,
        "number": contract.number,
        "status": contract.status,
        "start_date": _iso(contract.start_date),
        "end_date": _iso(contract.end_date),
        "updated_at": _iso(contract.updated_at),
        "custom_fields": dict(contract.custom_fields or {}),
    }


def opportunity_data(opportunity) -> dict[str, Any]:
    return {
        "id": opportunity.pk,
        "account_id": opportunity.account_id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "probability": opportunity.probability,
        "expected_close_date": _iso(opportunity.expected_close_date),
        "owner_id": opportunity.owner_id,
        "updated_at": _iso(opportunity.updated_at),
    }


def membership_data(membership) -> dict[str, Any]:
    return {
        "id": membership.pk,
        "account_id": membership.account_id,
        "user_id": membership.user_id,
        "email": membership.user.email,
        "contact_id": membership.contact_id,
        "status": membership.status,
        "suspended_by": membership.suspended_by,
        "roles": sorted(role.key for role in membership.roles.all()),
        "updated_at": _iso(membership.updated_at),
    }


def invitation_data(invitation) -> dict[str, Any]:
    # Never the token (only its hash is stored, and that stays here too).
    return {
        "id": invitation.pk,
        "account_id": invitation.account_id,
        "lead_id": invitation.lead_id,
        "contact_id": invitation.contact_id,
        "email": invitation.email,
        "status": invitation.status,
        "expires_at": _iso(invitation.expires_at),
        "sent_at": _iso(invitation.sent_at),
        "accepted_at": _iso(invitation.accepted_at),
        "membership_id": invitation.membership_id,
        "invited_by_id": invitation.invited_by_id,
    }


def registration_data(registration) -> dict[str, Any]:
    return {
        "id": registration.pk,
        "status": registration.status,
        "company_name": registration.company_name,
        "business_id": registration.business_id,
        "first_name": registration.first_name,
        "last_name": registration.last_name,
        "email": registration.email,
        "matched_account_id": registration.matched_account_id,
        "membership_id": registration.membership_id,
        "lead_id": registration.lead_id,
        "decision": registration.decision,
        "submitted_at": _iso(registration.submitted_at),
        "decided_at": _iso(registration.decided_at),
    }


Builder = Callable[[Any], dict[str, Any]]


# label -> (builder, select_related, prefetch_related) for loading many targets in two queries.
def case_data(case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "account_id": case.account_id,
        "subject": case.subject,
        "status": case.status,
        "severity": case.severity,
        "category": case.category,
        "channel": case.channel,
        "assignee_id": case.assignee_id,
        "sla_state": case.sla_state,
        "merged_into_id": case.merged_into_id,
        "resolution_due_at": _iso(case.resolution_due_at),
        "updated_at": _iso(case.updated_at),
    }


BUILDERS: dict[str, tuple[Builder, tuple[str, ...], tuple[str, ...]]] = {
    "crm.account": (account_data, (), ()),
    "crm.contact": (contact_data, (), ()),
    "crm.lead": (lead_data, (), ()),
    "crm.contract": (contract_data, (), ()),
    "crm.opportunity": (opportunity_data, (), ()),
    "iam.membership": (membership_data, ("user",), ("roles",)),
    "invitations.invitation": (invitation_data, (), ()),
    "registrations.registrationrequest": (registration_data, (), ()),
    "cases.case": (case_data, (), ()),
}


def record_data(record: models.Model) -> dict[str, Any]:
    builder, _related, _prefetch = BUILDERS[record._meta.label_lower]
    return builder(record)


def records_fresh(label: str, ids: list[Any]) -> dict[str, models.Model]:
    """The records of ``label`` with these ids as they are now in this transaction, by str(id).

    Set-based jobs change rows with ``UPDATE``, so the instances they hold are out of date.
    """
    from django.apps import apps

    _builder, related, prefetch = BUILDERS[label]
    model = apps.get_model(label)
    rows = model._default_manager.filter(pk__in=ids).select_related(*related).prefetch_related(*prefetch)
    return {str(row.pk): row for row in rows}


def generic_data(*, target_id: str, account_id: int | None, extra: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": int(target_id) if target_id.isdecimal() else target_id, "account_id": account_id}
    for key, value in extra.items():
        data.setdefault(key, value)
    return data
