"""Writes to the service desk's configuration: service levels, their holidays, case categories.

Operations change them from the setup pages and the admin alike, through these functions only;
each change is audited in its transaction. A changed calendar or target applies to clocks started
(or resumed) after it: due dates already set on open cases stay as they were promised.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from cases.models import Case, CaseCategory, Holiday, ServiceLevel
from iam.audit import audit_record
from iam.permissions import can_manage_service_levels

if TYPE_CHECKING:
    from iam.models import User

LEVEL_FIELDS = (
    "name",
    "contract",
    "tier",
    "is_default",
    "first_response_minutes",
    "resolution_minutes",
    "time_zone",
    "opens",
    "closes",
    "weekdays",
    "warn_percent",
    "includes",
)


def _check(actor: User | None) -> None:
    if not can_manage_service_levels(actor):
        raise PermissionDenied("Only operations change service levels and case categories.")


def _audit_value(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.time | dt.date):
        return value.isoformat()
    return value


def service_level_save(*, actor: User | None, level: ServiceLevel | None = None, **fields: Any) -> ServiceLevel:
    """Create or change a service level: one per contract, per tier, or the one default."""
    _check(actor)
    if set(fields) - set(LEVEL_FIELDS):
        raise ValidationError(f"Unknown service level fields: {', '.join(sorted(set(fields) - set(LEVEL_FIELDS)))}.")
    creating = level is None or level.pk is None
    level = level if level is not None else ServiceLevel()
    before = {name: _audit_value(getattr(level, name)) for name in LEVEL_FIELDS} if not creating else {}
    for name, value in fields.items():
        setattr(level, name, value)
    level.weekdays = "".join(sorted({ch for ch in level.weekdays if ch in "0123456"}))
    if not level.weekdays:
        raise ValidationError({"weekdays": "Choose at least one working day."})
    if level.contract_id is not None and (level.tier or level.is_default):
        raise ValidationError("A service level is for one contract, a tier, or the default; not several.")
    if level.tier and level.is_default:
        raise ValidationError("The default service level is for every tier; leave the tier empty.")
    if level.contract_id is None and not level.tier and not level.is_default:
        raise ValidationError("Say whom the service level is for: a contract, a tier, or everyone (the default).")
    if level.first_response_minutes <= 0 or level.resolution_minutes <= 0:
        raise ValidationError("Targets are at least a minute.")
    level.full_clean(exclude=["contract"], validate_constraints=False)
    with transaction.atomic():
        if level.is_default:
            # One default: the new one takes over from the old one in the same transaction.
            ServiceLevel.objects.filter(is_default=True).exclude(pk=level.pk).update(is_default=False)
        try:
            with transaction.atomic():
                level.save()
        except IntegrityError as exc:
            raise ValidationError({"contract": "That contract already has a service level."}) from exc
        after = {name: _audit_value(getattr(level, name)) for name in LEVEL_FIELDS}
        changed = {k: {"old": before.get(k), "new": v} for k, v in after.items() if creating or before.get(k) != v}
        if changed:
            audit_record(
                actor=actor,
                action="cases.service_level.created" if creating else "cases.service_level.updated",
                account=level.contract.account if level.contract is not None else None,
                target=level,
                data=changed,
            )
    return level


def service_level_delete(*, actor: User | None, level: ServiceLevel) -> None:
    """Remove a level. Cases keep the due dates they were given; new cases fall back to the next level."""
    _check(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="cases.service_level.deleted",
            account=level.contract.account if level.contract is not None else None,
            target=level,
            data={"name": level.name},
        )
        level.delete()


def holiday_add(*, actor: User | None, level: ServiceLevel, date: dt.date, name: str = "") -> Holiday:
    _check(actor)
    with transaction.atomic():
        holiday, created = Holiday.objects.get_or_create(
            service_level=level, date=date, defaults={"name": name.strip()[:100]}
        )
        if not created:
            raise ValidationError({"date": f"{date:%-d %b %Y} is already a holiday of this service level."})
        audit_record(
            actor=actor,
            action="cases.service_level.holiday_added",
            target=level,
            data={"date": date.isoformat(), "name": holiday.name},
        )
    return holiday


def holiday_remove(*, actor: User | None, holiday: Holiday) -> None:
    _check(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="cases.service_level.holiday_removed",
            target=holiday.service_level,
            data={"date": holiday.date.isoformat(), "name": holiday.name},
        )
        holiday.delete()


def category_save(
    *,
    actor: User | None,
    category: CaseCategory | None = None,
    key: str = "",
    name: str,
    active: bool = True,
    sort_order: int = 0,
) -> CaseCategory:
    """Create or change a case category. Its key never changes (cases, rules and the API hold it);
    a category no longer wanted is made inactive: new cases cannot choose it, old ones keep it."""
    _check(actor)
    creating = category is None
    if creating:
        category = CaseCategory(key=key.strip().lower())
    assert category is not None
    before = {"name": category.name, "active": category.active, "sort_order": category.sort_order}
    if not active and category.key == Case.Category.QUESTION:
        raise ValidationError("“Question” is what email and API cases get when they name none; it stays active.")
    category.name, category.active, category.sort_order = name.strip(), active, sort_order
    category.full_clean(validate_unique=creating)
    with transaction.atomic():
        category.save()
        after = {"name": category.name, "active": category.active, "sort_order": category.sort_order}
        changed = {
            k: {"old": None if creating else before[k], "new": v}
            for k, v in after.items()
            if creating or before[k] != v
        }
        if changed:
            audit_record(
                actor=actor,
                action="cases.category.created" if creating else "cases.category.updated",
                target=category,
                data={"key": category.key, **changed},
            )
    return category
