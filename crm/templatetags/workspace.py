"""Template helpers of the sales workspace (issue 15)."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

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
