"""The CSV export hook: the custom field columns any export of a record type appends.

An export (a list's "Export CSV", a report) calls ``csv_columns(model_label)`` once and, per
record, each column's ``value(record)``: headers are the fields' keys (stable, as in the API and
the import mapping), values as people read them (choice labels, yes/no, ISO dates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from customfields.models import CustomField
from customfields.selectors import fields_for


@dataclass(frozen=True)
class Column:
    header: str
    label: str
    value: Callable[[Any], str]


def _reader(field: CustomField) -> Callable[[Any], str]:
    def value(record: Any) -> str:
        raw = (record.custom_fields or {}).get(field.key)
        if field.type == CustomField.Type.USER:
            return "" if raw is None else str(raw)
        if field.type == CustomField.Type.MULTI_CHOICE and isinstance(raw, list):
            labels = field.choice_labels()
            return "; ".join(labels.get(str(v), str(v)) for v in raw)
        return field.display(raw)

    return value


def csv_columns(model_label: str) -> list[Column]:
    return [Column(header=f.key, label=f.label, value=_reader(f)) for f in fields_for(model_label)]
