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


TIMELINE_CASES = 50


@register.simple_tag(takes_context=True)
def timeline_entries(context: dict[str, Any], page: Any, target_type: str = "", target: Any = None) -> list:
    """A timeline page's activities with the cases raised in the same stretch of time, newest first.

    The page's activities span from its last entry's time (when more follow) to its first's (when
    newer ones came before): the cases of the account (or contact) raised within that span join
    them, in one query of at most ``TIMELINE_CASES``, so every case appears on exactly one page.
    """
    entries = [("activity", activity.occurred_at, activity) for activity in page.items]
    if target is None or target_type not in ("account", "contact") or (not page.items and page.prev_cursor):
        return [(kind, item) for kind, _at, item in entries]
    request = context["request"]
    qs = cases_for_staff(user=request.user).filter(**{target_type: target}, merged_into__isnull=True)
    if page.prev_cursor and page.items:
        qs = qs.filter(created_at__lte=page.items[0].occurred_at)
    if page.next_cursor and page.items:
        qs = qs.filter(created_at__gt=page.items[-1].occurred_at)
    cases = list(qs.select_related("assignee").order_by("-created_at", "-id")[:TIMELINE_CASES])
    merged = entries + [("case", case.created_at, case) for case in cases]
    merged.sort(key=lambda entry: entry[1], reverse=True)
    return [(kind, item) for kind, _at, item in merged]


@register.filter
def business_minutes(minutes: int) -> str:
    """480 → "8 h", 90 → "1 h 30 min", 45 → "45 min"."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
