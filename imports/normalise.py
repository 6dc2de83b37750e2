"""One row of a file as it will be stored: tidied, validated, each problem said in words."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django_countries import countries
from phonenumbers import phonenumberutil

from crm.models import Account, Lead
from imports.mapping import CUSTOM_PREFIX, MODEL_LABELS
from registrations.business_ids import business_id_clean

_SPACES = re.compile(r"\s+")
TRUE = {"1", "true", "yes", "y", "on", "x", "kyllä", "ja", "oui"}
FALSE = {"", "0", "false", "no", "n", "off", "ei", "nein", "non"}
DATE_FORMATS = {
    "%Y-%m-%d": "2025-12-31",
    "%d.%m.%Y": "31.12.2025",
    "%d/%m/%Y": "31/12/2025",
    "%m/%d/%Y": "12/31/2025",
}


@dataclass(frozen=True)
class Options:
    default_country: str = ""
    date_format: str = "%Y-%m-%d"


@dataclass
class Row:
    line: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Custom-field cells as read, when ``normalise_row`` was told to leave them (see there).
    custom_cells: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def tidy(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


def tidy_name(value: str) -> str:
    """Whitespace collapsed; SHOUTED or all-lower names get capitals ("mcDONALD" stays as typed)."""
    value = tidy(value)
    if value and (value.isupper() or value.islower()):
        return " ".join("-".join(part.capitalize() for part in word.split("-")) for word in value.split(" "))
    return value


def clean_email(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("mailto:"):
        value = value[7:]
    validate_email(value)
    return value


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@lru_cache(maxsize=4096)
def clean_phone(value: str, default_country: str) -> str:
    """E.164. A number already written so (most of a big file) skips the full parse (7 times cheaper).

    Cached by (text, country): a file repeats its switchboard numbers; bounded, so memory stays flat.
    """
    if _E164.fullmatch(value):
        country_code, rest = phonenumberutil._extract_country_code(value[1:])
        # A national number with a leading zero (Italy) needs the parser's own handling.
        if country_code and rest and not rest.startswith("0"):
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(rest))
            if phonenumbers.is_valid_number(number):
                return value
            raise ValidationError(f"“{value}” is not a valid phone number.")
    try:
        number = phonenumbers.parse(value, default_country.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            f"“{value}” is not a phone number{'' if default_country else ' (no default country set)'}."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"“{value}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_country(value: str) -> str:
    value = tidy(value)
    code = countries.alpha2(value) or countries.by_name(value) or countries.by_name(value, insensitive=True)
    if not code:
        raise ValidationError(f"“{value}” is not a country we know (use a name or an ISO code such as FI).")
    return str(code)


def clean_date(value: str, date_format: str) -> dt.datetime:
    try:
        day = dt.datetime.strptime(value.strip()[:19], date_format).replace(tzinfo=dt.UTC).date()
    except ValueError:
        try:
            day = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValidationError(
                f"“{value}” is not a date in the format {DATE_FORMATS.get(date_format, date_format)}."
            ) from None
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def clean_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValidationError(f"“{value}” is not yes or no.")


def clean_choice(value: str, choices: Any, what: str) -> str:
    lowered = tidy(value).lower()
    for key, label in choices:
        if lowered in (str(key).lower(), str(label).lower()):
            return str(key)
    raise ValidationError(f"“{value}” is not a {what} ({', '.join(str(label) for _k, label in choices)}).")


def clean_url(value: str) -> str:
    value = value.strip()
    if value and "://" not in value:
        value = f"https://{value}"
    URLValidator()(value)
    return value


def _business_id(value: str, country: str) -> str:
    value = tidy(value)
    return business_id_clean(country, value) if country else value


def _split_name(full: str) -> tuple[str, str]:
    full = tidy_name(full)
    if "," in full:  # "Virtanen, Maija"
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return first, last


def normalise_row(
    resource: str, row: Row, mapping: dict[str, str], options: Options, *, custom_fields: bool = True
) -> Row:
    """Fill ``row.values`` (model field → value) and ``row.errors`` from its cells and the mapping.

    Everything but custom fields is pure computation. Custom fields are checked against their
    definitions, which are read from the database; with ``custom_fields=False`` their cells are
    kept in ``row.custom_cells`` for :func:`normalise_custom` to check later, on the thread that
    holds the database connection (an import normalises its next chunk on a helper thread).
    """
    raw: dict[str, str] = {}
    for index, target in mapping.items():
        if target and int(index) < len(row.cells):
            text = row.cells[int(index)].strip()
            # An exported cell neutralised against formula injection comes back as it was.
            raw[target] = text[1:] if text[:2] in ("'=", "'+", "'-", "'@") else text
    values = row.values

    def take(key: str, cleaner: Any, *args: Any) -> None:
        text = raw.get(key, "")
        if not text:
            return
        try:
            values[key] = cleaner(text, *args)
        except ValidationError as exc:
            row.errors.append(f"{key.replace('_', ' ').capitalize()}: {' '.join(exc.messages)}")

    if resource in ("contacts", "leads"):
        if raw.get("full_name") and not raw.get("last_name"):
            values["first_name"], values["last_name"] = _split_name(raw["full_name"])
        for key in ("first_name", "last_name"):
            if raw.get(key):
                values[key] = tidy_name(raw[key])[:100]
        if not values.get("last_name"):
            row.errors.append("Last name: every person needs a last name.")
        take("email", clean_email)
        take("phone", clean_phone, options.default_country)
        if raw.get("job_title"):
            values["job_title"] = tidy(raw["job_title"])[:150]
        if raw.get("owner"):
            values["owner"] = raw["owner"].strip().lower()
    if resource == "contacts":
        country = ""
        if raw.get("account_country"):
            take("account_country", clean_country)
            country = values.get("account_country", "")
        if raw.get("account"):
            values["account"] = tidy(raw["account"])[:200]
        take("account_business_id", _business_id, country)
        if not values.get("account") and not values.get("account_business_id"):
            row.errors.append("Account: say which company this person works for (name or business id).")
        take("consent_to_contact", clean_bool)
        take("last_verified_at", clean_date, options.date_format)
    elif resource == "leads":
        take("company_country", clean_country)
        if raw.get("company_name"):
            values["company_name"] = tidy(raw["company_name"])[:200]
        take("company_business_id", _business_id, values.get("company_country", ""))
        take("company_website", clean_url)
        take("source", clean_choice, Lead.Source.choices, "lead source")
        take("status", clean_choice, [c for c in Lead.Status.choices if c[0] != "converted"], "lead status")
        if raw.get("score"):
            try:
                score = int(float(raw["score"]))
                if not 0 <= score <= 100:
                    raise ValueError
                values["score"] = score
            except ValueError:
                row.errors.append(f"Score: “{raw['score']}” is not a whole number from 0 to 100.")
    elif resource == "accounts":
        if raw.get("name"):
            values["name"] = tidy(raw["name"])[:200]
        else:
            row.errors.append("Name: every account needs a name.")
        take("country", clean_country)
        take("business_id", _business_id, values.get("country", ""))
        take("website", clean_url)
        take("industry", clean_choice, Account.Industry.choices, "known industry")
        take("tier", clean_choice, Account.Tier.choices, "tier")
        if raw.get("territory"):
            values["territory"] = tidy(raw["territory"])[:100]
        if raw.get("owner"):
            values["owner"] = raw["owner"].strip().lower()
    custom = {key[len(CUSTOM_PREFIX) :]: text for key, text in raw.items() if key.startswith(CUSTOM_PREFIX) and text}
    if custom:
        row.custom_cells = custom
        if custom_fields:
            normalise_custom(resource, row)
    return row


def normalise_custom(resource: str, row: Row) -> Row:
    """Check the custom-field cells ``normalise_row`` left aside (their errors come last, as there)."""
    if row.custom_cells:
        row.custom = _clean_custom(resource, row.custom_cells, row)
        row.custom_cells = {}
    return row


def _clean_custom(resource: str, data: dict[str, str], row: Row) -> dict[str, Any]:
    from customfields.values import clean_values

    try:
        return dict(clean_values(MODEL_LABELS[resource], data, partial=True, existing=None))
    except ValidationError as exc:
        row.errors.extend(
            f"{k}: {' '.join(v)}" for k, v in getattr(exc, "message_dict", {"custom fields": exc.messages}).items()
        )
        return {}
