"""Named regions a territory may match: each is a fixed set of ISO 3166 country codes.

Accounts carry a country, not a region; a region is how sales talk about a group of countries
("the Nordics", "DACH"), so it is defined here once and expanded to countries when matching.
"""

from __future__ import annotations

REGIONS: dict[str, tuple[str, frozenset[str]]] = {
    "nordics": ("Nordics", frozenset({"DK", "FI", "IS", "NO", "SE", "AX", "FO", "GL"})),
    "baltics": ("Baltics", frozenset({"EE", "LV", "LT"})),
    "dach": ("DACH", frozenset({"DE", "AT", "CH", "LI"})),
    "benelux": ("Benelux", frozenset({"BE", "NL", "LU"})),
    "uk_ireland": ("UK & Ireland", frozenset({"GB", "IE", "IM", "JE", "GG"})),
    "southern_europe": (
        "Southern Europe",
        frozenset({"ES", "PT", "IT", "GR", "MT", "CY", "AD", "SM", "VA", "MC", "FR"}),
    ),
    "eastern_europe": (
        "Central & Eastern Europe",
        frozenset({"PL", "CZ", "SK", "HU", "RO", "BG", "SI", "HR", "RS", "BA", "ME", "MK", "AL", "UA", "MD", "BY"}),
    ),
    "north_america": ("North America", frozenset({"US", "CA", "MX"})),
    "latin_america": (
        "Latin America",
        frozenset(
            {"AR", "BO", "BR", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "NI", "PA", "PE", "PY", "SV", "UY", "VE"}
        ),
    ),
    "middle_east": (
        "Middle East",
        frozenset({"AE", "BH", "IL", "IQ", "JO", "KW", "LB", "OM", "QA", "SA", "TR", "EG"}),
    ),
    "africa": (
        "Africa",
        frozenset(
            {"DZ", "AO", "CM", "CI", "ET", "GH", "KE", "MA", "NG", "RW", "SN", "TN", "TZ", "UG", "ZA", "ZM", "ZW"}
        ),
    ),
    "apac": (
        "Asia-Pacific",
        frozenset({"AU", "NZ", "JP", "KR", "CN", "HK", "TW", "SG", "MY", "TH", "VN", "PH", "ID", "IN"}),
    ),
}

REGION_CHOICES = [(key, label) for key, (label, _countries) in REGIONS.items()]


def countries_of(regions: list[str]) -> set[str]:
    found: set[str] = set()
    for key in regions:
        if key in REGIONS:
            found |= REGIONS[key][1]
    return found
