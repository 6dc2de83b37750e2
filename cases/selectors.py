"""Reads of cases, already scoped to what the asking person may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, Q, QuerySet, Subquery

from cases.models import Case, CaseCategory, CaseMessage, ServiceLevel
from crm.models import Contract
from iam.permissions import can_work_cases, sees_organisation_cases

if TYPE_CHECKING:
    from crm.models import Account
    from iam.models import Membership
    from iam.permissions import MaybeUser


def cases_for_staff(*, user: MaybeUser) -> QuerySet[Case]:
    """Every case, for staff; nothing for anyone else (default deny)."""
    if not can_work_cases(user):
        return Case.objects.none()
    return Case.objects.all()


def cases_for_member(*, membership: Membership, whole_organisation: bool | None = None) -> QuerySet[Case]:
    """A portal user's cases at the account in use: all of them for org admins and technical
    contacts, else those they raised and those shared with them.

    ``whole_organisation`` is ``sees_organisation_cases(membership)`` when the caller knows it
    already. The shared ones come as ``id IN (…)`` from the share table rather than a join, so
    the rows need no DISTINCT and the account's (raised_by, created) indexes still serve the page.
    """
    qs = Case.objects.filter(account_id=membership.account_id, merged_into__isnull=True)
    if membership.is_lead_only:
        return qs.none()
    if whole_organisation is None:
        whole_organisation = sees_organisation_cases(membership)
    if whole_organisation:
        return qs
    shared = Case.shared_with.through.objects.filter(user_id=membership.user_id).values("case_id")
    return qs.filter(Q(raised_by_id=membership.user_id) | Q(pk__in=shared))


def public_messages(case: Case) -> QuerySet[CaseMessage]:
    return case.messages.filter(kind=CaseMessage.Kind.REPLY).select_related("author")


def service_level_for(account: Account) -> tuple[ServiceLevel | None, Contract | None]:
    """The level a new case of this account is served at: its active contract's, its tier's, the default."""
    contract = (
        Contract.objects.filter(account=account, status=Contract.Status.ACTIVE)
        .select_related("service_level")
        .order_by("-end_date", "-id")
        .first()
    )
    level = getattr(contract, "service_level", None) if contract is not None else None
    if level is None:
        level = (
            ServiceLevel.objects.filter(Q(tier=account.tier, contract__isnull=True) | Q(is_default=True))
            .order_by("is_default", "id")
            .first()
        )
    return level, contract


def category_choices(*, include: str = "") -> list[tuple[str, str]]:
    """The categories new cases may take (and ``include``, a retired one a case already has).

    Operations' rows decide; a built-in category (``Case.Category``) without a row is offered
    under its built-in name, so a database without the rows (a flushed test database) still works.
    """
    rows = list(CaseCategory.objects.values_list("key", "name", "active", "sort_order"))
    known = {key for key, *_rest in rows}
    offered = [(order, name, key) for key, name, active, order in rows if active or key == include]
    offered += [(i * 10, str(label), key) for i, (key, label) in enumerate(Case.Category.choices) if key not in known]
    return [(key, name) for _order, name, key in sorted(offered)]


def category_is_offered(key: str) -> bool:
    row = CaseCategory.objects.filter(key=key).values_list("active", flat=True).first()
    return bool(row) if row is not None else key in Case.Category.values


def with_category_name(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Each case with its category's current name (``Case.get_category_display`` reads it)."""
    name = CaseCategory.objects.filter(key=OuterRef("category")).values("name")[:1]
    return qs.annotate(category_name=Subquery(name))
