"""Custom fields on list pages: filters, sorts (served by ``customfields.indexes``) and columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import django_filters
from django.db.models import Q, QuerySet

from core.listing import Sort
from customfields.indexes import INDEXABLE, NO_VALUE_NUMBER, NUMERIC, db_sort_value, sort_alias, sort_expression
from customfields.models import CustomField
from customfields.selectors import fields_for

if TYPE_CHECKING:
    from django.http import QueryDict

T = CustomField.Type


def _filterable(model_label: str) -> list[CustomField]:
    return [f for f in fields_for(model_label) if f.filterable and f.type in INDEXABLE]


def custom_sorts(model_label: str) -> tuple[Sort, ...]:
    """Ascending and descending sort by each filterable custom field (``?sort=cf_<key>`` / ``-cf_<key>``)."""
    sorts: list[Sort] = []
    for f in _filterable(model_label):
        expression = sort_expression(f)
        name = f"cfsort_{f.key}"
        low, high = ("lowest", "highest") if f.type in NUMERIC else ("A–Z", "Z–A")
        if f.type == T.DATE:
            low, high = "earliest", "latest"
        sorts.append(Sort(f"cf_{f.key}", f"{f.label}, {low}", name, expression=expression, cursor=_cursor(f)))
        sorts.append(
            Sort(f"-cf_{f.key}", f"{f.label}, {high}", name, descending=True, expression=expression, cursor=_cursor(f))
        )
    return tuple(sorts)


def _cursor(f: CustomField):
    return lambda value: db_sort_value(f, value)


def _method(f: CustomField, lookup: str):
    alias = sort_alias(f)

    def apply(queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value in (None, "", []):
            return queryset
        if f.type == T.USER:
            value = str(value.pk)
        elif f.type == T.DATE:
            value = value.isoformat()
        elif f.type in NUMERIC:
            value = float(value)
        condition = Q(**{f"{alias}__{lookup}": value})
        if lookup in ("lte", "lt"):  # records without a value sort lowest: not "up to" anything
            condition &= Q(**{f"{alias}__gt": NO_VALUE_NUMBER if f.type in NUMERIC else ""})
        return queryset.filter(condition)

    return apply


def add_custom_filters(filterset: django_filters.FilterSet, model_label: str) -> list[str]:
    """Add a filter per filterable custom field to a bound ``filterset``; the names added, in order.

    Call before ``filterset.form`` or ``.qs`` is first read. The queryset gets each field's sort
    expression as an alias, so a filter compares exactly what the field's index holds.
    """
    names: list[str] = []
    fields = _filterable(model_label)
    if not fields:
        return names
    filterset.queryset = filterset.queryset.alias(**{sort_alias(f): sort_expression(f) for f in fields})
    for f in fields:
        base = f"cf_{f.key}"
        if f.type in (T.CHOICE,):
            filterset.filters[base] = django_filters.ChoiceFilter(
                label=f.label, choices=[(c["value"], c["label"]) for c in f.choices], method=_method(f, "exact")
            )
            names.append(base)
        elif f.type == T.BOOLEAN:
            filterset.filters[base] = django_filters.ChoiceFilter(
                label=f.label, choices=[("true", "Yes"), ("false", "No")], method=_method(f, "exact")
            )
            names.append(base)
        elif f.type == T.DATE:
            filterset.filters[f"{base}_from"] = django_filters.DateFilter(
                label=f"{f.label} from", method=_method(f, "gte")
            )
            filterset.filters[f"{base}_to"] = django_filters.DateFilter(label=f"{f.label} to", method=_method(f, "lte"))
            names += [f"{base}_from", f"{base}_to"]
        elif f.type in NUMERIC:
            filterset.filters[f"{base}_min"] = django_filters.NumberFilter(
                label=f"{f.label} from", method=_method(f, "gte")
            )
            filterset.filters[f"{base}_max"] = django_filters.NumberFilter(
                label=f"{f.label} to", method=_method(f, "lte")
            )
            names += [f"{base}_min", f"{base}_max"]
        elif f.type == T.USER:
            from iam.models import User

            filterset.filters[base] = django_filters.ModelChoiceFilter(
                label=f.label,
                queryset=User.objects.staff().order_by("first_name", "last_name"),
                method=_method(f, "exact"),
            )
            names.append(base)
        else:
            filterset.filters[base] = django_filters.CharFilter(label=f.label, method=_method(f, "exact"))
            names.append(base)
    # The filter set may have built its (not yet validated) form already: give it the new fields.
    form = getattr(filterset, "_form", None)
    if form is not None:
        for name in names:
            form.fields[name] = filterset.filters[name].field
    return names


@dataclass
class Columns:
    """Which custom fields a list shows: ``?cols=1&col=<key>…`` when the person chose, else the defaults."""

    shown: list[CustomField]
    available: list[tuple[CustomField, bool]] = field(default_factory=list)


def custom_columns(model_label: str, params: QueryDict) -> Columns:
    defs = fields_for(model_label)
    if params.get("cols"):
        wanted = set(params.getlist("col"))
        shown = [f for f in defs if f.key in wanted]
    else:
        shown = [f for f in defs if f.show_in_list]
    keys = {f.key for f in shown}
    return Columns(shown=shown, available=[(f, f.key in keys) for f in defs])
