"""How a stored change reads on the History tab: field labels, choice labels, local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import formats, timezone

from history.models import RecordChange

EMPTY = "—"


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


def _display(model_field: models.Field[Any, Any] | None, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, dict) and "label" in value:  # a reference
        return value["label"] or f"#{value.get('id')}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.DateTimeField):
        try:
            moment = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        return formats.date_format(timezone.localtime(moment) if timezone.is_aware(moment) else moment, "j M Y, H:i")
    if isinstance(model_field, models.DateField):
        try:
            return formats.date_format(dt.date.fromisoformat(value), "j M Y")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _custom_fields(model: type[models.Model], names: list[str]) -> dict[str, Any]:
    """Definitions of the custom fields among ``names`` ("custom_fields.<key>"), archived ones too."""
    if not any(name.startswith("custom_fields.") for name in names):
        return {}
    from customfields.selectors import fields_for

    defs = fields_for(model._meta.label_lower, include_archived=True)
    return {f"custom_fields.{f.key}": f for f in defs}


def field_changes(change: RecordChange, model: type[models.Model]) -> list[FieldChange]:
    """The change's fields in the order the record's form shows them, with readable values.

    A field the model no longer has (renamed or dropped since) still shows, by its stored name.
    """
    fields = {f.name: f for f in model._meta.concrete_fields}
    order = {name: i for i, name in enumerate(fields)}
    names = sorted(change.changes, key=lambda name: (order.get(name, len(order)), name))
    rows = []
    custom = _custom_fields(model, names)
    for name in names:
        model_field = fields.get(name)
        label = str(model_field.verbose_name) if model_field is not None else name.replace("_", " ")
        value = change.changes[name] or {}
        if name in custom:
            definition = custom[name]
            rows.append(
                FieldChange(
                    label=definition.label,
                    old=definition.display(value.get("old")) or EMPTY,
                    new=definition.display(value.get("new")) or EMPTY,
                )
            )
            continue
        rows.append(
            FieldChange(
                label=label[:1].upper() + label[1:],
                old=_display(model_field, value.get("old")),
                new=_display(model_field, value.get("new")),
            )
        )
    return rows
