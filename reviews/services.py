"""Access reviews: opened every interval per account tier, answered by the org admin, reminded once.

- ``reviews_open_due`` (hourly job): every customer account with an active contract and an
  active org admin gets a review when its last one opened longer ago than its tier's interval.
  Set-based, and idempotent: one open review per account is a database constraint.
- ``review_submit``: the org admin's answers. "Still correct" verifies the contact now (set-based,
  with history); "changed" takes the new job title into the CRM and verifies it; "left" marks the
  contact left (crm.departures: kept, never deleted) and removes their portal access through
  ``iam.services.membership_remove`` (audited, tokens revoked, sessions ended).
- ``reviews_remind_overdue``: a review past its due date reminds its org admins once by email
  and tells the account owner (notification ``review.overdue``), claimed by a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.departures import contacts_mark_left
from crm.models import Account, Contact, Contract, LeftReason
from crm.services import contact_verify
from history.services import history_record, history_record_many, history_snapshot
from iam.audit import audit_record
from iam.models import BusinessRole, Membership
from iam.permissions import can_nominate_org_admin, can_review_access, can_verify_contact
from notifications.services import notify
from reviews.models import AccessReview, AccessReviewAnswer, OwnerVerification
from reviews.selectors import COVERAGE_CACHE_KEY
from webhooks.services import webhook_emit

if TYPE_CHECKING:
    from iam.models import User

logger = logging.getLogger(__name__)

Answer = AccessReviewAnswer.Answer


def interval_days(tier: str) -> int:
    return settings.REVIEWS_INTERVAL_DAYS_BY_TIER.get(tier, settings.REVIEWS_INTERVAL_DAYS)


def _org_admins(account_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(
        account_id=account_id, status=Membership.Status.ACTIVE, is_org_admin=True, user__is_active=True
    ).select_related("user")


def reviews_open_due(*, now: dt.datetime | None = None) -> int:
    """Open a review for every account that is due one; returns how many were opened."""
    now = now or timezone.now()
    active_contract = Exists(Contract.objects.filter(account=OuterRef("pk"), status=Contract.Status.ACTIVE))
    org_admin = Exists(
        Membership.objects.filter(
            account=OuterRef("pk"), status=Membership.Status.ACTIVE, is_org_admin=True, user__is_active=True
        )
    )
    opened = 0
    tiers = {t for t, _label in Account.Tier.choices} | set(settings.REVIEWS_INTERVAL_DAYS_BY_TIER)
    for tier in sorted(tiers):
        since = now - dt.timedelta(days=interval_days(tier))
        recent = Exists(
            AccessReview.objects.filter(account=OuterRef("pk")).filter(
                Q(completed_at__isnull=True) | Q(opened_at__gte=since)
            )
        )
        with transaction.atomic():
            due_ids = list(
                Account.objects.filter(tier=tier)
                .filter(active_contract, org_admin)
                .exclude(recent)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not due_ids:
                continue
            due_at = now + dt.timedelta(days=settings.REVIEWS_DUE_DAYS)
            # The partial unique constraint keeps it to one open review per account under a race.
            AccessReview.objects.bulk_create(
                [AccessReview(account_id=pk, opened_at=now, due_at=due_at) for pk in due_ids],
                ignore_conflicts=True,
                batch_size=1000,
            )
            created = list(
                AccessReview.objects.filter(account_id__in=due_ids, opened_at=now).values_list("pk", flat=True)
            )
            opened += len(created)
            transaction.on_commit(partial(_email_admins, created, "opened"))
    return opened


def _email_admins(review_ids: list[int], kind: str) -> None:
    """One email per org admin of each review's account (``opened`` or ``overdue``)."""
    url = settings.SITE_URL.rstrip("/") + reverse("reviews:portal_review")
    messages = []
    reviews = AccessReview.objects.filter(pk__in=review_ids).select_related("account")
    for review in reviews:
        for admin in _org_admins(review.account_id):
            context = {"review": review, "account": review.account, "user": admin.user, "url": url, "kind": kind}
            subject = (
                f"Your access review for {review.account} is overdue"
                if kind == "overdue"
                else f"Time for your quarterly access review of {review.account}"
            )
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string("reviews/email/review.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[admin.user.email],
            )
            message.attach_alternative(render_to_string("reviews/email/review.html", context), "text/html")
            messages.append(message)
    if messages:
        try:
            get_connection().send_messages(messages)
        except Exception:
            logger.exception("Could not send %d access review emails", len(messages))


def reviews_remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Remind the org admins of each overdue review once, and tell the account owner."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            AccessReview.objects.overdue(now)
            .filter(reminded_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:1000]
        )
        # The claim: whoever sets reminded_at first reminds; a re-run finds nothing to do.
        claimed = list(
            AccessReview.objects.filter(pk__in=ids, reminded_at__isnull=True)
            .select_for_update(skip_locked=True)
            .select_related("account__owner")
        )
        AccessReview.objects.filter(pk__in=[r.pk for r in claimed]).update(reminded_at=now)
        for review in claimed:
            account = review.account
            notify(
                recipient=account.owner,
                kind="review.overdue",
                title=f"{account}'s access review is overdue",
                body=f"Opened {review.opened_at:%d %b %Y}, due {review.due_at:%d %b %Y}. The org admins were reminded.",
                url=account.get_absolute_url(),
                target=account,
                dedupe_key=f"review.overdue:{review.pk}",
            )
            audit_record(actor=None, action="reviews.access_review.overdue", account=account, target=review)
        if claimed:
            transaction.on_commit(partial(_email_admins, [r.pk for r in claimed], "overdue"))
    return len(claimed)


def review_for(*, actor: User, account: Account) -> AccessReview | None:
    """The open review of the account, for an org admin of it; None when none is open."""
    if not can_review_access(actor, account):
        raise PermissionDenied("Only the organisation's admins review its people.")
    return AccessReview.objects.open().filter(account=account).first()


def review_people(review: AccessReview) -> list[Contact]:
    """The people of the review: the account's contacts who have not left, with their portal
    membership (``membership_status``, ``membership_id``) when they have one."""
    membership = Membership.objects.filter(contact=OuterRef("pk"), account_id=review.account_id).exclude(
        status=Membership.Status.DEACTIVATED
    )
    return list(
        Contact.objects.filter(account_id=review.account_id, left_at__isnull=True)
        .annotate(
            membership_status=membership.values("status")[:1],
            membership_id=membership.values("pk")[:1],
        )
        .order_by("last_name", "first_name", "pk")
    )


@dataclass(frozen=True)
class ReviewAnswer:
    answer: str
    job_title: str = ""


def review_submit(
    *, actor: User, review: AccessReview, answers: Mapping[int, ReviewAnswer], now: dt.datetime | None = None
) -> AccessReview:
    """Take the org admin's answers for every person of the review (missing ones: still correct).

    All or nothing, in one transaction; a completed review cannot be answered again.
    """
    from iam.services import membership_remove

    now = now or timezone.now()
    with transaction.atomic():
        review = AccessReview.objects.select_for_update().select_related("account").get(pk=review.pk)
        account = review.account
        if not can_review_access(actor, account):
            raise PermissionDenied("Only the organisation's admins review its people.")
        if review.completed_at is not None:
            raise BusinessRuleViolation("This review is already complete.")
        people = {c.pk: c for c in review_people(review)}
        unknown = set(answers) - set(people)
        if unknown:
            raise ValidationError("Some answers are about people who are not part of this review.")
        errors = {}
        for pk, given in answers.items():
            if given.answer not in Answer.values:
                errors[f"answer-{pk}"] = "Choose still correct, changed or left."
            elif given.answer == Answer.CHANGED and not given.job_title.strip():
                errors[f"title-{pk}"] = "Give the new job title."
        if errors:
            raise ValidationError(errors)
        resolved = {pk: answers.get(pk, ReviewAnswer(Answer.CORRECT)) for pk in people}
        own_contact = Membership.objects.filter(user=actor, account=account).values_list("contact_id", flat=True)
        if any(resolved[pk].answer == Answer.LEFT for pk in own_contact if pk in resolved):
            raise BusinessRuleViolation("You cannot mark yourself as left. Ask another admin or your account team.")

        titles_before = {pk: c.job_title for pk, c in people.items()}
        correct = [pk for pk, a in resolved.items() if a.answer == Answer.CORRECT]
        changed = {pk: a.job_title.strip() for pk, a in resolved.items() if a.answer == Answer.CHANGED}
        left = [pk for pk, a in resolved.items() if a.answer == Answer.LEFT]
        stamp = {
            "last_verified_at": now,
            "verified_by": actor,
            "verification_method": Contact.VerificationMethod.ACCESS_REVIEW,
            "updated_at": now,
        }

        # Still correct: one UPDATE, one history INSERT.
        befores = [(people[pk], history_snapshot(people[pk])) for pk in correct]
        Contact.objects.filter(pk__in=correct).update(**stamp)
        after = {c.pk: c for c in Contact.objects.filter(pk__in=correct)}
        history_record_many(actor=actor, items=[(after[c.pk], before) for c, before in befores])

        for pk, title in changed.items():
            contact = people[pk]
            before = history_snapshot(contact)
            contact.job_title = title
            for name, value in stamp.items():
                setattr(contact, name, value)
            contact.save(update_fields=["job_title", *stamp])
            history_record(actor=actor, record=contact, before=before)

        if left:
            contacts_mark_left(actor=actor, contact_ids=left, reason=LeftReason.ACCESS_REVIEW, now=now)
            leaving = Membership.objects.filter(account=account, contact_id__in=left).exclude(
                status=Membership.Status.DEACTIVATED
            )
            for membership in leaving:
                membership_remove(actor=actor, membership=membership)

        AccessReviewAnswer.objects.bulk_create(
            [
                AccessReviewAnswer(
                    review=review,
                    contact_id=pk,
                    answer=a.answer,
                    job_title_before=titles_before[pk],
                    job_title_after=changed.get(pk, ""),
                    answered_at=now,
                )
                for pk, a in resolved.items()
            ]
        )
        review.completed_at, review.completed_by = now, actor
        review.people, review.confirmed, review.changed, review.left = (
            len(resolved),
            len(correct),
            len(changed),
            len(left),
        )
        review.save()
        summary = {
            "people": review.people,
            "confirmed": review.confirmed,
            "changed": review.changed,
            "left": review.left,
        }
        audit_record(
            actor=actor, action="reviews.access_review.completed", account=account, target=review, data=summary
        )
        webhook_emit(
            "access_review.completed", data={"id": review.pk, "account": account.pk, **summary}, account=account
        )
    return review


# --- Reaching the contacts no automatic loop reaches ------------------------------------------------

Outcome = OwnerVerification.Outcome


def owner_verification_record(
    *,
    actor: User,
    contact: Contact,
    outcome: str,
    job_title: str = "",
    phone: str = "",
    now: dt.datetime | None = None,
) -> OwnerVerification:
    """The owner checked a contact (a call, a meeting): still right, changed (new job title and/or
    phone), or left. Stamps freshness (``verification_method`` rep) with history, or marks the
    contact left (crm.departures: kept, never deleted); the outcome counts on this week's list."""
    now = now or timezone.now()
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": "Choose still right, changed or left."})
    job_title, phone = job_title.strip()[:150], phone.strip()
    if outcome == Outcome.CHANGED and not (job_title or phone):
        raise ValidationError({"job_title": "Give the new job title or phone number."})
    with transaction.atomic():
        contact = Contact.objects.select_for_update().select_related("account").get(pk=contact.pk)
        if not can_verify_contact(actor, contact):
            raise PermissionDenied("Only the contact's owner (or a manager) records how it was verified.")
        if contact.left_at is not None:
            raise BusinessRuleViolation(f"{contact.full_name} is already marked as having left.")
        if outcome == Outcome.LEFT:
            contacts_mark_left(
                actor=actor, contact_ids=[contact.pk], reason=LeftReason.STAFF, detail="verified by owner", now=now
            )
        elif outcome == Outcome.VERIFIED:
            contact_verify(actor=actor, contact=contact)  # fresh from now, history, crm.contact.verified
        else:
            before = history_snapshot(contact)
            fields = ["last_verified_at", "verified_by", "verification_method", "updated_at"]
            if outcome == Outcome.CHANGED:
                if job_title:
                    contact.job_title = job_title
                    fields.append("job_title")
                if phone:
                    contact.phone = phone
                    fields.append("phone")
                    try:
                        contact.full_clean(validate_unique=False, validate_constraints=False)
                    except ValidationError as exc:
                        raise ValidationError({"phone": exc.message_dict.get("phone", exc.messages)}) from exc
            contact.last_verified_at, contact.verified_by, contact.updated_at = now, actor, now
            contact.verification_method = Contact.VerificationMethod.REP
            contact.save(update_fields=fields)
            history_record(actor=actor, record=contact, before=before)
            audit_record(actor=actor, action="crm.contact.verified", account=contact.account, target=contact)
        return OwnerVerification.objects.create(contact=contact, owner=actor, outcome=outcome, recorded_at=now)


def org_admin_nominate(*, actor: User, account: Account, contact: Contact) -> str:
    """Make ``contact`` the org admin of a customer account that has none: an active portal member
    gets the role at once (``membership_set_roles``), anyone else is invited as org admin
    (``invitation_create``). Audited (``reviews.org_admin.nominated``); returns what happened."""
    from iam.services import membership_set_roles
    from invitations.services import default_roles, invitation_create

    if not can_nominate_org_admin(actor, account):
        raise PermissionDenied("Only the account's owner (or a manager) nominates its org admin.")
    if contact.account_id != account.pk:
        raise ValidationError({"contact": "That person is not at this account."})
    if not account.contracts.filter(status=Contract.Status.ACTIVE).exists():
        raise BusinessRuleViolation(f"{account} has no active contract: there is no portal to administer yet.")
    org_admin = BusinessRole.objects.get(key="org_admin")
    with transaction.atomic():
        membership = (
            Membership.objects.filter(account=account, contact=contact, status=Membership.Status.ACTIVE)
            .select_related("user")
            .first()
        )
        if membership is not None:
            roles = {r.pk: r for r in membership.roles.all()} | {org_admin.pk: org_admin}
            membership_set_roles(actor=actor, membership=membership, roles=roles.values())
            message = f"{contact.full_name} is now the org admin of {account}."
            how = "promoted"
        else:
            if not contact.email:
                raise ValidationError({"contact": f"{contact.full_name} has no email address to invite."})
            roles = {r.pk: r for r in default_roles()} | {org_admin.pk: org_admin}
            outcome = invitation_create(actor=actor, account=account, contact=contact, roles=list(roles.values()))
            message = f"{contact.full_name} is invited as org admin of {account}. {outcome.message}"
            how = outcome.status
        audit_record(
            actor=actor,
            action="reviews.org_admin.nominated",
            account=account,
            target=contact,
            data={"contact": contact.pk, "how": how},
        )
    if how == "promoted":
        cache.delete(COVERAGE_CACHE_KEY)  # Data health shows the new admin at once
    return message
