"""Portal adoption: active users per account, sign-ins per week, MFA adoption, accounts with no org admin.

A rep reads the accounts they own; the owner filter is the account's owner.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncWeek

from analytics.reports.base import (
    Cell,
    Chart,
    Figure,
    Filters,
    Records,
    Report,
    Table,
    owner_q,
    parse_date,
    percent,
    query_string,
    today,
    week_start,
    weeks_between,
)
from crm.models import Account
from iam.models import AuditEvent, Membership
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

SLUG = "portal"
TITLE = "Portal adoption"
ICON = "person-badge"
DESCRIPTION = "Active portal users per account, sign-ins per week, MFA adoption, accounts with no org admin."
FILTERS = ("tier", "industry", "territory")

ACCOUNTS_SHOWN = 25
SIGNED_IN = "iam.user.signed_in"


def default_period() -> tuple[dt.date, dt.date]:
    now = today()
    return week_start(now) - dt.timedelta(weeks=11), now


def accounts(*, user: User, filters: Filters) -> QuerySet[Account]:
    qs = Account.objects.visible_to(user).filter(owner_q(filters))
    if filters.has_account_filters():
        qs = qs.filter(filters.account_q(""))
    return qs


def memberships(*, user: User, filters: Filters) -> QuerySet[Membership]:
    """Active memberships of the accounts in scope."""
    if not is_crm_user(user):
        return Membership.objects.none()
    qs = Membership.objects.filter(status=Membership.Status.ACTIVE)
    if filters.owner_id or filters.has_account_filters():
        qs = qs.filter(account__in=accounts(user=user, filters=filters).values("pk"))
    return qs


def _no_org_admin() -> Q:
    people = Membership.objects.filter(account=OuterRef("pk"), status=Membership.Status.ACTIVE)
    return Q(Exists(people)) & ~Q(Exists(people.filter(is_org_admin=True)))


def _mfa_users() -> Q:
    """The user has an authenticator app or a passkey: ``IN`` a hashed set, not a probe per member."""
    return Q(user_id__in=Authenticator.objects.exclude(type=Authenticator.Type.RECOVERY_CODES).values("user_id"))


def build(*, user: User, filters: Filters) -> Report:
    members = memberships(user=user, filters=filters)
    # Active members per account: users, org admins, with MFA (one scan of the covering index).
    per_account = (
        members.values("account_id")
        .annotate(
            users=Count("id"),
            admins=Count("id", filter=Q(is_org_admin=True)),
            mfa=Count("id", filter=_mfa_users()),
        )
        .order_by()
    )
    # 1: totals, and the accounts with people but no org admin, summed over those groups.
    totals = per_account.aggregate(
        all_users=Coalesce(Sum("users"), 0),
        accounts=Count("account_id"),
        all_mfa=Coalesce(Sum("mfa"), 0),
        orphaned=Count("account_id", filter=Q(admins=0)),
    )
    totals["users"], totals["mfa"], orphaned = totals["all_users"], totals["all_mfa"], totals["orphaned"]
    # 2: the accounts with the most active users, 3: their names.
    top = list(per_account.order_by("-users", "account_id")[:ACCOUNTS_SHOWN])
    names = dict(Account.objects.filter(pk__in=[row["account_id"] for row in top] or [0]).values_list("pk", "name"))
    for row in top:
        row["account__name"] = names.get(row["account_id"], "")
    # 4: sign-ins per week by the portal users in scope.
    signins: dict[dt.date, dict[str, int]] = {}
    in_scope = members.filter(user=OuterRef("actor_id"))
    for row in (
        AuditEvent.objects.filter(
            action=SIGNED_IN, occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_before
        )
        .filter(Exists(in_scope))
        .annotate(week=TruncWeek("occurred_at"))
        .values("week")
        .annotate(n=Count("id"), people=Count("actor_id", distinct=True))
        .order_by()
    ):
        signins[row["week"].date()] = row

    report = Report()
    report.figures = [
        Figure(
            "Active portal users", totals["users"], "int", f"at {totals['accounts']:,} accounts", {"metric": "users"}
        ),
        Figure(
            "MFA adoption",
            percent(totals["mfa"], totals["users"]),
            "percent",
            f"{totals['mfa']:,} users",
            {"metric": "mfa"},
        ),
        Figure("Without MFA", totals["users"] - totals["mfa"], "int", "active users", {"metric": "no_mfa"}),
        Figure("No org admin", orphaned, "int", "accounts with users but no admin", {"metric": "no_admin"}),
        Figure(
            "Sign-ins",
            sum(row["n"] for row in signins.values()),
            "int",
            "in the period",
            {"metric": "signins"},
        ),
    ]
    week_table = Table("signins", "Sign-ins per week", ["Week of", "Sign-ins", "People"], icon="box-arrow-in-right")
    for week in weeks_between(filters.start, filters.end):
        row = signins.get(week, {})
        week_table.rows.append(
            [
                Cell(week.strftime("%d %b %Y"), "text"),
                Cell(row.get("n", 0), "int", {"metric": "signins", "week": week.isoformat()}),
                Cell(row.get("people", 0), "int"),
            ]
        )
    account_table = Table(
        "by_account",
        "Accounts with the most active portal users",
        ["Account", "Active users", "Org admins", "With MFA", "MFA share"],
        icon="building",
        empty="No portal users yet.",
    )
    for row in top:
        drill = {"metric": "users", "account": str(row["account_id"])}
        account_table.rows.append(
            [
                Cell(row["account__name"], "text", href=f"/accounts/{row['account_id']}/"),
                Cell(row["users"], "int", drill),
                Cell(row["admins"], "int"),
                Cell(row["mfa"], "int", {"metric": "mfa", "account": str(row["account_id"])}),
                Cell(percent(row["mfa"], row["users"]), "percent"),
            ]
        )
    report.tables = [week_table, account_table]
    report.charts = [
        Chart("signin-chart", "Sign-ins per week", "signins", [("Sign-ins", 1), ("People", 2)], type="line"),
        Chart("account-chart", "Active users per account", "by_account", [("Active users", 1), ("With MFA", 3)]),
    ]
    report.notes = [
        "A person who belongs to two accounts counts once at each.",
        "MFA counts an authenticator app or a passkey; recovery codes alone do not count.",
    ]
    return report


def records(*, user: User, filters: Filters, drill: dict[str, str]) -> Records:
    metric = drill.get("metric", "users")
    if metric == "no_admin":
        qs = accounts(user=user, filters=filters).filter(_no_org_admin())
        return Records(
            title="Accounts with portal users but no org admin",
            queryset=qs.select_related("owner").order_by("name", "id"),
            columns=["Account", "Tier", "Owner"],
            row=lambda a: [(a.name, a.get_absolute_url()), a.get_tier_display(), a.owner],
            list_url=f"/accounts/?{query_string({'owner': str(filters.owner_id) if filters.owner_id else ''})}",
        )
    members = memberships(user=user, filters=filters)
    if metric == "signins":
        start, end = filters.start_at, filters.end_before
        week = parse_date(drill.get("week"))
        if week is not None:
            one = Filters(start=week, end=week + dt.timedelta(days=6))
            start, end = max(start, one.start_at), min(end, one.end_before)
        events = AuditEvent.objects.filter(action=SIGNED_IN, occurred_at__gte=start, occurred_at__lt=end).filter(
            Exists(members.filter(user=OuterRef("actor_id")))
        )
        return Records(
            title="Portal sign-ins",
            queryset=events.order_by("-occurred_at", "-id"),
            columns=["When", "Who", "From"],
            row=lambda e: [e.occurred_at, e.actor_label, e.ip_address or ""],
        )
    if drill.get("account", "").isdecimal():
        members = members.filter(account_id=int(drill["account"]))
    if metric == "mfa":
        members = members.filter(_mfa_users())
    elif metric == "no_mfa":
        members = members.exclude(_mfa_users())
    return Records(
        title={"mfa": "Portal users with MFA", "no_mfa": "Portal users without MFA"}.get(metric, "Active portal users"),
        queryset=members.select_related("user", "account").order_by("account__name", "user__email", "id"),
        columns=["User", "Account", "Org admin", "Since"],
        row=lambda m: [
            m.user.email,
            (m.account.name, m.account.get_absolute_url()),
            "yes" if m.is_org_admin else "",
            m.created_at,
        ],
    )
