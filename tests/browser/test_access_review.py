"""An org admin completes the access review in Chromium: one left, one changed, the rest still correct."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.models import Contact, LeftReason
from iam.models import AuditEvent, Membership
from reviews.models import AccessReview
from reviews.services import reviews_open_due
from tests.factories import ContactFactory, ExternalUserFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_org_admin_reviews_their_people_with_the_keyboard(signed_in_page):
    admin = MembershipFactory(
        user=ExternalUserFactory(email="olga.admin@acme.example", first_name="Olga", last_name="Admin"),
        roles=["org_admin", "buyer"],
    )
    account = admin.account
    leaver = MembershipFactory(
        user=ExternalUserFactory(email="lars.leaver@acme.example", first_name="Lars", last_name="Leaver"),
        account=account,
    )
    Contact.objects.filter(pk=leaver.contact_id).update(first_name="Lars", last_name="Leaver")
    changer = ContactFactory(account=account, first_name="Cora", last_name="Changer", job_title="Buyer")
    rest = [ContactFactory(account=account, last_name=f"Steady{i}") for i in range(3)]
    assert reviews_open_due() == 1

    page = signed_in_page(admin.user)
    page.goto("/portal/access-review/")
    expect(page.get_by_role("heading", name="Access review")).to_be_visible()
    expect(page.locator(".review-row")).to_have_count(6)

    leaver_row = page.locator(f"#person-{leaver.contact_id}")
    leaver_row.focus()
    page.keyboard.press("l")
    expect(leaver_row.locator('input[value="left"]')).to_be_checked()
    page.keyboard.press("ArrowDown")  # focus moves on: the next row answers to the keys
    page.locator(f"#person-{changer.pk} .review-title").fill("Head of purchasing")
    expect(page.locator(f"#person-{changer.pk} input[value='changed']")).to_be_checked()
    page.locator("#submit-review").click()
    expect(page.get_by_text("Review complete: 4 still correct, 1 changed, 1 left.")).to_be_visible()
    expect(page.get_by_text("No review is open.")).to_be_visible()

    review = AccessReview.objects.get()
    assert review.completed_by == admin.user
    left = Contact.objects.get(pk=leaver.contact_id)
    assert left.left_reason == LeftReason.ACCESS_REVIEW
    assert Membership.objects.get(pk=leaver.pk).status == Membership.Status.DEACTIVATED
    changer.refresh_from_db()
    assert (changer.job_title, changer.freshness) == ("Head of purchasing", "fresh")
    for contact in Contact.objects.filter(pk__in=[c.pk for c in rest] + [admin.contact_id]):
        assert contact.freshness == "fresh"
        assert contact.verification_method == Contact.VerificationMethod.ACCESS_REVIEW
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reviews.access_review.completed", "iam.membership.removed", "crm.contact.left"} <= actions
