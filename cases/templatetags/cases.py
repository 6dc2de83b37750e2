from __future__ import annotations

from typing import Any

from django import template

from cases.models import Case
from cases.selectors import cases_for_staff

register = template.Library()

SHOWN = 5


@register.simple_tag(takes_context=True)
def account_cases(context: dict[str, Any], account: Any) -> dict[str, Any]:
    """The account's open cases for its 360° page (two queries, whatever the account's size)."""
    request = context["request"]
    qs = cases_for_staff(user=request.user).filter(account=account, status__in=Case.OPEN_STATUSES)
    items = list(qs.select_related("assignee").order_by("-created_at", "-id")[:SHOWN])
    count = qs.order_by()[:1000].count()
    return {"items": items, "count": count}
