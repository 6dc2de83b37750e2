"""Custom field values on record pages and list rows."""

from __future__ import annotations

from typing import Any

from django import template

from customfields.models import CustomField
from customfields.selectors import fields_for

register = template.Library()


def display_value(field: CustomField, value: Any) -> str:
    if field.type == CustomField.Type.USER and value is not None:
        from iam.models import User

        user = User.objects.filter(pk=value).first()
        return str(user.get_full_name() or user.email) if user is not None else f"#{value}"
    return field.display(value)


@register.inclusion_tag("customfields/_detail_rows.html")
def custom_field_rows(record: Any, fields: list[CustomField] | None = None) -> dict[str, Any]:
    """``<dt>``/``<dd>`` pairs of the record's custom fields (all active ones, or ``fields``)."""
    defs = fields if fields is not None else fields_for(record._meta.label_lower)
    values = record.custom_fields or {}
    rows = [(f, display_value(f, values.get(f.key))) for f in defs]
    return {"rows": rows}


@register.simple_tag
def custom_field_value(record: Any, field: CustomField) -> str:
    return field.display((record.custom_fields or {}).get(field.key))


@register.inclusion_tag("customfields/_detail_card.html")
def custom_field_card(record: Any) -> dict[str, Any]:
    """A "Details" card of the record's custom fields; nothing when its type has none."""
    return custom_field_rows(record)


@register.filter
def get_form_field(form: Any, name: str) -> Any:
    """``form|get_form_field:"cf_tier"``: a bound field by a name held in a variable."""
    return form[name]
