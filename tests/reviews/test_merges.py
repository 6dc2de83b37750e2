"""Merging contacts and accounts keeps the access reviews' answers and the owners' verifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dedup.services import merge_records
from iam.models import AuditEvent, User
from reviews.models import AccessReview, AccessReviewAnswer, OwnerVerification
from reviews.services import ReviewAnswer, review_submit, reviews_open_due
from tests.factories import ContactFactory, ContractFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)


def _reviewed(admin, answers):
    reviews_open_due()
    review = AccessReview.objects.open().get(account=admin.account)
    return review_submit(actor=admin.user, review=review, answers=answers)


def test_merging_two_contacts_keeps_the_merged_ones_review_answers_and_verifications(manager):
    admin = MembershipFactory(roles=["org_admin"])
    survivor, merged = ContactFactory(account=admin.account), ContactFactory(account=admin.account)
    review = _reviewed(admin, {merged.pk: ReviewAnswer("changed", "CFO")})
    verification = OwnerVerification.objects.create(contact=merged, owner=manager, outcome="verified")
    answer = AccessReviewAnswer.objects.get(review=review, contact=merged)
    merge_records(actor=manager, survivor=survivor, merged=merged, values={})
    # In one review both were answered: the survivor's answer stays (one per person and review).
    kept = AccessReviewAnswer.objects.filter(review=review, contact=survivor)
    assert list(kept.values_list("answer", flat=True)) == ["correct"]
    assert not AccessReviewAnswer.objects.filter(pk=answer.pk).exists()
    verification.refresh_from_db()
    assert verification.contact_id == survivor.pk


def test_a_merged_contacts_answer_in_a_review_the_survivor_was_not_in_moves_to_the_survivor(manager):
    admin = MembershipFactory(roles=["org_admin"])
    merged = ContactFactory(account=admin.account)
    review = _reviewed(admin, {merged.pk: ReviewAnswer("changed", "CFO")})
    survivor = ContactFactory(account=admin.account)  # added after the review
    merge_records(actor=manager, survivor=survivor, merged=merged, values={})
    moved = AccessReviewAnswer.objects.get(review=review, contact=survivor)
    assert (moved.answer, moved.job_title_after) == ("changed", "CFO")


def test_merging_two_accounts_with_open_reviews_keeps_the_survivors_and_discards_the_other(manager):
    survivor_admin = MembershipFactory(roles=["org_admin"])
    merged_admin = MembershipFactory(roles=["org_admin"])
    reviews_open_due()
    kept = AccessReview.objects.open().get(account=survivor_admin.account)
    dropped = AccessReview.objects.open().get(account=merged_admin.account)
    merge_records(actor=manager, survivor=survivor_admin.account, merged=merged_admin.account, values={})
    assert list(AccessReview.objects.open().values_list("pk", flat=True)) == [kept.pk]
    assert not AccessReview.objects.filter(pk=dropped.pk).exists()
    assert AuditEvent.objects.filter(action="reviews.access_review.discarded", target_id=str(dropped.pk)).exists()
    # The survivor's open review now lists the merged account's people too.
    from reviews.services import review_people

    assert merged_admin.contact_id in {c.pk for c in review_people(kept)}


def test_merging_accounts_moves_completed_reviews_and_an_open_one_when_the_survivor_has_none(manager):
    merged_admin = MembershipFactory(roles=["org_admin"])
    done = _reviewed(merged_admin, {})
    AccessReview.objects.filter(pk=done.pk).update(opened_at=timezone.now() - dt.timedelta(days=200))
    reviews_open_due()
    open_one = AccessReview.objects.open().get(account=merged_admin.account)
    survivor = ContractFactory().account
    merge_records(actor=manager, survivor=survivor, merged=merged_admin.account, values={})
    assert set(AccessReview.objects.filter(account=survivor).values_list("pk", flat=True)) == {done.pk, open_one.pk}


def test_an_account_with_an_audit_trail_can_be_merged_and_its_trail_stays_as_written(manager):
    # The audit trail is append-only (a PostgreSQL trigger refuses UPDATE): a merge must not move it.
    merged_admin = MembershipFactory(roles=["org_admin"])
    _reviewed(merged_admin, {})
    merged_id = merged_admin.account.pk
    written = AuditEvent.objects.filter(account_id=merged_id).count()
    assert written
    survivor = ContractFactory().account
    merge_records(actor=manager, survivor=survivor, merged=merged_admin.account, values={})
    assert AuditEvent.objects.filter(account_id=merged_id).count() == written
    merged_event = AuditEvent.objects.get(action="crm.account.merged")
    assert merged_event.data["merged_id"] == merged_id
