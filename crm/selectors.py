"""Reads scoped to what the requesting user may see, with their joins in one place."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity

if TYPE_CHECKING:
    from iam.models import User


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
