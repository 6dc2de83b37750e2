"""Writing rules and email templates: one path for the builder UI and the API, audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max

from iam.audit import audit_record
from iam.permissions import can_manage_workflows
from workflows import actions as action_specs
from workflows import conditions as condition_specs
from workflows.events import EVENTS
from workflows.models import EmailTemplate, Rule, Trigger
from workflows.triggers import forget_index

if TYPE_CHECKING:
    from iam.models import User

EDITABLE = (
    "name",
    "description",
    "record_type",
    "trigger",
    "change_conditions",
    "event",
    "time_field",
    "time_offset_hours",
    "conditions",
    "actions",
    "max_depth",
)


def _require(actor: User) -> None:
    if not can_manage_workflows(actor):
        raise PermissionDenied("Only sales managers and operations manage workflow rules.")


def rule_clean(rule: Rule) -> None:
    """Check the whole rule: trigger, conditions and actions for its record type."""
    errors: dict[str, list[str]] = {}

    def check(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)

    if not (rule.name or "").strip():
        errors["name"] = ["Give the rule a name."]
    if rule.trigger == Trigger.EVENT:
        if rule.event not in EVENTS:
            errors["event"] = ["Choose the event."]
        else:
            rule.record_type = EVENTS[rule.event].record_type
    if rule.record_type not in condition_specs.OWN_FIELDS:
        errors["record_type"] = ["Choose the record type."]
        raise ValidationError(errors)
    if rule.trigger == Trigger.TIME:
        if rule.time_field not in condition_specs.TIME_FIELDS[rule.record_type]:
            allowed = ", ".join(condition_specs.TIME_FIELDS[rule.record_type])
            errors["time_field"] = [f"Choose the date to count from ({allowed})."]
        if abs(rule.time_offset_hours or 0) > 24 * 366:
            errors["time_offset_hours"] = ["At most a year before or after."]
    if rule.trigger in (Trigger.CHANGED, Trigger.SAVED):
        if not isinstance(rule.change_conditions, list):
            errors["change_conditions"] = ["A list of {field, to, from}."]
        else:
            fields = condition_specs.fields_for(rule.record_type)
            for cond in rule.change_conditions:
                if not isinstance(cond, dict) or cond.get("field") not in fields:
                    errors.setdefault("change_conditions", []).append(
                        f"“{cond.get('field') if isinstance(cond, dict) else cond}” is not a field of this record type."
                    )
    else:
        rule.change_conditions = []
    check("conditions", lambda: condition_specs.validate(rule.record_type, rule.conditions))
    check("actions", lambda: action_specs.validate(rule.record_type, rule.actions))
    if not 0 <= (rule.max_depth or 0) <= 5:
        errors["max_depth"] = ["Between 0 and 5."]
    if errors:
        raise ValidationError(errors)


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in EDITABLE} | {"enabled": rule.enabled, "position": rule.position}


def rule_create(*, actor: User, rule: Rule) -> Rule:
    _require(actor)
    rule.owner = actor
    rule_clean(rule)
    with transaction.atomic():
        if not rule.position:
            rule.position = (Rule.objects.aggregate(m=Max("position"))["m"] or 0) + 10
        rule.save()
        audit_record(actor=actor, action="workflows.rule.created", target=rule, data=_snapshot(rule))
        forget_index()
    return rule


def rule_update(*, actor: User, rule: Rule, changes: dict[str, Any]) -> Rule:
    """Change what the rule does; each change is a new version, with its before and after audited."""
    _require(actor)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        before = _snapshot(rule)
        for name, value in changes.items():
            setattr(rule, name, value)
        rule_clean(rule)
        after = _snapshot(rule)
        diff = {k: {"old": before[k], "new": after[k]} for k in after if before[k] != after[k]}
        if not diff:
            return rule
        rule.version = F("version") + 1
        rule.save()
        rule.refresh_from_db()
        audit_record(
            actor=actor, action="workflows.rule.changed", target=rule, data={"version": rule.version, "changes": diff}
        )
        forget_index()
    return rule


def rule_set_enabled(*, actor: User, rule: Rule, enabled: bool) -> Rule:
    _require(actor)
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        if rule.enabled == enabled:
            return rule
        rule.enabled = enabled
        if enabled and rule.trigger == Trigger.TIME:
            # Time rules look forward from when they are switched on, never back over the past.
            from django.utils import timezone

            rule.time_scanned_until = timezone.now()
        rule.save(update_fields=["enabled", "time_scanned_until", "updated_at"])
        audit_record(actor=actor, action=f"workflows.rule.{'enabled' if enabled else 'disabled'}", target=rule)
        forget_index()
    return rule


def rule_delete(*, actor: User, rule: Rule) -> None:
    _require(actor)
    with transaction.atomic():
        audit_record(actor=actor, action="workflows.rule.deleted", target=rule, data=_snapshot(rule))
        rule.delete()
        forget_index()


def rule_move(*, actor: User, rule: Rule, direction: str) -> None:
    """Swap the rule with its neighbour above (``up``) or below (``down``) in the running order."""
    _require(actor)
    with transaction.atomic():
        ordered = list(Rule.objects.select_for_update().order_by("position", "id"))
        ids = [r.pk for r in ordered]
        i = ids.index(rule.pk)
        j = i - 1 if direction == "up" else i + 1
        if not 0 <= j < len(ordered):
            return
        ordered[i], ordered[j] = ordered[j], ordered[i]
        for n, r in enumerate(ordered, start=1):
            if r.position != n * 10:
                Rule.objects.filter(pk=r.pk).update(position=n * 10)
        audit_record(
            actor=actor,
            action="workflows.rule.changed",
            target=rule,
            data={"moved": direction, "position": (j + 1) * 10},
        )


def email_template_save(*, actor: User, template: EmailTemplate) -> EmailTemplate:
    _require(actor)
    created = template.pk is None
    if created:
        template.created_by = actor
    template.full_clean()
    with transaction.atomic():
        template.save()
        audit_record(
            actor=actor,
            action=f"workflows.email_template.{'created' if created else 'changed'}",
            target=template,
            data={"name": template.name, "subject": template.subject},
        )
    return template
