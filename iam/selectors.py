"""Reads of identity data, scoped to what the requesting user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from iam.models import AuditEvent, BusinessRole, Membership
from iam.permissions import can_manage_members, is_crm_user, is_staff_admin_of, org_admin_membership

if TYPE_CHECKING:
    from crm.models import Account
    from iam.models import User


def current_membership(*, user: User, wanted_account_id: int | None = None) -> Membership | None:
    """The usable membership the user works in: the one they chose, else their first."""
    usable = Membership.objects.usable().filter(user=user).select_related("account", "contact")
    if wanted_account_id:
        chosen = usable.filter(account_id=wanted_account_id).first()
        if chosen:
            return chosen
    return usable.order_by("account__name", "pk").first()


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")


def members_of(*, actor: User, account: Account, query: str = "") -> QuerySet[Membership]:
    """The account's members, for a staff admin or one of its org admins; nothing for anyone else."""
    if not can_manage_members(actor, account):
        return Membership.objects.none()
    qs = (
        Membership.objects.filter(account=account)
        .select_related("user", "contact")
        .prefetch_related(Prefetch("roles", queryset=BusinessRole.objects.order_by("sort_order", "name")))
        .order_by("user__email")
    )
    if query.strip():
        from django.db.models import Q

        q = query.strip()
        qs = qs.filter(Q(user__email__icontains=q) | Q(user__first_name__icontains=q) | Q(user__last_name__icontains=q))
    return qs


def audit_events_visible_to(*, user: User, account: Account | None = None) -> QuerySet[AuditEvent]:
    """Staff see every event (or one account's); an org admin sees only their account's."""
    events = AuditEvent.objects.select_related("actor", "account")
    if is_crm_user(user):
        return events.filter(account=account) if account is not None else events
    if account is not None and org_admin_membership(user, account) is not None:
        return events.filter(account=account)
    return AuditEvent.objects.none()


def can_staff_manage(*, user: User, account: Account) -> bool:
    return is_staff_admin_of(user, account)


def memberships_visible_to(*, user: User) -> QuerySet[Membership]:
    """Every membership for staff (as on the accounts' Portal users tabs); nothing for anyone else."""
    if not is_crm_user(user):
        return Membership.objects.none()
    return Membership.objects.select_related("user").prefetch_related(
        Prefetch("roles", queryset=BusinessRole.objects.order_by("sort_order", "name"))
    )
