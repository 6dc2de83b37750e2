"""Reads scoped to what the requesting user may see, with their joins in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Sum, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.listing import Page, Sort, keyset_page
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from iam.models import BusinessRole, Membership
from iam.permissions import is_staff_admin_of
from iam.selectors import audit_events_visible_to

if TYPE_CHECKING:
    from iam.models import AuditEvent, Membership, User


def contact_list(*, user: User) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).select_related("account", "owner")


def account_list(*, user: User) -> QuerySet[Account]:
    return Account.objects.visible_to(user).select_related("owner").with_customer_flag()


def lead_list(*, user: User) -> QuerySet[Lead]:
    return Lead.objects.visible_to(user).select_related("owner")


def opportunity_list(*, user: User) -> QuerySet[Opportunity]:
    return Opportunity.objects.visible_to(user).select_related("account", "owner")


def contract_list(*, user: User) -> QuerySet[Contract]:
    return Contract.objects.visible_to(user).select_related("account", "owner")


def activity_list(*, user: User) -> QuerySet[Activity]:
    return Activity.objects.visible_to(user).select_related(
        "account", "contact", "lead", "opportunity", "author", "owner"
    )


def my_work(*, user: User, limit: int = 10) -> dict[str, Any]:
    """The sales rep's home: open tasks, leads to work, opportunities closing soon."""
    today = timezone.localdate()
    open_tasks = (
        Activity.objects.visible_to(user)
        .filter(owner=user, done=False)
        .select_related("account", "contact", "lead", "opportunity")
        .order_by("due_at", "id")
    )
    my_leads = (
        Lead.objects.visible_to(user)
        .filter(owner=user, status__in=[Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED])
        .order_by("-score", "-id")
    )
    closing = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, stage__in=Opportunity.OPEN_STAGES, expected_close_date__lte=today + dt.timedelta(days=30))
        .select_related("account")
        .order_by("expected_close_date", "id")
    )
    expiring = (
        Contract.objects.visible_to(user)
        .active()
        .filter(owner=user, end_date__lte=today + dt.timedelta(days=60))
        .select_related("account")
        .order_by("end_date", "id")
    )
    return {
        "open_tasks": list(open_tasks[:limit]),
        "my_leads": list(my_leads[:limit]),
        "closing_soon": list(closing[:limit]),
        "expiring_contracts": list(expiring[:limit]),
        "today": today,
    }


# --- Record pages -----------------------------------------------------------------------------

TIMELINE_SORT = Sort("-occurred", "", "occurred_at", descending=True)
TIMELINE_PAGE_SIZE = 20
# Counts on a record page stop here: "1,000+" tells a rep all they need and costs a bounded scan.
RECORD_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class BoundedCount:
    value: int
    limit: int

    @property
    def is_lower_bound(self) -> bool:
        return self.value > self.limit

    def __str__(self) -> str:
        return f"{self.limit:,}+" if self.is_lower_bound else f"{self.value:,}"


def bounded_count(qs: QuerySet, limit: int = RECORD_COUNT_LIMIT) -> BoundedCount:
    return BoundedCount(qs.order_by().values("pk")[: limit + 1].count(), limit)


def activity_timeline(
    *,
    user: User,
    account: Account | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    cursor: str | None = None,
    page_size: int = TIMELINE_PAGE_SIZE,
) -> Page:
    """One keyset page of a record's timeline, newest first, without counting the whole history."""
    qs = Activity.objects.visible_to(user).select_related("author", "owner", "contact", "lead", "opportunity")
    if account is not None:
        qs = qs.filter(account=account)
    elif contact is not None:
        qs = qs.filter(contact=contact)
    elif lead is not None:
        qs = qs.filter(lead=lead)
    elif opportunity is not None:
        qs = qs.filter(opportunity=opportunity)
    else:
        qs = qs.none()
    return keyset_page(qs, sort=TIMELINE_SORT, cursor=cursor, page_size=page_size, count=False)


# --- Portal users: the staff half of IAM on the account page ---------------------------------

PORTAL_USERS_SHOWN = 50
PORTAL_AUDIT_SHOWN = 20


@dataclass(frozen=True)
class PortalUsers:
    memberships: list[Membership]
    count: BoundedCount
    audit_events: list[AuditEvent]
    can_manage: bool  # may this staff user change the account's portal users


def portal_user_rows(*, account: Account) -> QuerySet[Membership]:
    """An account's memberships with all a row shows (roles, MFA), in two queries however many."""
    from allauth.mfa.models import Authenticator

    second_factor = Authenticator.objects.filter(
        user=OuterRef("user_id"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    status_order = Case(
        When(status=Membership.Status.ACTIVE, then=0),
        When(status=Membership.Status.INVITED, then=1),
        When(status=Membership.Status.SUSPENDED, then=2),
        default=3,
    )
    return (
        Membership.objects.filter(account=account)
        .select_related("user", "contact")
        .prefetch_related(Prefetch("roles", queryset=BusinessRole.objects.order_by("sort_order", "name")))
        .annotate(has_mfa=Exists(second_factor), status_order=status_order)
        .order_by("status_order", "user__email", "pk")
    )


def account_portal_users(*, user: User, account: Account, limit: int = PORTAL_USERS_SHOWN) -> PortalUsers:
    """The Portal users tab: the first memberships, a bounded count, and the latest audit events."""
    return PortalUsers(
        memberships=list(portal_user_rows(account=account)[:limit]),
        count=bounded_count(Membership.objects.filter(account=account)),
        audit_events=list(audit_events_visible_to(user=user, account=account)[:PORTAL_AUDIT_SHOWN]),
        can_manage=is_staff_admin_of(user, account),
    )


@dataclass(frozen=True)
class Account360:
    account: Account
    domains: list[AccountDomain]
    contacts: list[Contact]
    contact_count: BoundedCount
    contracts: list[Contract]
    contract_count: BoundedCount
    active_contract_end: dt.date | None
    opportunities: list[Opportunity]
    opportunity_count: BoundedCount
    open_pipeline: list[dict[str, Any]]  # one {"currency", "total", "count"} per currency
    timeline: Page
    portal_users: PortalUsers | None = None

    @property
    def open_deal_count(self) -> int:
        return sum(row["count"] for row in self.open_pipeline)


def account_360(*, user: User, pk: int, cursor: str | None = None, section_size: int = 25) -> Account360:
    """Everything the account page shows, in a fixed number of queries however big the account is.

    Raises Http404 for an account that does not exist or that the user may not see.
    """
    account = get_object_or_404(account_list(user=user), pk=pk)
    contacts = Contact.objects.visible_to(user).filter(account=account)
    contracts = Contract.objects.visible_to(user).filter(account=account)
    opportunities = Opportunity.objects.visible_to(user).filter(account=account)
    open_opportunities = opportunities.filter(stage__in=Opportunity.OPEN_STAGES)
    pipeline = (
        open_opportunities.order_by()
        .values("currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("-total")[:5]
    )
    active_end = contracts.active().order_by().aggregate(end=Max("end_date"))["end"]
    # Active contracts first, then the most recent ones; open deals before closed ones.
    contract_rows = contracts.select_related("owner").order_by(
        Case(When(status=Contract.Status.ACTIVE, then=0), default=1), "-end_date", "-id"
    )
    opportunity_rows = opportunities.select_related("owner").order_by(
        Case(When(stage__in=Opportunity.OPEN_STAGES, then=0), default=1), "expected_close_date", "id"
    )
    return Account360(
        account=account,
        domains=list(account.email_domains.all()[:20]),
        contacts=list(contacts.select_related("owner").order_by("last_name", "id")[:section_size]),
        contact_count=bounded_count(contacts),
        contracts=list(contract_rows[:section_size]),
        contract_count=bounded_count(contracts),
        active_contract_end=active_end,
        opportunities=list(opportunity_rows[:section_size]),
        opportunity_count=bounded_count(opportunities),
        open_pipeline=list(pipeline),
        timeline=activity_timeline(user=user, account=account, cursor=cursor),
        portal_users=account_portal_users(user=user, account=account),
    )


def account_options(*, user: User, q: str, limit: int = 20) -> list[Account]:
    """Accounts for a search-as-you-type picker: a name prefix or a business id."""
    q = q.strip()
    qs = Account.objects.visible_to(user).only("id", "name", "business_id", "country")
    if q:
        qs = qs.filter(Q(name__istartswith=q) | Q(business_id__iexact=q) | Q(name__icontains=f" {q}"))
    return list(qs.order_by("name", "id")[:limit])


def account_matching_lead(*, user: User, lead: Lead) -> Account | None:
    """The account a lead's company already is, recognised by its business id."""
    business_id = lead.company_business_id.strip()
    if not business_id:
        return None
    return Account.objects.visible_to(user).filter(business_id=business_id).first()


def pipeline_by_stage(*, user: User) -> list[dict[str, Any]]:
    """The user's open pipeline per stage, in stage order (one grouped query)."""
    rows = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, stage__in=Opportunity.OPEN_STAGES)
        .order_by()
        .values("stage")
        .annotate(total=Sum("amount"), count=Count("pk"))
    )
    by_stage = {row["stage"]: row for row in rows}
    return [
        {
            "stage": stage.value,
            "label": stage.label,
            "total": float(by_stage.get(stage, {}).get("total") or 0),
            "count": by_stage.get(stage, {}).get("count", 0),
        }
        for stage in Opportunity.OPEN_STAGES
    ]
