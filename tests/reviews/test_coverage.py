"""Reaching the contacts no automatic loop reaches: the rep's weekly verification list, the
org-admin nomination of customers without one, and what managers see of both in Data health."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from crm.models import Contact, LeftReason
from history.models import RecordChange
from iam.models import AuditEvent, Membership, User
from invitations.models import Invitation
from reviews.models import AccessReview, OwnerVerification
from reviews.selectors import (
    COVERAGE_CACHE_KEY,
    accounts_needing_org_admin,
    org_admin_coverage,
    verification_queue,
)
from reviews.services import org_admin_nominate, owner_verification_record, reviews_open_due
from tests.factories import AccountFactory, ContactFactory, ContractFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=500)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SITE_URL = "http://testserver"
    settings.DECAY_VERIFICATION_QUEUE_SIZE = 3
    cache.delete(COVERAGE_CACHE_KEY)


@pytest.fixture
def rep():
    return StaffFactory(first_name="Rita")


def _stale(account, **kwargs) -> Contact:
    verified = kwargs.pop("verified", LONG_AGO)
    method = "import" if verified else ""
    return ContactFactory(account=account, last_verified_at=verified, verification_method=method, **kwargs)


# --- The weekly verification list ---------------------------------------------------------------


def test_the_list_has_only_the_reps_own_unreached_stale_contacts_stalest_first(rep):
    account = AccountFactory(owner=rep)
    never = _stale(account, verified=None)
    older = _stale(account, verified=LONG_AGO - dt.timedelta(days=100))
    _stale(account, verified=timezone.now() - dt.timedelta(days=10))  # fresh: not listed
    _stale(account, left_at=timezone.now(), left_reason=LeftReason.STAFF)  # left: not listed
    MembershipFactory(account=account, contact=_stale(account))  # portal user: reached by self-service
    reviewed = MembershipFactory(roles=["org_admin"])  # an org admin's account: reached by the review
    reviewed.account.owner = rep
    reviewed.account.save()
    _stale(reviewed.account, owner=rep)
    _stale(AccountFactory())  # another rep's contact: never on this rep's list
    queue = verification_queue(user=rep)
    assert [c.pk for c in queue.contacts] == [never.pk, older.pk]
    other_rep = StaffFactory()
    assert verification_queue(user=other_rep).contacts == []


def test_the_list_costs_the_same_queries_for_three_or_thirty_contacts(rep, django_assert_num_queries):
    account = AccountFactory(owner=rep)
    for _ in range(30):
        _stale(account)
    with django_assert_num_queries(3):  # this week's count, the never verified, the stalest
        queue = verification_queue(user=rep)
    assert len(queue.contacts) == 3  # DECAY_VERIFICATION_QUEUE_SIZE


def test_each_outcome_takes_one_off_this_weeks_list_and_records_how_it_was_verified(rep):
    account = AccountFactory(owner=rep)
    ages = (40, 30, 20, 9)
    still, changed, gone, next_one = (_stale(account, verified=LONG_AGO - dt.timedelta(days=d)) for d in ages)
    client = Client()
    client.force_login(rep)
    home = client.get("/")
    assert home.status_code == 200
    assert b"Verify this week" in home.content
    assert still.full_name.encode() in home.content
    url = "/contacts/{}/verification/"
    assert client.post(url.format(still.pk), {"outcome": "verified"}).status_code == 302
    client.post(url.format(changed.pk), {"outcome": "changed", "job_title": "Head of purchasing"})
    client.post(url.format(gone.pk), {"outcome": "left"})
    still.refresh_from_db()
    changed.refresh_from_db()
    gone.refresh_from_db()
    assert (still.freshness, still.verification_method, still.verified_by) == ("fresh", "rep", rep)
    assert (changed.job_title, changed.freshness, changed.verification_method) == ("Head of purchasing", "fresh", "rep")
    assert gone.left_reason == LeftReason.STAFF  # kept, marked
    assert gone.left_at is not None
    assert set(OwnerVerification.objects.values_list("outcome", flat=True)) == {"verified", "changed", "left"}
    assert RecordChange.objects.filter(record_type="crm.contact", record_id=changed.pk).exists()
    assert AuditEvent.objects.filter(action="crm.contact.left", target_id=str(gone.pk)).exists()
    queue = verification_queue(user=rep)
    assert (queue.done_this_week, queue.remaining, queue.contacts) == (3, 0, [])
    assert next_one not in queue.contacts  # next week's
    next_week = timezone.now() + dt.timedelta(days=7)
    assert [c.pk for c in verification_queue(user=rep, now=next_week).contacts] == [next_one.pk]


def test_changed_needs_a_new_value_and_bad_input_changes_nothing(rep):
    contact = _stale(AccountFactory(owner=rep))
    client = Client()
    client.force_login(rep)
    response = client.post(f"/contacts/{contact.pk}/verification/", {"outcome": "changed"}, follow=True)
    assert b"Give the new job title or phone number" in response.content
    response = client.post(
        f"/contacts/{contact.pk}/verification/", {"outcome": "changed", "phone": "not a phone"}, follow=True
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.last_verified_at == LONG_AGO
    assert not OwnerVerification.objects.exists()


def test_another_rep_cannot_record_an_outcome_for_my_contact_and_a_portal_user_gets_404(rep):
    contact = _stale(AccountFactory(owner=rep))
    other = StaffFactory()
    client = Client()
    client.force_login(other)
    assert client.post(f"/contacts/{contact.pk}/verification/", {"outcome": "left"}).status_code == 404
    portal = MembershipFactory()
    client.force_login(portal.user)
    assert client.post(f"/contacts/{contact.pk}/verification/", {"outcome": "left"}).status_code == 404
    contact.refresh_from_db()
    assert contact.left_at is None
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    owner_verification_record(actor=manager, contact=contact, outcome="verified")  # managers may
    assert OwnerVerification.objects.get().owner == manager


def test_managers_see_each_reps_completion_in_data_health(rep):
    account = AccountFactory(owner=rep)
    owner_verification_record(actor=rep, contact=_stale(account), outcome="verified")
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    client = Client()
    client.force_login(manager)
    response = client.get("/data-health/")
    assert response.status_code == 200
    rows = {r.owner.pk: r.done for r in response.context["verification_completion"]}
    assert rows[rep.pk] == 1
    client.force_login(rep)
    assert client.get("/data-health/").context["verification_completion"] == []  # a rep sees their own list only


# --- Nominating an org admin ---------------------------------------------------------------------


def test_customers_without_an_org_admin_are_listed_with_the_best_person_to_nominate(rep):
    customer = ContractFactory(account=AccountFactory(owner=rep)).account
    ContactFactory(account=customer, email="")  # no email: cannot be invited
    older = _stale(customer)
    best = _stale(customer, verified=timezone.now() - dt.timedelta(days=3))
    AccountFactory(owner=rep)  # a prospect: no portal to administer, not listed
    covered = MembershipFactory(roles=["org_admin"]).account
    covered.owner = rep
    covered.save()
    [row] = accounts_needing_org_admin(user=rep)
    assert (row.pk, row.candidate.pk, row.candidate_is_member) == (customer.pk, best.pk, False)
    assert older.pk != best.pk
    # An active portal member beats anyone who would have to be invited.
    member = MembershipFactory(account=customer, roles=["buyer"])
    [row] = accounts_needing_org_admin(user=rep)
    assert (row.candidate.pk, row.candidate_is_member) == (member.contact_id, True)
    assert accounts_needing_org_admin(user=StaffFactory()) == []  # another rep's accounts are not theirs


def test_one_click_invites_the_candidate_as_org_admin_and_the_review_follows(
    rep, django_capture_on_commit_callbacks, mailoutbox
):
    customer = ContractFactory(account=AccountFactory(owner=rep)).account
    person = ContactFactory(account=customer, email="pat@company.example")
    client = Client()
    client.force_login(rep)
    assert b"Invite as org admin" in client.get("/").content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/accounts/{customer.pk}/nominate-org-admin/", {"contact": person.pk})
    assert response.status_code == 302
    invitation = Invitation.objects.get(account=customer)
    assert invitation.email == "pat@company.example"
    assert "org_admin" in set(invitation.roles.values_list("key", flat=True))
    assert [m.to for m in mailoutbox] == [["pat@company.example"]]
    assert AuditEvent.objects.filter(action="reviews.org_admin.nominated", account=customer).exists()
    fresher = ContactFactory(account=customer, last_verified_at=timezone.now(), verification_method="rep")
    [row] = accounts_needing_org_admin(user=rep)
    assert row.invited_at is not None  # still waiting for them to accept: shown as invited
    assert row.candidate.pk == person.pk != fresher.pk  # the invited person, not a new pick


def test_a_portal_member_is_made_org_admin_at_once_and_gets_a_review(rep, django_capture_on_commit_callbacks):
    member = MembershipFactory(roles=["buyer"])
    member.account.owner = rep
    member.account.save()
    assert org_admin_coverage(user=rep).with_admin == 0
    org_admin_nominate(actor=rep, account=member.account, contact=member.contact)
    member.refresh_from_db()
    assert member.is_org_admin
    assert AuditEvent.objects.filter(action="iam.membership.roles_changed", target_id=str(member.pk)).exists()
    assert accounts_needing_org_admin(user=rep) == []
    coverage = org_admin_coverage(user=rep)
    assert (coverage.with_admin, coverage.customers) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reviews_open_due() == 1
    assert AccessReview.objects.get().account == member.account


def test_another_reps_account_cannot_be_nominated_for_and_nothing_changes(rep):
    customer = ContractFactory(account=AccountFactory(owner=rep)).account
    person = ContactFactory(account=customer)
    client = Client()
    client.force_login(StaffFactory())
    assert client.post(f"/accounts/{customer.pk}/nominate-org-admin/", {"contact": person.pk}).status_code == 404
    portal = MembershipFactory(roles=["org_admin"])
    client.force_login(portal.user)
    assert client.post(f"/accounts/{customer.pk}/nominate-org-admin/", {"contact": person.pk}).status_code == 404
    # A contact of another account is the same 404.
    client.force_login(rep)
    stranger = ContactFactory()
    assert client.post(f"/accounts/{customer.pk}/nominate-org-admin/", {"contact": stranger.pk}).status_code == 404
    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(account=customer).exists()


# --- The access review reaches every contact, not only portal members ------------------------------


def test_an_org_admins_review_lists_every_contact_of_their_own_organisation_only():
    from reviews.services import review_people

    admin = MembershipFactory(roles=["org_admin"])
    no_portal = ContactFactory(account=admin.account)
    elsewhere = ContactFactory()
    reviews_open_due()
    review = AccessReview.objects.get(account=admin.account)
    people = {c.pk for c in review_people(review)}
    assert no_portal.pk in people
    assert admin.contact_id in people
    assert elsewhere.pk not in people
    client = Client()
    client.force_login(admin.user)
    page = client.get("/portal/access-review/")
    assert no_portal.full_name.encode() in page.content
    assert elsewhere.full_name.encode() not in page.content


def test_my_work_costs_the_same_queries_with_one_or_many_contacts_to_verify_and_customers_without_admin(rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(rep)
    _stale(ContractFactory(account=AccountFactory(owner=rep)).account)
    client.get("/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/").status_code == 200
    for _ in range(4):
        account = ContractFactory(account=AccountFactory(owner=rep)).account
        for _ in range(5):
            _stale(account)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/")
    assert len(response.context["verification"].contacts) == 3
    assert len(response.context["needs_org_admin"]) == 5
    assert len(many) == len(few)
