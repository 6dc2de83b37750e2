"""Reads of access reviews and of the loops that reach everyone else, scoped to who may see them.

- ``verification_queue``: a rep's weekly list of their own contacts that no automatic loop
  reaches (no portal access, no org admin at their account to review them), no longer fresh,
  stalest first. ``DECAY_VERIFICATION_QUEUE_SIZE`` a week; each outcome recorded this week
  takes one off the list.
- ``accounts_needing_org_admin``: customer accounts (an active contract) without an active org
  admin, with the best person to nominate: an active portal member first (promoted at once),
  else the most recently verified contact with an email address (invited).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from crm.decay import DecayPolicy
from crm.models import Account, Contact, Contract
from iam.models import Membership, User
from iam.permissions import can_see_review_completion, is_crm_user, sees_verification_completion, sells
from invitations.models import Invitation
from reviews.models import AccessReview, OwnerVerification


def access_reviews_visible_to(*, user: User) -> QuerySet[AccessReview]:
    if not can_see_review_completion(user):
        return AccessReview.objects.none()
    return AccessReview.objects.select_related("account", "completed_by")


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 of ``now``'s week, local time: the weekly list starts over then."""
    local = timezone.localtime(now)
    return (local - dt.timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def _active_member() -> Exists:
    return Exists(Membership.objects.filter(contact=OuterRef("pk"), status=Membership.Status.ACTIVE))


def _org_admin_at(account_ref: str) -> Exists:
    return Exists(
        Membership.objects.filter(
            account=OuterRef(account_ref), status=Membership.Status.ACTIVE, is_org_admin=True, user__is_active=True
        )
    )


def _active_contract_at(account_ref: str) -> Exists:
    return Exists(Contract.objects.filter(account=OuterRef(account_ref), status=Contract.Status.ACTIVE))


def unreached_contacts(*, user: User) -> QuerySet[Contact]:
    """Contacts no automatic loop reaches: not left, no active portal access (no self-service, no
    removal by an admin), and no active org admin at their account (no access review). A consent
    to email does not take a contact off: reconfirmation answers are rare (see bench/decay_model.py)."""
    return (
        Contact.objects.visible_to(user)
        .filter(left_at__isnull=True)
        .exclude(_active_member())
        .exclude(_org_admin_at("account"))
    )


@dataclass
class VerificationQueue:
    size: int
    done_this_week: int
    contacts: list[Contact] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return max(0, self.size - self.done_this_week)


def verification_queue(*, user: User, now: dt.datetime | None = None) -> VerificationQueue:
    """The rep's own list for this week (two or three queries): only contacts they own, whoever asks."""
    size = settings.DECAY_VERIFICATION_QUEUE_SIZE
    if not is_crm_user(user) or size <= 0:
        return VerificationQueue(size=0, done_this_week=0)
    now = now or timezone.now()
    done = OwnerVerification.objects.filter(owner=user, recorded_at__gte=week_start(now)).count()
    queue = VerificationQueue(size=size, done_this_week=done)
    if not queue.remaining:
        return queue
    fresh_cutoff, _stale = DecayPolicy.from_settings().cutoffs(now)
    mine = unreached_contacts(user=user).filter(owner=user).select_related("account")
    # Never verified first, then the stalest: two walks of the (owner, last_verified_at) index that
    # stop at the list's size, instead of sorting a big book's every stale contact per page view.
    queue.contacts = list(mine.filter(last_verified_at__isnull=True).order_by("last_verified_at")[: queue.remaining])
    if len(queue.contacts) < queue.remaining and fresh_cutoff is not None:
        queue.contacts += mine.filter(last_verified_at__lt=fresh_cutoff).order_by("last_verified_at", "pk")[
            : queue.remaining - len(queue.contacts)
        ]
    return queue


@dataclass(frozen=True)
class RepCompletion:
    owner: User
    done: int
    size: int

    @property
    def percent(self) -> int:
        return round(100 * min(self.done, self.size) / self.size) if self.size else 0


def verification_completion(*, user: User, now: dt.datetime | None = None) -> list[RepCompletion]:
    """This week's lists, rep by rep, for managers (two queries: the reps, one grouped count)."""
    size = settings.DECAY_VERIFICATION_QUEUE_SIZE
    if not sees_verification_completion(user) or size <= 0:
        return []
    now = now or timezone.now()
    done = dict(
        OwnerVerification.objects.filter(recorded_at__gte=week_start(now))
        .values_list("owner")
        .annotate(n=Count("pk"))
        .values_list("owner", "n")
    )
    reps = [u for u in User.objects.filter(is_staff=True, is_active=True).order_by("first_name", "email") if sells(u)]
    rows = [RepCompletion(owner=rep, done=done.get(rep.pk, 0), size=size) for rep in reps]
    return sorted(rows, key=lambda r: (r.percent, r.owner.get_full_name() or r.owner.email))


def accounts_needing_org_admin(*, user: User, limit: int | None = None, mine: bool = True) -> list[Account]:
    """Customer accounts without an org admin, each with ``candidate`` (a Contact or None) and
    ``invited_at`` (an open org-admin invitation's date). Reps see their own accounts; with
    ``mine=False`` managers see every account they may see. Three queries."""
    if not is_crm_user(user):
        return []
    limit = settings.REVIEWS_NOMINATION_SHOWN if limit is None else limit
    best = (
        Contact.objects.filter(account=OuterRef("pk"), left_at__isnull=True)
        .exclude(email="")
        .annotate(member=_active_member())
        .order_by("-member", F("last_verified_at").desc(nulls_last=True), "pk")
        .values("pk")[:1]
    )
    invited = (
        Invitation.objects.open().filter(account=OuterRef("pk"), roles__key="org_admin").order_by("-created_at")[:1]
    )
    accounts = Account.objects.visible_to(user).filter(_active_contract_at("pk")).exclude(_org_admin_at("pk"))
    if mine:
        accounts = accounts.filter(owner=user)
    # Annotated and decorated rows (candidate, candidate_is_member): Any to the type checker.
    rows: list[Any] = list(
        accounts.annotate(
            candidate_id=Subquery(best),
            invited_at=Subquery(invited.values("created_at")),
            invited_contact_id=Subquery(invited.values("contact_id")),
        )
        .select_related("owner")
        .order_by("name", "pk")[:limit]
    )
    for account in rows:
        # Once someone is invited, they are the one shown (and invited again), not a new pick.
        account.candidate_id = account.invited_contact_id or account.candidate_id
    candidates = Contact.objects.in_bulk([a.candidate_id for a in rows if a.candidate_id])
    members = set(
        Membership.objects.filter(contact_id__in=candidates, status=Membership.Status.ACTIVE).values_list(
            "contact_id", flat=True
        )
    )
    for account in rows:
        account.candidate = candidates.get(account.candidate_id)
        account.candidate_is_member = account.candidate_id in members
    return rows


@dataclass(frozen=True)
class OrgAdminCoverage:
    customers: int
    with_admin: int

    @property
    def without(self) -> int:
        return self.customers - self.with_admin

    @property
    def percent(self) -> float | None:
        return 100 * self.with_admin / self.customers if self.customers else None


COVERAGE_CACHE_SECONDS = 300
COVERAGE_CACHE_KEY = "reviews:org-admin-coverage"


def org_admin_coverage(*, user: User) -> OrgAdminCoverage:
    """How many customer accounts have an active org admin: one aggregate over every account
    (0.24 s at 100,000 accounts under load), so kept five minutes in the cache. Staff see every
    account, so one figure serves them all; anyone else gets nothing."""
    if not is_crm_user(user):
        return OrgAdminCoverage(0, 0)

    def count() -> tuple[int, int]:
        counts = (
            Account.objects.visible_to(user)
            .filter(_active_contract_at("pk"))
            .aggregate(customers=Count("pk"), with_admin=Count("pk", filter=_org_admin_at("pk")))
        )
        return counts["customers"], counts["with_admin"]

    cached: tuple[int, int] | None = cache.get(COVERAGE_CACHE_KEY)
    if cached is None:
        cached = count()
        cache.set(COVERAGE_CACHE_KEY, cached, COVERAGE_CACHE_SECONDS)
    return OrgAdminCoverage(*cached)
