"""The approval queue: who may see and decide it, and each decision's path."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.models import Account, AccountDomain, Lead
from iam.models import AuditEvent, Membership, User
from registrations import services
from registrations.models import RegistrationRequest
from tests.factories import AccountFactory, ContractFactory, LeadFactory, MembershipFactory, StaffFactory
from tests.registrations.factories import submitted, verified

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def manager(db):
    return StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)


@pytest.fixture
def service_desk(db):
    return StaffFactory(email="sam.desk@clientele.example", staff_role=User.StaffRole.SERVICE_DESK)


@pytest.fixture
def pending():
    return verified()


def _unchanged(registration: RegistrationRequest) -> None:
    fresh = RegistrationRequest.objects.get(pk=registration.pk)
    assert fresh.status == RegistrationRequest.Status.PENDING
    assert fresh.decided_at is None
    assert not Membership.objects.filter(user=registration.user).exists()


# --- Who may see and decide -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "service_desk"])
def test_managers_and_the_service_desk_work_the_queue(request, persona, pending):
    client = _client(request.getfixturevalue(persona))
    response = client.get(reverse("registrations:queue"))
    assert response.status_code == 200
    assert "Nordlys Robotics Oy" in response.content.decode()
    assert client.get(reverse("registrations:detail", args=[pending.pk])).status_code == 200


def test_sales_rep_may_not_see_or_decide_the_queue(rep_client, pending):
    assert rep_client.get(reverse("registrations:queue")).status_code == 403
    assert rep_client.get(reverse("registrations:detail", args=[pending.pk])).status_code == 403
    response = rep_client.post(reverse("registrations:approve", args=[pending.pk]), {"create_account": "on"})
    assert response.status_code == 403
    _unchanged(pending)


def test_external_users_get_404_and_anonymous_visitors_sign_in(external_client, client, pending):
    for url in (reverse("registrations:queue"), reverse("registrations:detail", args=[pending.pk])):
        assert external_client.get(url).status_code == 404
        response = client.get(url)
        assert response.status_code == 302
        assert "/auth/login/" in response.url
    assert external_client.post(reverse("registrations:reject", args=[pending.pk]), {"reason": "x"}).status_code == 404
    assert client.post(reverse("registrations:reject", args=[pending.pk]), {"reason": "x"}).status_code == 302
    _unchanged(pending)


def test_services_refuse_a_sales_rep(sales_rep, pending):
    with pytest.raises(PermissionDenied):
        services.registration_approve(actor=sales_rep, registration=pending, create_account=True)
    with pytest.raises(PermissionDenied):
        services.registration_reject(actor=sales_rep, registration=pending, reason="no")
    _unchanged(pending)


def test_queue_is_oldest_first_with_sla_age_and_match_hints(manager):
    known = AccountFactory(business_id="556123-4567")
    AccountDomain.objects.create(account=AccountFactory(), domain="old-firm.fi")
    young = verified()
    old = verified(email="olli@old-firm.fi", company_name="Old Firm Oy", business_id="0737546-2")
    by_id = verified(email="sven@svensk.se", company_name="Svensk AB", country="SE", business_id="5561234567")
    RegistrationRequest.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - dt.timedelta(hours=30))
    RegistrationRequest.objects.filter(pk=by_id.pk).update(submitted_at=timezone.now() - dt.timedelta(hours=13))
    response = _client(manager).get(reverse("registrations:queue"))
    items = response.context["items"]
    assert [r.pk for r in items] == [old.pk, by_id.pk, young.pk]
    assert [r.sla_state for r in items] == ["overdue", "due", "ok"]
    assert items[0].domain_known
    assert items[1].business_id_known
    assert known
    html = response.content.decode()
    assert "sla-overdue" in html
    assert "same business id" in html
    assert "known domain" in html


def test_a_business_id_match_with_a_foreign_domain_shows_its_evidence_to_the_decider(manager):
    acme = ContractFactory(account__name="Acme Robotics", account__business_id="FI21123456").account
    AccountDomain.objects.create(account=acme, domain="acme-robotics.fi")
    registration = verified(email="mallory@evil-imports.fi")
    client = _client(manager)

    queue = client.get(reverse("registrations:queue")).content.decode()
    assert "by business id FI21123456" in queue
    assert "email domain not the account" in queue

    detail = client.get(reverse("registrations:detail", args=[registration.pk])).content.decode()
    evidence = detail[detail.index('id="match-evidence"') :][:1200]
    assert "Acme Robotics" in evidence
    assert "business id FI21123456" in evidence
    assert "evil-imports.fi" in evidence
    assert "not approved automatically" in evidence


def test_queue_costs_the_same_with_two_or_twelve_requests(manager, django_assert_num_queries):
    client = _client(manager)
    for n in range(2):
        verified(email=f"p{n}@firm{n}.fi", company_name=f"Firm {n}")
    with django_assert_num_queries(8) as two:
        client.get(reverse("registrations:queue"))
    for n in range(2, 12):
        verified(email=f"p{n}@firm{n}.fi", company_name=f"Firm {n}")
    with django_assert_num_queries(len(two.captured_queries)):
        response = client.get(reverse("registrations:queue"))
    assert len(response.context["items"]) == 12


def test_unverified_requests_are_not_in_the_queue_and_cannot_be_decided(manager):
    registration = submitted()
    assert list(RegistrationRequest.objects.queue()) == []
    with pytest.raises(BusinessRuleViolation):
        services.registration_approve(actor=manager, registration=registration, create_account=True)


def test_detail_shows_what_almost_matched(manager):
    AccountFactory(name="Nordlys Robotics AB", business_id="SE-1")
    same_domain = AccountFactory(name="Different Name Ltd", business_id="X-2")
    AccountDomain.objects.create(account=same_domain, domain="nordlys-robotics.fi")
    registration = verified()
    response = _client(manager).get(reverse("registrations:detail", args=[registration.pk]))
    reasons = {c.account.name: c.reasons for c in response.context["candidates"]}
    assert reasons["Different Name Ltd"] == ["same email domain"]
    assert "similar name" in reasons["Nordlys Robotics AB"]


# --- Decisions --------------------------------------------------------------------------------


def test_approve_linking_to_an_existing_account(manager, pending, django_capture_on_commit_callbacks):
    account = ContractFactory(account__name="Nordlys Holding").account
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(manager).post(reverse("registrations:approve", args=[pending.pk]), {"account": account.pk})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == RegistrationRequest.Status.APPROVED
    assert pending.decision == RegistrationRequest.Decision.LINKED
    assert pending.decided_by == manager
    membership = Membership.objects.get(user=pending.user, account=account)
    assert membership.is_org_admin
    assert Membership.objects.usable().filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="registrations.registration.approved")
    assert event.actor == manager
    assert event.account_id == account.pk
    assert mail.outbox[-1].to == [pending.email]
    assert mail.outbox[-1].subject == "Welcome to Clientele: Nordlys Holding is ready"


def test_approve_creating_account_and_contact(manager, pending):
    services.registration_approve(actor=manager, registration=pending, create_account=True)
    account = Account.objects.get(business_id="2112345-6")
    assert account.name == "Nordlys Robotics Oy"
    assert account.country.code == "FI"
    assert list(account.email_domains.values_list("domain", flat=True)) == ["nordlys-robotics.fi"]
    membership = Membership.objects.get(user=pending.user)
    assert membership.account == account
    assert membership.contact.email == pending.email
    # No contract yet: the membership exists, and says it waits for one.
    assert membership.status == Membership.Status.SUSPENDED
    assert membership.suspended_by == "contract"
    pending.refresh_from_db()
    assert pending.decision == RegistrationRequest.Decision.CREATED


def test_a_second_registration_of_the_same_company_creates_no_second_account(manager, pending):
    services.registration_approve(actor=manager, registration=pending, create_account=True)
    second = verified(email="ville@nordlys-robotics.fi", first_name="Ville", business_id="FI 21123456")
    services.registration_approve(actor=manager, registration=second, create_account=True)
    assert Account.objects.count() == 1
    second.refresh_from_db()
    assert second.decision == RegistrationRequest.Decision.LINKED
    assert second.matched_account == Account.objects.get()
    # The first registrant is the org admin, but without a contract their membership is not usable;
    # so the second becomes org admin too rather than waiting for a confirmation nobody can give.
    assert Membership.objects.filter(account=second.matched_account).count() == 2


def test_linking_to_another_account_than_the_business_ids_is_refused(manager):
    AccountFactory(name="The Real Nordlys", business_id="2112345-6")
    other = AccountFactory(name="Someone Else")
    registration = verified()
    with pytest.raises(BusinessRuleViolation):
        services.registration_approve(actor=manager, registration=registration, account=other)
    _unchanged(registration)


def test_reject_sends_the_reason(manager, pending, django_capture_on_commit_callbacks):
    client = _client(manager)
    assert client.post(reverse("registrations:reject", args=[pending.pk]), {"reason": " "}).status_code == 302
    _unchanged(pending)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("registrations:reject", args=[pending.pk]), {"reason": "We only serve companies in the EU."}
        )
    pending.refresh_from_db()
    assert pending.status == RegistrationRequest.Status.REJECTED
    assert pending.reason == "We only serve companies in the EU."
    message = mail.outbox[-1]
    assert message.to == [pending.email]
    assert message.subject == "Your registration of Nordlys Robotics Oy"
    assert "We only serve companies in the EU." in message.body
    assert "We only serve companies in the EU." in message.alternatives[0][0]
    assert AuditEvent.objects.filter(action="registrations.registration.rejected", actor=manager).exists()
    with pytest.raises(BusinessRuleViolation):
        services.registration_approve(actor=manager, registration=pending, create_account=True)


def test_ask_for_information_and_the_answer_returns_it_to_the_queue(
    manager, pending, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _client(manager).post(
            reverse("registrations:request_info", args=[pending.pk]), {"message": "Which contract number do you have?"}
        )
    pending.refresh_from_db()
    assert pending.status == RegistrationRequest.Status.INFO_REQUESTED
    message = mail.outbox[-1]
    assert message.to == [pending.email]
    assert message.subject == "A question about your registration of Nordlys Robotics Oy"
    assert "Which contract number do you have?" in message.body
    pattern = r"https?://[^\s\"<>]+/register/respond/[^\s\"<>]+"
    text_url = re.findall(pattern, message.body)[0]
    assert text_url in message.alternatives[0][0]
    path = text_url[text_url.index("/register/") :]

    registrant = Client()
    page = registrant.get(path)
    assert "Which contract number do you have?" in page.content.decode()
    assert registrant.post(path, {"response": ""}).status_code == 200
    assert RegistrationRequest.objects.get(pk=pending.pk).status == RegistrationRequest.Status.INFO_REQUESTED
    registrant.post(path, {"response": "C-2026-00042"})
    pending.refresh_from_db()
    assert pending.status == RegistrationRequest.Status.PENDING
    assert pending.info_response == "C-2026-00042"
    assert pending in RegistrationRequest.objects.queue()
    # The link does not take a second answer.
    registrant.post(path, {"response": "something else"})
    assert RegistrationRequest.objects.get(pk=pending.pk).info_response == "C-2026-00042"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"registrations.registration.info_requested", "registrations.registration.info_provided"} <= actions
    assert registrant.get(path.replace("/respond/", "/respond/x")).status_code == 404


def test_an_answer_link_stays_dead_when_staff_ask_a_second_question(
    manager, pending, django_capture_on_commit_callbacks
):
    def ask(question: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            _client(manager).post(reverse("registrations:request_info", args=[pending.pk]), {"message": question})
        url = re.findall(r"https?://[^\s\"<>]+/register/respond/[^\s\"<>]+", mail.outbox[-1].body)[0]
        return url[url.index("/register/") :]

    first = ask("Which contract number do you have?")
    Client().post(first, {"response": "C-2026-00042"})
    second = ask("And your customer number?")

    Client().post(first, {"response": "an answer to the old question"})
    assert RegistrationRequest.objects.get(pk=pending.pk).status == RegistrationRequest.Status.INFO_REQUESTED
    Client().post(second, {"response": "K-7781"})
    answered = RegistrationRequest.objects.get(pk=pending.pk)
    assert (answered.status, answered.info_response) == (RegistrationRequest.Status.PENDING, "K-7781")


def test_admit_as_lead_creates_the_lead_and_lead_only_access(manager, pending, settings):
    services.registration_admit_lead(actor=manager, registration=pending)
    lead = Lead.objects.get(email=pending.email)
    assert lead.status == Lead.Status.REGISTERED
    assert lead.score == settings.REGISTRATIONS_LEAD_SCORE_BONUS
    assert lead.owner == manager
    membership = Membership.objects.get(user=pending.user)
    assert membership.is_lead_only
    assert list(membership.roles.values_list("key", flat=True)) == ["lead"]
    assert Membership.objects.usable().filter(pk=membership.pk).exists()
    assert AuditEvent.objects.filter(action="crm.lead.registered", target_id=str(lead.pk)).exists()
    assert lead.activities.get().subject == f"Registered for the portal: {pending.email}"
    pending.refresh_from_db()
    assert pending.decision == RegistrationRequest.Decision.LEAD
    assert pending.lead == lead


def test_admit_as_lead_matches_an_existing_lead_by_email_and_raises_its_score(manager, pending, settings):
    existing = LeadFactory(email="AINO.VIRTANEN@nordlys-robotics.fi", score=40)
    services.registration_admit_lead(actor=manager, registration=pending)
    existing.refresh_from_db()
    assert Lead.objects.count() == 1
    assert existing.score == 40 + settings.REGISTRATIONS_LEAD_SCORE_BONUS
    assert existing.status == Lead.Status.REGISTERED


def test_member_of_a_customer_with_an_admin_is_confirmed_after_a_manual_link(manager, pending):
    account = ContractFactory().account
    MembershipFactory(account=account, roles=["org_admin"])
    services.registration_approve(actor=manager, registration=pending, account=account)
    pending.refresh_from_db()
    assert pending.admin_confirmation_requested
    assert not Membership.objects.get(user=pending.user).is_org_admin


def test_a_race_to_create_the_same_company_links_the_loser_to_the_winners_account(manager, pending, monkeypatch):
    """The lookup found nothing (the other approval had not committed): the constraint decides."""
    from crm import services as crm_services

    winner = AccountFactory(name="Nordlys (created a moment ago)", business_id="2112345-6")
    monkeypatch.setattr(crm_services, "account_match", lambda **_: None)  # missing the concurrent insert
    services.registration_approve(actor=manager, registration=pending, create_account=True)
    assert Account.objects.filter(business_id="2112345-6").count() == 1
    pending.refresh_from_db()
    assert pending.matched_account == winner
    assert pending.decision == RegistrationRequest.Decision.LINKED


def test_service_desk_approves_creating_the_account_from_the_page(service_desk, pending):
    client = _client(service_desk)
    response = client.post(reverse("registrations:approve", args=[pending.pk]), {"create_account": "on"}, follow=True)
    assert response.status_code == 200
    assert "is now a user of Nordlys Robotics Oy" in response.content.decode()
    account = Account.objects.get()
    assert account.business_id == "2112345-6"
    assert AuditEvent.objects.filter(action="crm.account.created", account_id=account.pk, actor=service_desk).exists()
    # Asking again is refused with a message, and changes nothing.
    response = client.post(reverse("registrations:approve", args=[pending.pk]), {"create_account": "on"}, follow=True)
    assert "already decided" in response.content.decode()
    assert Account.objects.count() == 1
    assert Membership.objects.count() == 1


def test_approve_without_a_choice_is_refused(manager, pending):
    response = _client(manager).post(reverse("registrations:approve", args=[pending.pk]), {}, follow=True)
    assert "Choose the account to link" in response.content.decode()
    _unchanged(pending)


def test_a_lapsed_customers_suspended_admin_still_confirms_a_new_registrant(manager, pending):
    """The contract's end suspended the org admin; they come back at renewal, so the newcomer is no admin."""
    account = ContractFactory().account
    admin = MembershipFactory(account=account, roles=["org_admin"])
    Membership.objects.filter(pk=admin.pk).update(
        status=Membership.Status.SUSPENDED, suspended_by=Membership.SuspendedBy.CONTRACT
    )

    services.registration_approve(actor=manager, registration=pending, account=account)

    pending.refresh_from_db()
    assert pending.admin_confirmation_requested
    assert not Membership.objects.get(user=pending.user).is_org_admin


def test_a_rejection_reason_longer_than_the_form_allows_changes_nothing(manager, pending):
    response = _client(manager).post(reverse("registrations:reject", args=[pending.pk]), {"reason": "x" * 2001})

    assert response.status_code in (200, 302)
    _unchanged(pending)
    assert mail.outbox == []


def test_a_prospect_without_a_contract_is_told_truthfully_when_access_starts(
    manager, pending, django_capture_on_commit_callbacks
):
    """#15: not "…is ready" by email and "paused … when renewed" in the portal for a company never a customer."""
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_approve(actor=manager, registration=pending, create_account=True)

    approved = mail.outbox[-1]
    assert approved.subject == "Your registration for Nordlys Robotics Oy is approved: access starts with your contract"
    for body in (approved.body, approved.alternatives[0][0]):
        assert "is ready" not in body
        assert "has no active contract with us yet" in body
    client = _client(pending.user)
    html = client.get(reverse("portal:home"), follow=True).content.decode()
    assert 'id="prospect-waiting"' in html
    assert "is not a customer of ours yet" in html
    assert "renewed" not in html
    assert "paused" not in html


def test_a_former_customers_member_is_told_access_is_paused_until_renewal(manager, pending):
    from crm.models import Contract

    account = ContractFactory(account__name="Nordlys Holding", status=Contract.Status.EXPIRED).account
    services.registration_approve(actor=manager, registration=pending, account=account)

    html = _client(pending.user).get(reverse("portal:home"), follow=True).content.decode()
    assert "access is paused" in html
    assert "renewed" in html
