"""Reading rules for the pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from workflows.events import EVENTS
from workflows.models import Rule, RuleRun, Trigger


def rule_list() -> QuerySet[Rule]:
    """Every rule in running order. Who may see them is decided before (``can_manage_workflows``)."""
    return Rule.objects.select_related("owner").order_by("position", "id")


def rule_runs(rule: Rule) -> QuerySet[RuleRun]:
    return RuleRun.objects.filter(rule=rule).order_by("-created_at", "-id")


def trigger_words(rule: Rule) -> str:
    kind = rule.get_record_type_display().lower()
    if rule.trigger == Trigger.EVENT:
        return EVENTS[rule.event].label if rule.event in EVENTS else "A product event"
    if rule.trigger == Trigger.TIME:
        hours = abs(rule.time_offset_hours)
        amount = f"{hours // 24} days" if hours and hours % 24 == 0 else f"{hours} hours"
        side = "after" if rule.time_offset_hours >= 0 else "before"
        return f"{amount} {side} the {kind}'s {rule.time_field.replace('_', ' ')}"
    what = {
        "created": f"A {kind} is created",
        "changed": f"A {kind} changes",
        "saved": f"A {kind} is created or changes",
    }[rule.trigger]
    parts = []
    for cond in rule.change_conditions or []:
        text = f"{cond.get('field', '').replace('_', ' ')} changes"
        if cond.get("from"):
            text += f" from “{cond['from']}”"
        if cond.get("to"):
            text += f" to “{cond['to']}”"
        parts.append(text)
    return what + (": " + ", ".join(parts) if parts else "")
