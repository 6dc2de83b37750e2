"""Custom field values: the one validation every write path uses (forms, API, import, portal).

Values are stored as JSON on the record, one representation per type, so that filters and
sorts compare like with like:

| type | stored as |
| --- | --- |
| text, long text, URL, email | string |
| number | JSON number |
| money | string with two decimals ("1250.00"): exact, no float rounding |
| date | ISO string ("2026-12-06"): sorts as text in date order |
| yes / no | true / false |
| single choice | the choice's value ("gold"; its label may change, the value never does) |
| multiple choice | list of choice values |
| staff user | the user's id |

An empty value is not stored at all: a record without the key has no value.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from customfields.models import CustomField
from customfields.selectors import fields_for

T = CustomField.Type

_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n"}


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _number(field: CustomField, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("Enter a number.")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError("Enter a number.") from None
    if not number.is_finite():
        raise ValidationError("Enter a number.")
    if field.min_value is not None and number < field.min_value:
        raise ValidationError(f"Must be at least {field.min_value.normalize():f}.")
    if field.max_value is not None and number > field.max_value:
        raise ValidationError(f"Must be at most {field.max_value.normalize():f}.")
    return number


def _text(field: CustomField, value: Any) -> str:
    if not isinstance(value, str | int | float | Decimal) or isinstance(value, bool):
        raise ValidationError("Enter text.")
    text = str(value).strip()
    if field.max_length and len(text) > field.max_length:
        raise ValidationError(f"At most {field.max_length} characters (this has {len(text)}).")
    if field.regex and field.type == T.TEXT and not re.fullmatch(field.regex, text):
        raise ValidationError(f"Does not match the required format ({field.regex}).")
    return text


def _choices(field: CustomField, values: list[Any], existing: Any) -> list[str]:
    # A retired choice stays valid on a record that already has it; it is no longer offered.
    kept = set(existing if isinstance(existing, list) else [existing] if existing is not None else [])
    offered = {v for v, _label in field.offered_choices()}
    result = []
    for raw in values:
        value = str(raw).strip()
        if value not in offered and value not in kept:
            labels = field.choice_labels()
            if value in labels:
                raise ValidationError(f"“{labels[value]}” is no longer offered.")
            allowed = ", ".join(sorted(offered)) or "none"
            raise ValidationError(f"“{value}” is not one of the choices ({allowed}).")
        if value not in result:
            result.append(value)
    return result


def clean_value(field: CustomField, value: Any, *, existing: Any = None) -> Any:
    """One field's value in its stored form; ``None`` for no value. Raises ValidationError."""
    if is_empty(value):
        if field.required:
            raise ValidationError("This field is required.")
        return None
    kind = field.type
    if kind in (T.TEXT, T.LONG_TEXT):
        return _text(field, value)
    if kind == T.NUMBER:
        number = _number(field, value)
        return int(number) if number == number.to_integral_value() and abs(number) < 2**53 else float(number)
    if kind == T.MONEY:
        number = _number(field, value)
        return str(number.quantize(Decimal("0.01")))
    if kind == T.DATE:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.") from None
    if kind == T.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError("Enter yes or no (true or false).")
    if kind == T.CHOICE:
        if isinstance(value, list | dict):
            raise ValidationError("Choose one value.")
        return _choices(field, [value], existing)[0]
    if kind == T.MULTI_CHOICE:
        values = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
        return _choices(field, values, existing) or None
    if kind == T.URL:
        text = _text(field, value)
        URLValidator(message="Enter a valid URL (https://…).")(text)
        return text
    if kind == T.EMAIL:
        text = _text(field, value)
        EmailValidator(message="Enter a valid email address.")(text)
        return text
    if kind == T.USER:
        from iam.models import User

        try:
            pk = int(value.pk if isinstance(value, User) else value)
        except (TypeError, ValueError):
            raise ValidationError("Enter the id of a staff user.") from None
        if pk != existing and not User.objects.staff().filter(pk=pk).exists():
            raise ValidationError("Not an active staff user.")
        return pk
    raise ValidationError(f"Unknown type {kind}.")


def clean_values(model_label: str, data: dict, *, partial: bool, existing: dict | None = None) -> dict:
    """Validate ``data`` ({key: value}) against ``model_label``'s fields; the record's complete new values.

    ``partial``: only the keys sent change (an API PATCH, a portal form showing some fields);
    otherwise every active field is taken to be sent (a staff form), so required fields must
    have a value and a new record (``existing`` None) starts with each field's default. Values of
    archived fields and keys not sent are kept as they are. Raises ``ValidationError`` with one
    message per key.
    """
    if not isinstance(data, dict):
        raise ValidationError("Send an object of custom field values.")
    fields = {f.key: f for f in fields_for(model_label)}
    current = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in fields:
            errors[key] = ["Unknown custom field."]
    result = dict(current)
    for key, field in fields.items():
        if key in data:
            value = data[key]
        elif partial:
            continue
        elif key in current:
            value = current[key]
        elif existing is None and field.default is not None:
            value = field.default
        else:
            value = None
        try:
            cleaned = clean_value(field, value, existing=current.get(key))
        except ValidationError as exc:
            errors[key] = exc.messages
            continue
        if cleaned is None:
            result.pop(key, None)
        else:
            result[key] = cleaned
    if errors:
        raise ValidationError(errors)
    return result


def clean_portal_values(data: dict, *, existing: dict | None) -> dict:
    """``clean_values`` for a customer editing their own contact: only fields ops made portal-editable.

    Any other key, a hidden field's included, is refused as unknown: the portal never learns it exists.
    """
    from customfields.selectors import portal_fields

    editable = {f.key for f in portal_fields("crm.contact", editable_only=True)}
    unknown = sorted(set(data) - editable)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    return clean_values("crm.contact", data, partial=True, existing=existing)
