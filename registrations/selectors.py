"""Reads of registrations for the staff queue and the portal, with their joins in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from crm.models import Account, AccountDomain
from iam.permissions import can_decide_registrations
from registrations.business_ids import business_id_variants
from registrations.models import RegistrationRequest


def registration_queue(*, actor) -> QuerySet[RegistrationRequest]:
    """Pending requests, oldest first, each flagged when its business id or domain is known."""
    if not can_decide_registrations(actor):
        return RegistrationRequest.objects.none()
    return RegistrationRequest.objects.queue().annotate(
        business_id_known=Exists(Account.objects.filter(business_id=OuterRef("business_id"))),
        domain_known=Exists(AccountDomain.objects.filter(domain=OuterRef("email_domain"))),
    )


def registrations_visible_to(actor) -> QuerySet[RegistrationRequest]:
    if not can_decide_registrations(actor):
        return RegistrationRequest.objects.none()
    return RegistrationRequest.objects.select_related("matched_account", "decided_by", "user", "lead")


@dataclass
class Candidate:
    account: Account
    reasons: list[str] = field(default_factory=list)

    @property
    def is_customer(self) -> bool:
        return self.account.is_customer


def registration_candidates(registration: RegistrationRequest, *, limit: int = 8) -> list[Candidate]:
    """Accounts this request matches or almost matches: same business id, same domain, similar name."""
    found: dict[int, Candidate] = {}

    def add(accounts, reason: str) -> None:
        for account in accounts:
            found.setdefault(account.pk, Candidate(account)).reasons.append(reason)

    base = Account.objects.with_customer_flag().select_related("owner")
    variants = business_id_variants(registration.country.code, registration.business_id)
    add(base.filter(business_id__in=[registration.business_id, *variants])[:limit], "same business id")
    add(base.filter(email_domains__domain=registration.email_domain).distinct()[:limit], "same email domain")
    add(_similar_names(base, registration.company_name)[:limit], "similar name")
    order = {"same business id": 0, "same email domain": 1, "similar name": 2}

    def rank(c: Candidate) -> tuple:
        return (min(order[r] for r in c.reasons), not c.is_customer, c.account.name)

    return sorted(found.values(), key=rank)[:limit]


def _similar_names(base: QuerySet[Account], name: str) -> QuerySet[Account]:
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity

        return (
            base.annotate(similarity=TrigramSimilarity("name", name))
            .filter(similarity__gte=0.3)
            .order_by("-similarity", "pk")
        )
    # SQLite has no trigrams: the longest word of the name, as a substring.
    words = sorted((w for w in name.replace(",", " ").split() if len(w) >= 3), key=len, reverse=True)
    if not words:
        return base.none()
    return base.filter(name__icontains=words[0]).order_by("name", "pk")


def registrations_awaiting_admin(*, account) -> QuerySet[RegistrationRequest]:
    """Newcomers of this account whose org admin has not confirmed them yet."""
    return (
        RegistrationRequest.objects.filter(
            matched_account=account, admin_confirmation_requested=True, admin_confirmed_at__isnull=True
        )
        .select_related("membership")
        .order_by("decided_at", "pk")
    )
