"""Template helpers of the sales workspace (issue 15)."""

from __future__ import annotations

import functools

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def export_url(resource: str) -> str:
    """The export page of a list (the import/export capability), or "" while it is not installed."""
    for args in ([resource], []):
        try:
            url = reverse("exports:export", args=args)
        except NoReverseMatch:
            continue
        return url if args else f"{url}?resource={resource}"
    return ""


@functools.cache
def _inline_prefix() -> str:
    # One reverse() per process: the button is rendered on every row of a list.
    return reverse("crm:inline_edit", args=["r", 1, "f"]).removesuffix("r/1/f/")


@register.simple_tag
def inline_edit_button(record_type: str, pk: int, field: str, label: str) -> str:
    """The pencil that turns a shown value into its inline editor (``crm.inline``)."""
    url = f"{_inline_prefix()}{record_type}/{int(pk)}/{field}/?edit=1"
    return format_html(
        '<button class="btn btn-link btn-sm inline-edit-btn" type="button" hx-get="{}" '
        'hx-target="closest .inline-field" hx-swap="outerHTML" aria-label="Edit {}">'
        '<i class="bi bi-pencil"></i></button>',
        url,
        label,
    )
