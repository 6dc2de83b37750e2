"""What a column can become (targets per resource), suggested from the file's headers.

Custom fields are targets too (``cf:<key>``) once the ``customfields`` app is installed:
:func:`custom_field_targets` is the one place that asks it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.apps import apps

CUSTOM_PREFIX = "cf:"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False


_PERSON = (
    Target("first_name", "First name", ("first", "firstname", "givenname", "forename", "etunimi", "vorname", "prenom")),
    Target(
        "last_name", "Last name", ("last", "lastname", "surname", "familyname", "sukunimi", "nachname", "nom"), True
    ),
    Target("full_name", "Full name (split into first and last)", ("name", "fullname", "contactname", "person")),
    Target("email", "Email", ("email", "emailaddress", "mail", "sahkoposti", "courriel")),
    Target("phone", "Phone", ("phone", "phonenumber", "telephone", "tel", "mobile", "puhelin", "telefon")),
    Target("job_title", "Job title", ("jobtitle", "title", "position", "role", "titteli")),
    Target("owner", "Owner (staff email)", ("owner", "owneremail", "salesrep", "rep")),
)

TARGETS: dict[str, tuple[Target, ...]] = {
    "contacts": (
        *_PERSON,
        Target(
            "account",
            "Account (company name)",
            ("account", "company", "companyname", "organisation", "organization", "yritys", "firma"),
        ),
        Target(
            "account_business_id",
            "Account business id",
            ("businessid", "companyid", "vat", "vatnumber", "ytunnus", "registrationnumber"),
        ),
        Target("account_country", "Account country", ("country", "maa", "land")),
        Target("consent_to_contact", "Consent to contact", ("consent", "optin", "marketingconsent")),
        Target("last_verified_at", "Last verified (date)", ("lastverified", "verified", "verifiedat")),
    ),
    "accounts": (
        Target(
            "name",
            "Name",
            ("name", "account", "accountname", "company", "companyname", "organisation", "organization"),
            True,
        ),
        Target(
            "business_id",
            "Business id",
            ("businessid", "vat", "vatnumber", "ytunnus", "registrationnumber", "companyid"),
        ),
        Target("country", "Country", ("country", "maa", "land")),
        Target("website", "Website", ("website", "web", "url", "homepage")),
        Target("industry", "Industry", ("industry", "sector")),
        Target("tier", "Tier", ("tier", "segment")),
        Target("territory", "Territory", ("territory", "region")),
        Target("owner", "Owner (staff email)", ("owner", "owneremail", "salesrep", "rep")),
    ),
    "leads": (
        *_PERSON,
        Target(
            "company_name", "Company", ("company", "companyname", "account", "organisation", "organization", "yritys")
        ),
        Target(
            "company_business_id", "Company business id", ("businessid", "companyid", "vat", "vatnumber", "ytunnus")
        ),
        Target("company_country", "Company country", ("country", "maa", "land")),
        Target("company_website", "Company website", ("website", "web", "url")),
        Target("source", "Source", ("source", "leadsource", "channel")),
        Target("status", "Status", ("status", "leadstatus")),
        Target("score", "Score", ("score", "leadscore", "rating")),
    ),
}

MODEL_LABELS = {"accounts": "crm.account", "contacts": "crm.contact", "leads": "crm.lead"}


def header_key(header: str) -> str:
    """A header as compared: no accents, case, spaces or punctuation ("E-mail address" → emailaddress)."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def custom_field_targets(resource: str) -> tuple[Target, ...]:
    """The record type's custom fields as targets; none until the customfields app is installed."""
    if not apps.is_installed("customfields"):
        return ()
    from customfields.selectors import fields_for

    return tuple(
        Target(
            f"{CUSTOM_PREFIX}{field.key}",
            f"{field.label} (custom field)",
            (header_key(field.label), header_key(field.key)),
        )
        for field in fields_for(MODEL_LABELS[resource])
    )


def targets_for(resource: str) -> tuple[Target, ...]:
    return (*TARGETS[resource], *custom_field_targets(resource))


def suggest_mapping(resource: str, headers: list[str], saved: dict[str, str] | None = None) -> dict[str, str]:
    """Column index (as text) → target key: a saved mapping's choice first, else the header's alias."""
    targets = targets_for(resource)
    known = {t.key for t in targets}
    by_alias: dict[str, str] = {}
    for target in targets:
        for alias in (header_key(target.key), header_key(target.label), *target.aliases):
            by_alias.setdefault(alias, target.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        key = header_key(header)
        chosen = (saved or {}).get(key) or by_alias.get(key, "")
        if chosen in known and chosen not in used:
            mapping[str(index)] = chosen
            used.add(chosen)
    return mapping


def mapping_errors(resource: str, mapping: dict[str, str]) -> list[str]:
    chosen = [t for t in mapping.values() if t]
    errors = []
    duplicates = sorted({t for t in chosen if chosen.count(t) > 1})
    if duplicates:
        errors.append(f"Each field can take one column; chosen twice: {', '.join(duplicates)}.")
    if resource in ("contacts", "leads") and not {"last_name", "full_name"} & set(chosen):
        errors.append("Map a column to Last name or Full name: every person needs a last name.")
    if resource == "contacts" and not {"account", "account_business_id"} & set(chosen):
        errors.append("Map a column to Account or Account business id: every contact belongs to an account.")
    if resource == "accounts" and "name" not in chosen:
        errors.append("Map a column to Name: every account needs a name.")
    return errors
