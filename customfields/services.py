"""Defining and changing custom fields. Values are written by the record services (crm.services).

Adding a field writes one definition row: no table is rewritten (records without the key
simply have no value). A filterable field's list index is built afterwards, concurrently, by
``customfields.tasks.custom_field_index_sync``. Changing a type converts the values that
convert, set-based, and refuses with a count when any would be lost; deleting archives (values
kept, restorable) before a purge that ops confirm by typing the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import BusinessRuleViolation
from customfields.indexes import record_model
from customfields.models import CustomField
from customfields.selectors import forget_cached_fields
from customfields.values import clean_value
from iam.audit import audit_record
from iam.permissions import can_define_custom_fields

if TYPE_CHECKING:
    from iam.models import User

T = CustomField.Type
TEXTUAL = (T.TEXT, T.LONG_TEXT)
_NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"
# What a stored value (as text) must look like to convert into each type.
_CONVERTS: dict[str, str] = {
    T.NUMBER: _NUMBER_RE,
    T.MONEY: _NUMBER_RE,
    T.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    T.BOOLEAN: r"^(true|false)$",
    T.URL: r"^https?://[^ ]+$",
    T.EMAIL: r"^[^@ ]+@[^@ ]+\.[^@ ]+$",
    T.USER: r"^[0-9]+$",
    T.TEXT: r"^[^\[]",  # anything but a list (multiple choice)
    T.LONG_TEXT: r"^[^\[]",
}

EDITABLE = (
    "label",
    "required",
    "default",
    "help_text",
    "min_value",
    "max_value",
    "max_length",
    "regex",
    "choices",
    "position",
    "portal_visibility",
    "filterable",
    "show_in_list",
)


def _require_definer(actor: User) -> None:
    if not can_define_custom_fields(actor):
        raise PermissionDenied("Only operations (and sales managers, if operations allow it) define custom fields.")


def _check_definition(field: CustomField) -> None:
    if field.is_choice and not field.choices:
        raise ValidationError({"choices_text": "A choice field needs at least one choice."})
    if field.min_value is not None and field.max_value is not None and field.min_value > field.max_value:
        raise ValidationError({"max_value": "The maximum is below the minimum."})
    if field.portal_visibility == CustomField.PortalVisibility.EDITABLE and field.model != "crm.contact":
        raise ValidationError({"portal_visibility": "Only contact fields can be edited in the portal."})
    if field.regex:
        import re

        try:
            re.compile(field.regex)
        except re.error as exc:
            raise ValidationError({"regex": f"Not a valid pattern: {exc}."}) from None
    if field.default is not None:
        try:
            field.default = clean_value(field, field.default)
        except ValidationError as exc:
            raise ValidationError({"default": exc.messages}) from None
    field.full_clean()


def _index_sync_on_commit(field: CustomField, *, rebuild: bool = False) -> None:
    from customfields.tasks import custom_field_index_sync

    pk = field.pk
    transaction.on_commit(lambda: custom_field_index_sync.delay(pk, rebuild=rebuild))


def custom_field_create(*, actor: User, field: CustomField) -> CustomField:
    """Define a field. The next position in its record type's form unless one was chosen."""
    _require_definer(actor)
    with transaction.atomic():
        if not field.position:
            last = CustomField.objects.filter(model=field.model).order_by("-position").first()
            field.position = (last.position + 1) if last else 1
        field.created_by = actor
        _check_definition(field)
        field.save()
        audit_record(
            actor=actor,
            action="customfields.custom_field.created",
            target=field,
            data={"model": field.model, "key": field.key, "type": field.type},
        )
        forget_cached_fields()
        if field.filterable:
            _index_sync_on_commit(field)
    return field


@dataclass(frozen=True)
class Conversion:
    converted: int
    lost: int


def _valued(field: CustomField) -> QuerySet[Any]:
    return record_model(field.model)._base_manager.filter(custom_fields__has_key=field.key)


def lossy_count(field: CustomField, new_type: str, choices: list[dict[str, Any]] | None = None) -> int:
    """How many records hold a value of ``field`` that would not survive becoming ``new_type``."""
    if new_type == field.type:
        return 0
    valued = _valued(field)
    if new_type in (T.CHOICE, T.MULTI_CHOICE):
        values = [c["value"] for c in (choices if choices is not None else field.choices)]
        if field.type == T.MULTI_CHOICE:  # a list does not become one value
            return int(valued.count())
        return int(valued.exclude(**{f"custom_fields__{field.key}__in": values}).count())
    if field.type == T.MULTI_CHOICE:
        return valued.count()  # a list does not become one text, number or date
    pattern = _CONVERTS.get(new_type)
    if pattern is None:
        return int(valued.count())
    return int(valued.exclude(**{f"custom_fields__{field.key}__regex": pattern}).count())


def _convert(field: CustomField, new_type: str) -> int:
    """Rewrite the stored values of ``field`` into ``new_type``'s representation; set-based on PostgreSQL."""
    valued = _valued(field)
    table = connection.ops.quote_name(record_model(field.model)._meta.db_table)
    conversions: dict[str, str] = {
        T.NUMBER: "to_jsonb((custom_fields ->> %(key)s)::numeric)",
        T.MONEY: "to_jsonb(round((custom_fields ->> %(key)s)::numeric, 2)::text)",
        T.BOOLEAN: "to_jsonb((custom_fields ->> %(key)s)::boolean)",
        T.USER: "to_jsonb((custom_fields ->> %(key)s)::bigint)",
        T.MULTI_CHOICE: "jsonb_build_array(custom_fields -> %(key)s)",
    }
    expression = conversions.get(new_type, "to_jsonb(custom_fields ->> %(key)s)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET custom_fields = jsonb_set(custom_fields, ARRAY[%(key)s], {expression}) "  # noqa: S608  (quoted table, fixed SQL; values are parameters)
                "WHERE custom_fields ? %(key)s",
                {"key": field.key},
            )
            return int(cursor.rowcount)
    # SQLite (development): the same conversion, row by row.
    probe = CustomField(model=field.model, key=field.key, type=new_type, choices=field.choices)
    model = record_model(field.model)
    rows = []
    for record in valued.only("pk", "custom_fields").iterator():
        value = record.custom_fields[field.key]
        if new_type == T.MULTI_CHOICE:
            value = [value]
        record.custom_fields[field.key] = clean_value(probe, value, existing=value)
        rows.append(record)
    model._base_manager.bulk_update(rows, ["custom_fields"], batch_size=1000)
    return len(rows)


def custom_field_update(
    *, actor: User, field: CustomField, changes: dict[str, Any], new_type: str | None = None
) -> Conversion | None:
    """Change a definition: its label (values stay: they are keyed by the field's fixed key), rules,
    position, choices (labels edited in place, values retired rather than removed) and type.

    A type change converts every value that converts; if any value would be lost it changes
    nothing and raises ``BusinessRuleViolation`` saying how many.
    """
    _require_definer(actor)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This cannot be changed."))
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        old_type = field.type
        was_filterable = field.filterable
        old_choices = {c["value"] for c in field.choices}
        before = {name: getattr(field, name) for name in changes}
        for name, value in changes.items():
            setattr(field, name, value)
        removed = old_choices - {c["value"] for c in field.choices}
        if removed and old_type == field.type and field.is_choice:
            in_use = sorted(v for v in removed if _valued(field).filter(**_has_choice(field, v)).exists())
            if in_use:
                raise ValidationError(
                    {"choices_text": f"In use on records: {', '.join(in_use)}. Retire them (~) instead of removing."}
                )
        conversion = None
        if new_type and new_type != old_type:
            lost = lossy_count(field, new_type, field.choices)
            if lost:
                raise BusinessRuleViolation(
                    f"Changing “{field.label}” to {CustomField.Type(new_type).label.lower()} would lose "
                    f"{lost:,} value{'s' if lost != 1 else ''}. Nothing was changed."
                )
            field.type = new_type
            conversion = Conversion(converted=_convert(field, new_type), lost=0)
        _check_definition(field)
        field.save()
        data: dict[str, Any] = {
            "key": field.key,
            "changed": sorted(n for n in changes if before[n] != getattr(field, n)),
        }
        if conversion is not None:
            data.update(type={"from": old_type, "to": field.type}, converted=conversion.converted)
        audit_record(actor=actor, action="customfields.custom_field.changed", target=field, data=data)
        forget_cached_fields()
        if field.filterable != was_filterable or (conversion is not None and field.filterable):
            _index_sync_on_commit(field, rebuild=conversion is not None)
    return conversion


def _has_choice(field: CustomField, value: str) -> dict[str, Any]:
    if field.type == T.MULTI_CHOICE:
        return {f"custom_fields__{field.key}__icontains": f'"{value}"'}
    return {f"custom_fields__{field.key}": value}


def custom_field_archive(*, actor: User, field: CustomField) -> CustomField:
    """ "Delete": the field leaves forms, lists and the API; its values stay on the records."""
    _require_definer(actor)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if field.archived_at is None:
            field.archived_at = timezone.now()
            field.save(update_fields=["archived_at", "updated_at"])
            audit_record(
                actor=actor, action="customfields.custom_field.archived", target=field, data={"key": field.key}
            )
            forget_cached_fields()
            if field.filterable:
                _index_sync_on_commit(field)
    return field


def custom_field_restore(*, actor: User, field: CustomField) -> CustomField:
    _require_definer(actor)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if field.archived_at is not None:
            field.archived_at = None
            field.save(update_fields=["archived_at", "updated_at"])
            audit_record(
                actor=actor, action="customfields.custom_field.restored", target=field, data={"key": field.key}
            )
            forget_cached_fields()
            if field.filterable:
                _index_sync_on_commit(field)
    return field


def custom_field_purge(*, actor: User, field: CustomField, confirm_key: str) -> int:
    """Remove an archived field and its values from every record, for good; how many records had one.

    Operations confirm by typing the field's key. Set-based: one UPDATE of the records that hold
    the key (the index on the key, if any, is dropped by the index task after the commit).
    """
    _require_definer(actor)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if field.archived_at is None:
            raise BusinessRuleViolation("Archive the field first; only an archived field can be purged.")
        if confirm_key.strip() != field.key:
            raise ValidationError({"confirm_key": f"Type the field's key ({field.key}) to confirm."})
        valued = _valued(field)
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(record_model(field.model)._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET custom_fields = custom_fields - %s WHERE custom_fields ? %s",  # noqa: S608
                    [field.key, field.key],
                )
                purged = int(cursor.rowcount)
        else:
            rows = list(valued.only("pk", "custom_fields"))
            for record in rows:
                record.custom_fields.pop(field.key, None)
            record_model(field.model)._base_manager.bulk_update(rows, ["custom_fields"], batch_size=1000)
            purged = len(rows)
        audit_record(
            actor=actor,
            action="customfields.custom_field.purged",
            target=field,
            data={"model": field.model, "key": field.key, "records": purged},
        )
        index_name = field.index_name
        field.delete()
        forget_cached_fields()
        from customfields.tasks import custom_field_index_drop

        transaction.on_commit(lambda: custom_field_index_drop.delay(index_name))
    return purged


def valued_count(field: CustomField) -> int:
    """How many records hold a value of ``field``."""
    return int(_valued(field).count())
