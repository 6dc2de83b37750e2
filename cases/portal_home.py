"""What the portal's home shows a customer of their relationship with us, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cases.models import Case, ServiceLevel
from cases.selectors import cases_for_member
from crm.models import Contract
from iam.permissions import can_raise_cases, sees_organisation_cases

if TYPE_CHECKING:
    from iam.models import Membership, User

OPEN_CASES_SHOWN = 5
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
    contracts = list(
        Contract.objects.filter(account=account)
        .exclude(status=Contract.Status.DRAFT)
        .order_by("status", "-end_date", "-id")[:CONTRACTS_SHOWN]
    )
    levels = {
        level.contract_id: level for level in ServiceLevel.objects.filter(contract_id__in=[c.pk for c in contracts])
    }
    for contract in contracts:
        contract.level = levels.get(contract.pk)  # type: ignore[attr-defined]
    open_qs = cases_for_member(membership=membership).filter(status__in=Case.OPEN_STATUSES)
    open_cases = list(open_qs.order_by("-created_at", "-id")[:OPEN_CASES_SHOWN])
    count = open_qs.order_by()[:100].count()  # bounded, and asked whatever the page shows: a constant cost
    return PortalHome(
        contracts=contracts,
        open_cases=open_cases,
        open_case_count=count,
        whole_organisation=sees_organisation_cases(membership),
        can_raise=can_raise_cases(membership),
        account_manager=account.owner if account.owner.is_active else None,
    )
