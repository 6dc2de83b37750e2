"""Access reviews: opened per tier interval, answered by the org admin, reminded once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm.models import Contact, LeftReason
from iam.models import AuditEvent, Membership
from notifications.models import Notification
from reviews.models import AccessReview
from reviews.services import ReviewAnswer, review_submit, reviews_open_due, reviews_remind_overdue
from reviews.tasks import reviews_open_and_remind
from tests.factories import ContactFactory, ContractFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SITE_URL = "http://testserver"
    settings.REVIEWS_INTERVAL_DAYS = 91
    settings.REVIEWS_INTERVAL_DAYS_BY_TIER = {"strategic": 30}
    settings.REVIEWS_DUE_DAYS = 14


@pytest.fixture
def admin(django_capture_on_commit_callbacks):
    return MembershipFactory(roles=["org_admin", "buyer"])


def _open(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return reviews_open_due(**kwargs)


def test_each_customer_with_an_org_admin_gets_one_review_and_its_admins_an_email(
    admin, django_capture_on_commit_callbacks
):
    MembershipFactory(account=admin.account)  # a member, not an admin: no email
    ContractFactory()  # a customer without org admin: nobody to review
    assert _open(django_capture_on_commit_callbacks) == 1
    assert _open(django_capture_on_commit_callbacks) == 0  # idempotent
    review = AccessReview.objects.get()
    assert review.account == admin.account
    [message] = mail.outbox
    assert message.to == [admin.user.email]
    assert "http://testserver/portal/access-review/" in message.body
    assert "http://testserver/portal/access-review/" in message.alternatives[0][0]


def test_the_interval_follows_the_account_tier(admin, django_capture_on_commit_callbacks):
    _open(django_capture_on_commit_callbacks)
    review = AccessReview.objects.get()
    review_submit(actor=admin.user, review=review, answers={})
    in_45_days = timezone.now() + dt.timedelta(days=45)
    assert _open(django_capture_on_commit_callbacks, now=in_45_days) == 0  # standard: quarterly
    admin.account.tier = "strategic"
    admin.account.save()
    assert _open(django_capture_on_commit_callbacks, now=in_45_days) == 1  # strategic: monthly


def test_answers_flow_into_crm_access_audit_and_freshness(admin, django_capture_on_commit_callbacks):
    account = admin.account
    leaver = MembershipFactory(account=account)
    changer = ContactFactory(account=account, job_title="Buyer")
    rest = [ContactFactory(account=account) for _ in range(3)]
    _open(django_capture_on_commit_callbacks)
    review = AccessReview.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        review_submit(
            actor=admin.user,
            review=review,
            answers={
                leaver.contact_id: ReviewAnswer("left"),
                changer.pk: ReviewAnswer("changed", "Head of purchasing"),
            },
        )
    review.refresh_from_db()
    assert (review.people, review.confirmed, review.changed, review.left) == (6, 4, 1, 1)
    leaver_contact = Contact.objects.get(pk=leaver.contact_id)
    assert leaver_contact.left_reason == LeftReason.ACCESS_REVIEW  # kept, marked
    assert Membership.objects.get(pk=leaver.pk).status == Membership.Status.DEACTIVATED
    changer.refresh_from_db()
    assert (changer.job_title, changer.freshness) == ("Head of purchasing", "fresh")
    assert changer.verification_method == Contact.VerificationMethod.ACCESS_REVIEW
    for contact in Contact.objects.filter(pk__in=[c.pk for c in rest] + [admin.contact_id]):
        assert (contact.freshness, contact.verified_by_id) == ("fresh", admin.user_id)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reviews.access_review.completed", "iam.membership.removed", "crm.contact.left"} <= actions
    assert Notification.objects.filter(kind="contact.left", recipient=account.owner).count() == 1


def test_outsiders_and_members_cannot_answer(admin, django_capture_on_commit_callbacks):
    _open(django_capture_on_commit_callbacks)
    review = AccessReview.objects.get()
    member = MembershipFactory(account=admin.account)
    other_admin = MembershipFactory(roles=["org_admin"])
    staff = StaffFactory()
    for user in (member.user, other_admin.user, staff):
        with pytest.raises(Exception, match="admins"):
            review_submit(actor=user, review=review, answers={})
    assert AccessReview.objects.get().completed_at is None
    # Through the portal: another account's admin sees their own (no) review, never this one.
    client = Client()
    client.force_login(other_admin.user)
    response = client.post("/portal/access-review/", {f"answer-{admin.contact_id}": "left"})
    assert response.status_code == 200
    assert AccessReview.objects.get().completed_at is None
    client.force_login(member.user)
    assert client.get("/portal/access-review/").status_code == 403


def test_an_admin_cannot_mark_themselves_left(admin, django_capture_on_commit_callbacks):
    _open(django_capture_on_commit_callbacks)
    review = AccessReview.objects.get()
    with pytest.raises(Exception, match="yourself"):
        review_submit(actor=admin.user, review=review, answers={admin.contact_id: ReviewAnswer("left")})


def test_changed_without_a_title_is_a_form_error_and_changes_nothing(admin, django_capture_on_commit_callbacks):
    _open(django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(admin.user)
    response = client.post("/portal/access-review/", {f"answer-{admin.contact_id}": "changed"})
    assert response.status_code == 400
    assert b"Give the new job title" in response.content
    assert AccessReview.objects.get().completed_at is None
    assert Contact.objects.get(pk=admin.contact_id).last_verified_at is None


def test_an_overdue_review_reminds_once_and_tells_the_owner(admin, django_capture_on_commit_callbacks):
    _open(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    later = timezone.now() + dt.timedelta(days=15)
    with django_capture_on_commit_callbacks(execute=True):
        assert reviews_remind_overdue(now=later) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert reviews_remind_overdue(now=later + dt.timedelta(days=1)) == 0
    [reminder] = mail.outbox
    assert reminder.to == [admin.user.email]
    assert "overdue" in reminder.subject
    [told] = Notification.objects.filter(kind="review.overdue")
    assert told.recipient == admin.account.owner


def test_the_task_opens_and_reminds_and_a_second_run_changes_nothing(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert reviews_open_and_remind() == {"opened": 1, "reminded": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert reviews_open_and_remind() == {"opened": 0, "reminded": 0}
    assert len(mail.outbox) == 1


def test_the_review_page_costs_the_same_queries_for_few_or_many_people(
    admin, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    _open(django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(admin.user)
    client.get("/portal/access-review/")
    for _ in range(30):
        ContactFactory(account=admin.account)
    with django_assert_max_num_queries(20):
        response = client.get("/portal/access-review/")
    assert response.status_code == 200
    assert response.content.count(b'class="review-row') == 31


def test_staff_see_review_completion_on_the_account_and_the_data_health_page(
    admin, django_capture_on_commit_callbacks, rep_client
):
    from analytics.services import data_health_refresh

    _open(django_capture_on_commit_callbacks)
    page = rep_client.get(f"/accounts/{admin.account_id}/").content.decode()
    assert "Access review open" in page
    review = AccessReview.objects.get()
    leaver = ContactFactory(account=admin.account, first_name="Lena", last_name="Left")
    review_submit(actor=admin.user, review=review, answers={leaver.pk: ReviewAnswer("left")})
    page = rep_client.get(f"/accounts/{admin.account_id}/").content.decode()
    assert "Reviewed" in page
    assert "1 left" in page
    data_health_refresh()
    html = rep_client.get("/data-health/").content.decode()
    assert "Access reviews completed" in html
    assert "100 %" in html
    assert "Lena Left" in html  # left this month
    assert "Marked as left in an access review" in html
    assert "in 12 months" in html  # the forecast, from the nightly snapshot


def test_overdue_reviews_are_listed_for_staff(admin, django_capture_on_commit_callbacks, rep_client):
    from analytics.services import data_health_refresh

    _open(django_capture_on_commit_callbacks, now=timezone.now() - dt.timedelta(days=20))
    data_health_refresh()
    html = rep_client.get("/data-health/").content.decode()
    assert "Overdue access reviews" in html
    assert admin.account.name in html
    assert "No review is overdue" not in html
