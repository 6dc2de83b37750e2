"""How a report's figure reads: one filter, because an ``{% include %}`` per table cell costs more than the query."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


def _grouped(value: int | Decimal) -> str:
    """An integral number with the active language's thousand separator."""
    text = f"{value:,}"
    separator = get_format("THOUSAND_SEPARATOR")
    return text if separator == "," else text.replace(",", separator)


@register.filter
def report_value(value: Any, kind: str) -> str:
    if value is None:
        return mark_safe('<span class="text-body-secondary">—</span>')
    if kind == "money" and isinstance(value, Decimal | int):
        # floatformat(value, "0g") to the letter, without its per-call locale machinery: a page
        # formats hundreds of amounts.
        rounded = Decimal(value).quantize(Decimal(1), ROUND_HALF_UP)
        return _grouped(rounded if rounded else Decimal(0))  # never "-0"
    if kind == "money":
        return floatformat(value, "0g")
    if kind == "percent":
        return f"{floatformat(value, 1)} %"
    if kind == "days":
        return f"{floatformat(value, '-1')} d"
    if kind == "number":
        return floatformat(value, "-1")
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return _grouped(value)
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
