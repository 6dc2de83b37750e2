"""Which account is this company? One answer for lead conversion, registration, lead invitations and imports.

The evidence, strongest first: the business id (in any of its national spellings), the email
domain (an account's :class:`~crm.models.AccountDomain`, never a webmail or disposable-address
provider's), a similar name (pg_trgm similarity on PostgreSQL, served by the trigram index on
``UPPER(name)`` from migration 0003; the same name, ignoring case, on SQLite).

The matcher only reads. What to do with a match is the caller's policy: a business id or an
email domain is ``conclusive`` enough to link a record without asking; a name is a suggestion a
person confirms; and registration admits someone into an account only on its domain (a
business id is public, see ``registrations.services``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection, transaction
from django.db.models import BooleanField, Func, Q, Value
from django.db.models.functions import Upper

from crm.models import Account
from invitations.email_domains import email_domain, is_public_mail_domain
from registrations.business_ids import business_id_variants

BUSINESS_ID = "business_id"
EMAIL_DOMAIN = "email_domain"
NAME = "name"

# pg_trgm similarity at or above which two company names are suggested as one company:
# "Globex Oy" ~ "Globex Oy." (1.0), "Globex Corporation" ~ "Globex Corp" (0.55); not "Globe Media" (0.36),
# nor "Acme Oy" ~ "Acme Ltd" (0.42). Names alone never link without a person: see ``conclusive``.
NAME_SIMILARITY_MIN = 0.5

_DESCRIPTIONS = {BUSINESS_ID: "business id", EMAIL_DOMAIN: "email domain", NAME: "similar name"}


@dataclass(frozen=True)
class AccountMatch:
    """An account and the evidence it was found by: ``on`` what, ``value`` matched, with what ``score``."""

    account: Account
    on: str
    value: str
    score: float = 1.0

    @property
    def conclusive(self) -> bool:
        """Strong enough to link a record without asking a person (a name is only a suggestion)."""
        return self.on in (BUSINESS_ID, EMAIL_DOMAIN)

    @property
    def description(self) -> str:
        """For people: ``business id FI12345678``, ``email domain globex.example``, ``similar name (83 %)``."""
        if self.on == NAME:
            return f"similar name “{self.value}” ({round(self.score * 100)} %)"
        return f"{_DESCRIPTIONS[self.on]} {self.value}"

    @property
    def evidence(self) -> dict[str, Any]:
        """What to store beside a decision (JSON)."""
        return {"account": self.account.pk, "on": self.on, "value": self.value, "score": round(self.score, 3)}


class _TrigramSimilar(Func):
    """``a % b``: pg_trgm's similarity test, the form its GIN index serves."""

    arg_joiner = " %% "
    template = "(%(expressions)s)"
    output_field = BooleanField()


@contextmanager
def _trigram_threshold(threshold: float) -> Iterator[None]:
    """Let the index skip what is below ``threshold`` (``%`` uses pg_trgm's, 0.3 by default).

    At 100,000 accounts with common words in their names this takes a similar-name lookup
    from ~160-260 ms to ~55-70 ms. The setting is the transaction's; the caller's value comes back.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('pg_trgm.similarity_threshold', true), "
            "set_config('pg_trgm.similarity_threshold', %s, true)",
            [str(threshold)],
        )
        previous = cursor.fetchone()[0] or "0.3"
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [previous])


def _candidates():
    # The customer flag rides along: callers decide on it without another query.
    return Account.objects.with_customer_flag().order_by("pk")


def _by_business_id(business_id: str, country: str) -> AccountMatch | None:
    spellings = [business_id, *business_id_variants(country, business_id)]
    account = _candidates().filter(business_id__in=spellings).first()
    return AccountMatch(account, BUSINESS_ID, account.business_id) if account is not None else None


def _by_email_domain(email: str) -> AccountMatch | None:
    domain = email_domain(email) if "@" in email else ""
    if not domain or is_public_mail_domain(domain):
        return None
    accounts = list(_candidates().filter(email_domains__domain=domain)[:10])
    if len(accounts) > 1:
        # A domain two accounts share names neither, unless exactly one of them is a customer.
        accounts = [a for a in accounts if a.is_customer]
    return AccountMatch(accounts[0], EMAIL_DOMAIN, domain) if len(accounts) == 1 else None


def _by_name(name: str, country: str) -> AccountMatch | None:
    accounts = _candidates()
    if country:
        # The same name in another country is another company (Acme Oy is not Acme Ltd).
        accounts = accounts.filter(Q(country=country) | Q(country=""))
    if connection.vendor != "postgresql":
        account = accounts.filter(name__iexact=name).first()
        return AccountMatch(account, NAME, account.name) if account is not None else None
    probe = Value(name.upper())
    with transaction.atomic(), _trigram_threshold(NAME_SIMILARITY_MIN):
        account = (
            accounts.filter(_TrigramSimilar(Upper("name"), probe))
            .annotate(similarity=TrigramSimilarity(Upper("name"), probe))
            .filter(similarity__gte=NAME_SIMILARITY_MIN)
            .order_by("-similarity", "pk")
            .first()
        )
    return AccountMatch(account, NAME, account.name, float(account.similarity)) if account is not None else None


def account_match(
    *, business_id: str = "", email: str = "", company_name: str = "", country: str = ""
) -> AccountMatch | None:
    """The account this company already is, by the strongest evidence found, or None.

    ``country`` is the company's (an ISO code): it reads a business id's national spellings
    and keeps a name from matching a company of another country.
    """
    business_id, email, company_name = business_id.strip(), email.strip().lower(), company_name.strip()
    country = str(country or "").upper()
    return (
        (_by_business_id(business_id, country) if business_id else None)
        or (_by_email_domain(email) if email else None)
        or (_by_name(company_name, country) if company_name else None)
    )
