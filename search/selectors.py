"""The one search for everything: accounts, contacts, leads, opportunities and contracts at once.

One query per record type (five however many match), each started from what the user may see
and bounded to a few rows: a term that matches 60,000 contacts costs what a rare one does,
because the trigram indexes find the first matches and nothing is counted or sorted in SQL.
Each group links to its list, where the list's own search pages through all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from crm.models import Account, Contact, Contract, Lead, Opportunity

if TYPE_CHECKING:
    from iam.models import User

# pg_trgm needs a trigram to use its index; a shorter term would scan every table.
MIN_TERM_LENGTH = 3
PER_GROUP = 5


@dataclass(frozen=True)
class Hit:
    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    icon: str
    hits: list[Hit]
    has_more: bool
    list_url: str  # the record type's list, searching the same term


@dataclass(frozen=True)
class SearchResult:
    term: str
    groups: list[Group]
    too_short: bool = False

    @property
    def is_empty(self) -> bool:
        return not any(group.hits for group in self.groups)


def _person(term: str) -> Q:
    """First name, last name or email; "Anna Smith" matches the person too."""
    q = Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
    first, _, last = term.partition(" ")
    if last.strip():
        q |= Q(first_name__icontains=first, last_name__icontains=last.strip())
    return q


def _accounts(user: User, term: str) -> QuerySet[Any]:
    return Account.objects.visible_to(user).filter(
        # The business id exactly as stored or upper-cased, so its unique index joins the bitmap.
        Q(name__icontains=term) | Q(business_id__in={term, term.upper()})
    )


def _contacts(user: User, term: str) -> QuerySet[Any]:
    return Contact.objects.visible_to(user).filter(_person(term)).select_related("account")


def _leads(user: User, term: str) -> QuerySet[Any]:
    return Lead.objects.visible_to(user).filter(_person(term) | Q(company_name__icontains=term))


def _opportunities(user: User, term: str) -> QuerySet[Any]:
    return Opportunity.objects.visible_to(user).filter(name__icontains=term).select_related("account")


def _contracts(user: User, term: str) -> QuerySet[Any]:
    return Contract.objects.visible_to(user).filter(number__icontains=term).select_related("account")


def _money(amount: Any, currency: str) -> str:
    return f"{amount:,.0f} {currency}"


@dataclass(frozen=True)
class _Kind:
    key: str
    label: str
    icon: str
    list_url_name: str
    find: Callable[[User, str], QuerySet[Any]]
    describe: Callable[[Any], tuple[str, str]]  # record -> (title, detail)


KINDS: tuple[_Kind, ...] = (
    _Kind(
        "accounts",
        "Accounts",
        "building",
        "crm:account_list",
        _accounts,
        lambda a: (a.name, " · ".join(x for x in (a.business_id, str(a.country or "")) if x)),
    ),
    _Kind(
        "contacts",
        "Contacts",
        "person-lines-fill",
        "crm:contact_list",
        _contacts,
        lambda c: (c.full_name, " · ".join(x for x in (c.account.name, c.email) if x)),
    ),
    _Kind(
        "leads",
        "Leads",
        "funnel",
        "crm:lead_list",
        _leads,
        lambda lead: (
            f"{lead.first_name} {lead.last_name}".strip(),
            " · ".join(x for x in (lead.company_name, lead.get_status_display()) if x),
        ),
    ),
    _Kind(
        "opportunities",
        "Opportunities",
        "graph-up-arrow",
        "crm:opportunity_list",
        _opportunities,
        lambda o: (o.name, f"{o.account.name} · {o.get_stage_display()} · {_money(o.amount, o.currency)}"),
    ),
    _Kind(
        "contracts",
        "Contracts",
        "file-earmark-text",
        "crm:contract_list",
        _contracts,
        lambda c: (c.number, f"{c.account.name} · {c.get_status_display()}"),
    ),
)


def global_search(*, user: User, term: str, per_group: int = PER_GROUP) -> SearchResult:
    term = " ".join(term.split())[:100]
    if len(term) < MIN_TERM_LENGTH:
        return SearchResult(term=term, groups=[], too_short=bool(term))
    groups = []
    for kind in KINDS:
        # No ORDER BY: sorting would read every match; the first ones found are sorted below.
        rows = list(kind.find(user, term).order_by()[: per_group + 1])
        hits = sorted(
            (Hit(*kind.describe(row), url=row.get_absolute_url()) for row in rows[:per_group]),
            key=lambda hit: hit.title.lower(),
        )
        list_url = f"{reverse(kind.list_url_name)}?q={_quote(term)}"
        groups.append(Group(kind.key, kind.label, kind.icon, hits, len(rows) > per_group, list_url))
    return SearchResult(term=term, groups=groups)


def _quote(term: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(term)
