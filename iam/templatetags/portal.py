"""What the portal's top bar needs on every page, allauth's pages included."""

from __future__ import annotations

from typing import Any

from django import template

from iam.models import Membership

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_memberships(context: dict[str, Any]) -> list[Membership]:
    """The signed-in external user's usable memberships, for the organisation switcher."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return []
    return list(Membership.objects.usable().filter(user=user).select_related("account").order_by("account__name"))
