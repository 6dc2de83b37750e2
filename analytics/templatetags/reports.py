"""How a report's figure reads: one filter, because an ``{% include %}`` per table cell costs more than the query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape, format_html
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


@register.filter
def report_row(row: list[Any]) -> str:
    """A table row's cells (``<td>`` … ``</td>``) in one call: a page has hundreds of cells, and
    rendering each through template tags cost more than the report's queries."""
    parts = []
    for index, cell in enumerate(row):
        if index == 0:
            css = ""
        elif cell.kind != "text":
            css = ' class="text-end text-nowrap"'
        else:
            css = ' class="text-end"'
        text = conditional_escape(report_value(cell.value, cell.kind))
        if cell.href and cell.value:
            text = format_html('<a href="{}">{}</a>', cell.href, text)
        parts.append(f"<td{css}>{text}</td>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
