"""Business / registration ids: the format and check digit per country, where python-stdnum knows it.

``business_id_clean(country, value)`` returns the id in its national display format (the form
stored on the registration and on an account it creates) or raises ``ValidationError`` with a
sentence the registrant understands. Countries stdnum does not cover get a sane generic check.
``business_id_variants`` gives the spellings an account created by hand may carry, so matching
does not depend on how a rep once typed the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Scheme:
    label: str  # what the registrant knows it as
    modules: tuple[str, ...]  # stdnum modules tried in order; the first that accepts wins
    example: str
    pattern: str = ""  # a format without a check digit, accepted when no module does


SCHEMES: dict[str, Scheme] = {
    "FI": Scheme("Business ID (Y-tunnus)", ("fi.ytunnus",), "2112345-6"),
    "SE": Scheme("Organisation number", ("se.orgnr",), "556123-4567"),
    "NO": Scheme("Organisation number", ("no.orgnr",), "123 456 785"),
    "DK": Scheme("CVR number", ("dk.cvr",), "13585628"),
    "DE": Scheme(
        "VAT id (USt-IdNr.) or commercial register number",
        ("de.vat", "de.handelsregisternummer"),
        "DE136695976 or Aachen HRB 12345",
    ),
    "AT": Scheme("VAT id (UID)", ("at.uid", "at.businessid"), "ATU13585627"),
    "CH": Scheme("UID", ("ch.uid",), "CHE-100.155.212"),
    "GB": Scheme(
        "Companies House number or VAT number",
        ("gb.vat",),
        "09446231 or GB980780684",
        pattern=r"^(\d{8}|(SC|NI|OC|SO|NC|R0|LP|SL|NL|FC|SF|NF|IP|SP|IC|SI|NO|RS)\d{6})$",
    ),
    "IE": Scheme("VAT number", ("ie.vat",), "IE6433435F"),
    "FR": Scheme("SIREN or SIRET", ("fr.siren", "fr.siret"), "732 829 320"),
    "BE": Scheme("Enterprise number", ("be.vat",), "0403.170.701"),
    "NL": Scheme("KvK number or VAT number", ("nl.btw",), "12345678", pattern=r"^\d{8}$"),
    "ES": Scheme("CIF / NIF", ("es.cif",), "A13585625"),
    "IT": Scheme("Partita IVA", ("it.iva",), "00743110157"),
    "PT": Scheme("NIPC", ("pt.nif",), "501964843"),
    "PL": Scheme("NIP or REGON", ("pl.nip", "pl.regon"), "8567346215"),
    "EE": Scheme("Registry code", ("ee.registrikood",), "10137319"),
    "LV": Scheme("VAT number", ("lv.pvn",), "40003521600"),
    "JP": Scheme("Corporate number", ("jp.cn",), "5835678256246"),
    "US": Scheme("EIN", ("us.ein",), "04-2103594"),
    "CA": Scheme("Business Number", ("ca.bn",), "123456782"),
    "AU": Scheme("ABN", ("au.abn",), "51 824 753 556"),
    "NZ": Scheme("IRD number", ("nz.ird",), "49-091-850"),
    "BR": Scheme("CNPJ", ("br.cnpj",), "16.727.230/0001-97"),
    "IN": Scheme("GSTIN", ("in_.gstin",), "27AAPFU0939F1ZV"),
}

_VAT_MODULES = ("vat", "at.uid", "btw", "iva", "pvn")

GENERIC = Scheme("Company registration number", (), "HRB 12345")
_GENERIC_ALLOWED = re.compile(r"^[A-Z0-9][A-Z0-9 .\-/]{2,38}[A-Z0-9]$")


def scheme_for(country: str) -> Scheme:
    return SCHEMES.get((country or "").upper(), GENERIC)


def _module(name: str):
    return import_module(f"stdnum.{name}")


def _squeeze(value: str) -> str:
    return re.sub(r"\s+", " ", (value or "").strip()).upper()


def business_id_clean(country: str, value: str) -> str:
    """The id in its national format, or ``ValidationError`` saying what is wrong."""
    raw = _squeeze(value)
    if not raw:
        raise ValidationError("Enter your company's registration number.", code="required")
    scheme = scheme_for(country)
    for name in scheme.modules:
        module = _module(name)
        # A number typed with its VAT country prefix ("FI21123456") is the same number.
        typed = re.sub(r"\s+", " ", value.strip())
        candidates = [typed]
        prefix = (country or "").upper()
        is_vat = name.endswith(_VAT_MODULES)
        if prefix and raw.startswith(prefix) and not is_vat:
            candidates.append(typed[len(prefix) :].strip(" -"))
        for candidate in candidates:
            if module.is_valid(candidate):
                if is_vat:
                    # VAT numbers are written with their country prefix everywhere in Europe.
                    compact = module.compact(candidate)
                    return compact if compact.startswith(prefix[:2]) else prefix + compact
                formatter = getattr(module, "format", None)
                return formatter(candidate) if formatter else module.compact(candidate)
    compact = re.sub(r"[\s.\-/]", "", raw)
    if scheme.pattern and re.match(scheme.pattern, compact):
        return compact
    if scheme.modules:
        raise ValidationError(
            f"This is not a valid {scheme.label} — check the digits (for example {scheme.example}).",
            code="invalid",
        )
    if not _GENERIC_ALLOWED.match(raw) or sum(ch.isalnum() for ch in raw) < 4 or not any(ch.isdigit() for ch in raw):
        raise ValidationError(
            "Enter the registration number as it appears in your company register: "
            "letters, digits, spaces, dots, dashes or slashes, with at least one digit.",
            code="invalid",
        )
    return raw


def business_id_variants(country: str, business_id: str) -> list[str]:
    """Spellings of one id an account may already carry: formatted, compact, with a VAT prefix."""
    value = _squeeze(business_id)
    if not value:
        return []
    compact = re.sub(r"[\s.\-/]", "", value)
    variants = {value, compact}
    prefix = (country or "").upper()
    if prefix and not compact.startswith(prefix):
        variants.add(prefix + compact)
    if prefix and compact.startswith(prefix):
        variants.add(compact[len(prefix) :])
    return sorted(v for v in variants if v)
