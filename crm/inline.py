"""Inline editing of a record's common fields (owner, stage, status, close date, amount, phone, job title).

The same form as the record's Edit page validates the change, and the same service saves it
(history, audit, webhooks): the form is bound to the record's stored values with only the
edited field replaced, so every rule of the form (and the model's, in the service) applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import QueryDict

from crm import selectors
from crm.forms import ContactForm, ContractForm, LeadForm, OpportunityForm, RecordForm
from crm.models import Opportunity

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from iam.models import User


@dataclass(frozen=True)
class InlineSpec:
    selector: Callable[..., QuerySet[Any]]
    form_class: type[RecordForm]
    fields: tuple[str, ...]


INLINE: dict[str, InlineSpec] = {
    "contact": InlineSpec(selectors.contact_list, ContactForm, ("owner", "phone", "job_title")),
    "lead": InlineSpec(selectors.lead_list, LeadForm, ("owner", "status", "phone", "job_title")),
    "opportunity": InlineSpec(
        selectors.opportunity_list, OpportunityForm, ("owner", "stage", "expected_close_date", "amount")
    ),
    "contract": InlineSpec(selectors.contract_list, ContractForm, ("owner", "status")),
}


def _as_data(form: forms.BaseForm) -> QueryDict:
    """What the Edit page would post for the record as it is stored."""
    data = QueryDict(mutable=True)
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is None:
            data[name] = ""
        elif isinstance(value, dt.date):
            data[name] = value.isoformat()
        elif isinstance(value, list | tuple):
            data.setlist(name, [str(v) for v in value])
        else:
            data[name] = str(value)
    return data


def inline_form(*, user: User, spec: InlineSpec, record: Any, field: str, value: str | None) -> RecordForm:
    """The record's form, bound to its stored values with ``field`` set to ``value`` (unbound if None)."""
    form = spec.form_class(instance=record, user=user)
    if value is None:
        return form
    data = _as_data(form)
    data[field] = value
    if field == "stage" and value in Opportunity.DEFAULT_PROBABILITY:
        # As on the board: a deal moved to a stage takes that stage's probability.
        data["probability"] = str(Opportunity.DEFAULT_PROBABILITY[value])
    return spec.form_class(data, instance=record, user=user)


def display(record: Any, field: str) -> str:
    value = getattr(record, field)
    if value in (None, ""):
        return "—"
    if hasattr(record, f"get_{field}_display"):
        return str(getattr(record, f"get_{field}_display")())
    if isinstance(value, dt.date):
        return f"{value:%-d %b %Y}"
    if isinstance(value, Decimal):
        return f"{value:,.0f} {getattr(record, 'currency', '')}".strip()
    if field == "phone":
        return str(value.as_international)
    return str(value)
