"""What the portal's home shows a customer of their relationship with us, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from cases.models import Case, ServiceLevel
from cases.selectors import cases_for_member
from crm.models import Contract
from iam.permissions import can_raise_cases, sees_organisation_cases

if TYPE_CHECKING:
    from iam.models import Membership, User

OPEN_CASES_SHOWN = 5
OPEN_CASES_COUNTED = 100
CONTRACTS_SHOWN = 5


@dataclass(frozen=True)
class PortalHome:
    contracts: list[Contract]
    open_cases: list[Case]
    open_case_count: int
    whole_organisation: bool
    can_raise: bool
    account_manager: User | None


def portal_home_data(*, membership: Membership) -> PortalHome:
    account = membership.account
    # Each contract with its own service level (a reverse one-to-one: the same query).
    contracts = list(
        Contract.objects.filter(account=account)
        .exclude(status=Contract.Status.DRAFT)
        .select_related("service_level")
        .order_by("status", "-end_date", "-id")[:CONTRACTS_SHOWN]
    )
    # A contract without a level of its own is served at the tier's or the default one.
    fallback = (
        ServiceLevel.objects.filter(Q(tier=account.tier, contract__isnull=True) | Q(is_default=True))
        .order_by("is_default", "id")
        .first()
    )
    for contract in contracts:
        contract.level = getattr(contract, "service_level", None) or fallback  # type: ignore[attr-defined]
    whole_organisation = sees_organisation_cases(membership)
    open_qs = cases_for_member(membership=membership, whole_organisation=whole_organisation).filter(
        status__in=Case.OPEN_STATUSES
    )
    open_cases = list(open_qs.order_by("-created_at", "-id")[:OPEN_CASES_SHOWN])
    # Bounded, and asked whatever the page shows: a constant cost.
    count = open_qs.order_by().values("pk")[:OPEN_CASES_COUNTED].count()
    return PortalHome(
        contracts=contracts,
        open_cases=open_cases,
        open_case_count=count,
        whole_organisation=whole_organisation,
        can_raise=can_raise_cases(membership),
        account_manager=account.owner if account.owner.is_active else None,
    )
