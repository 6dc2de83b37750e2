"""How a report's figure reads: one filter, because an ``{% include %}`` per table cell costs more than the query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def report_value(value: Any, kind: str) -> str:
    if value is None:
        return mark_safe('<span class="text-body-secondary">—</span>')
    if kind == "money":
        return floatformat(value, "0g")
    if kind == "percent":
        return f"{floatformat(value, 1)} %"
    if kind == "days":
        return f"{floatformat(value, '-1')} d"
    if kind == "number":
        return floatformat(value, "-1")
    if kind == "int" and isinstance(value, int | Decimal):
        return intcomma(value)
    return str(value)
