from __future__ import annotations

from typing import Any

from django import template

from iam.permissions import is_crm_user
from notifications.selectors import UNREAD_COUNT_LIMIT, unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    """The top bar's bell: one bounded count query; the dropdown loads when opened."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not is_crm_user(user):
        return {"show": False}
    count = unread_count(user)
    return {
        "show": True,
        "count": count,
        "badge": f"{UNREAD_COUNT_LIMIT - 1}+" if count >= UNREAD_COUNT_LIMIT else str(count),
    }
