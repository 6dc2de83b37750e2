"""Reads of the reports, from the snapshots: a page costs the same at a million contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analytics.models import DataHealthAccountCount, DataHealthOwnerCount, DataHealthSnapshot, ReconfirmationRun
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

TOP_ACCOUNTS = 15
OWNERS_SHOWN = 50
TREND_DAYS = 180


@dataclass
class DataHealth:
    snapshot: DataHealthSnapshot | None
    owners: list[DataHealthOwnerCount] = field(default_factory=list)
    top_accounts: list[DataHealthAccountCount] = field(default_factory=list)
    trend: Sequence[Mapping[str, Any]] = field(default_factory=list)
    runs: list[ReconfirmationRun] = field(default_factory=list)
    mine: DataHealthOwnerCount | None = None


def data_health(*, user: User, trend_days: int = TREND_DAYS) -> DataHealth:
    """The latest snapshot, stale share per owner and the accounts with most stale contacts, the trend.

    Six queries whatever the size of the CRM: each reads a snapshot table by its indexes.
    """
    if not is_crm_user(user):
        return DataHealth(snapshot=None)
    snapshot = DataHealthSnapshot.objects.order_by("-day").first()
    runs = list(ReconfirmationRun.objects.filter(requested_by=user).select_related("account", "owner")[:5])
    if snapshot is None:
        return DataHealth(snapshot=None, runs=runs)
    owners = list(
        DataHealthOwnerCount.objects.filter(snapshot=snapshot)
        .select_related("owner")
        .order_by("-stale", "owner_id")[:OWNERS_SHOWN]
    )
    top_accounts = list(
        DataHealthAccountCount.objects.filter(snapshot=snapshot, stale__gt=0)
        .select_related("account")
        .order_by("-stale", "account_id")[:TOP_ACCOUNTS]
    )
    trend = list(
        DataHealthSnapshot.objects.filter(day__gt=snapshot.day - dt.timedelta(days=trend_days))
        .order_by("day")
        .values("day", "fresh", "ageing", "stale")
    )
    mine = DataHealthOwnerCount.objects.filter(snapshot=snapshot, owner=user).first()
    return DataHealth(snapshot=snapshot, owners=owners, top_accounts=top_accounts, trend=trend, runs=runs, mine=mine)


def reconfirmation_run_for(*, user: User, run_id: int) -> ReconfirmationRun | None:
    """A run its requester may watch; anyone else's is the same None as one that does not exist."""
    if not is_crm_user(user):
        return None
    return ReconfirmationRun.objects.filter(pk=run_id, requested_by=user).select_related("account", "owner").first()
