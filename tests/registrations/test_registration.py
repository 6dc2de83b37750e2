"""Self-service registration: the public form, email verification, matching and automatic approval."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from crm.models import Account, AccountDomain, Contact
from iam.models import AuditEvent, Membership, User
from registrations.models import RegistrationRequest
from tests.factories import ContactFactory, ContractFactory, ExternalUserFactory, MembershipFactory
from tests.registrations.factories import PASSWORD, form_data, submitted, verified

pytestmark = pytest.mark.django_db


def _link(message, path_prefix: str) -> str:
    """The link starting with ``path_prefix`` in both bodies of ``message``; they must agree."""
    pattern = rf"https?://[^\s\"<>]+{re.escape(path_prefix)}[^\s\"<>]*"
    text_links = re.findall(pattern, message.body)
    html_links = re.findall(pattern, message.alternatives[0][0])
    assert text_links, f"no {path_prefix} link in the text body"
    assert html_links, f"no {path_prefix} link in the HTML body"
    assert text_links[0] == html_links[0]
    return text_links[0]


def _post_form(client: Client, **overrides):
    data = form_data(**overrides)
    data["terms_accepted"] = "on" if data["terms_accepted"] else ""
    return client.post(reverse("registrations:register"), data)


def _actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


@pytest.fixture
def nordlys():
    """A customer with an active contract whose business id was typed compact with its VAT prefix.

    Its people write from nordlys-robotics.fi: only an address there admits a registrant.
    """
    account = ContractFactory(account__name="Nordlys Robotics", account__business_id="FI21123456").account
    AccountDomain.objects.create(account=account, domain="nordlys-robotics.fi")
    return account


# --- The form ----------------------------------------------------------------------------------


def test_sign_in_page_links_to_registration(client):
    response = client.get(reverse("account_login"))
    assert reverse("registrations:register") in response.content.decode()


def test_form_creates_an_unverified_login_and_emails_the_verification_link(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_form(client)
    assert response.status_code == 302
    assert response.url == reverse("registrations:sent")
    registration = RegistrationRequest.objects.get()
    assert registration.status == RegistrationRequest.Status.PENDING_VERIFICATION
    assert registration.business_id == "2112345-6"
    assert str(registration.phone) == "+358401234567"
    user = registration.user
    assert user.check_password(PASSWORD)
    assert not EmailAddress.objects.get(user=user).verified
    assert (message := mail.outbox[0]).to == ["aino.virtanen@nordlys-robotics.fi"]
    assert message.subject == "Confirm your email to register Nordlys Robotics Oy"
    assert "/register/verify/" in _link(message, "/register/verify/")
    # An unverified login cannot sign in: allauth's mandatory verification stands in the way.
    assert not Client().login(email=user.email, password=PASSWORD) or not EmailAddress.objects.get(user=user).verified


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("business_id", "2112345-7", "not a valid Business ID"),  # wrong check digit
        ("business_id", "12", "not a valid Business ID"),
        ("phone", "+358 12", "phone number"),
        ("phone", "call me", "phone number"),
        ("email", "aino@gmail.com", ""),  # webmail
        ("email", "aino@mailinator.com", ""),  # disposable
        ("email", "not-an-email", ""),
        ("company_name", "", "company's name"),
        ("terms_accepted", False, "Accept the terms"),
        ("password", "short", "too short"),
    ],
)
def test_bad_input_gets_a_field_error_and_creates_nothing(client, field, value, message):
    users_before = User.objects.count()
    response = _post_form(client, **{field: value})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert f'id="field-{field}"' in response.content.decode() or field == "business_id"
    assert RegistrationRequest.objects.count() == 0
    assert User.objects.count() == users_before
    assert mail.outbox == []


def test_business_id_for_a_country_without_stdnum_rules_gets_a_generic_check(client):
    response = _post_form(client, country="KE", business_id="??", phone="+254 712 345678")
    assert "business_id" in response.context["form"].errors
    assert RegistrationRequest.objects.count() == 0


def test_honeypot_answers_like_success_and_creates_nothing(client):
    response = client.post(reverse("registrations:register"), {**form_data(terms_accepted="on"), "website": "http://x"})
    assert response.status_code == 302
    assert RegistrationRequest.objects.count() == 0
    assert mail.outbox == []


def test_registration_form_is_rate_limited_per_client_address(client, settings):
    settings.REGISTRATIONS_RATE_LIMIT_PER_IP = 2
    for n in range(2):
        assert _post_form(client, email=f"person{n}@nordlys-robotics.fi").status_code == 302
    response = _post_form(client, email="person9@nordlys-robotics.fi")
    assert response.status_code == 429
    assert "Too many registrations" in response.content.decode()
    assert not RegistrationRequest.objects.filter(email="person9@nordlys-robotics.fi").exists()


def test_registration_form_is_rate_limited_per_email_address(client, settings):
    settings.REGISTRATIONS_RATE_LIMIT_PER_EMAIL = 1
    assert _post_form(client).status_code == 302
    assert _post_form(client).status_code == 429


def test_submitting_again_updates_the_open_request_instead_of_duplicating_it(django_capture_on_commit_callbacks):
    first = submitted()
    with django_capture_on_commit_callbacks(execute=True):
        again = submitted(company_name="Nordlys Robotics Oyj", password="another long passphrase!")
    assert again.pk == first.pk
    assert RegistrationRequest.objects.count() == 1
    assert again.company_name == "Nordlys Robotics Oyj"
    assert len(mail.outbox) == 1


def test_submitting_again_cannot_set_the_password_of_the_unverified_login():
    """Whoever knows the address could otherwise choose the password its owner is about to verify."""
    first = submitted()
    submitted(password="an attackers long passphrase", first_name="Mallory")

    user = User.objects.get(pk=first.user_id)
    assert user.check_password(PASSWORD)
    assert not user.check_password("an attackers long passphrase")
    assert user.first_name != "Mallory"


def test_known_address_continues_by_signing_in_and_its_password_is_untouched(django_capture_on_commit_callbacks):
    person = ExternalUserFactory(email="aino.virtanen@nordlys-robotics.fi")
    with django_capture_on_commit_callbacks(execute=True):
        registration = submitted()
    assert registration.user == person
    assert not registration.created_user
    person.refresh_from_db()
    assert not person.check_password(PASSWORD)
    message = mail.outbox[0]
    assert message.subject == "Continue the registration of Nordlys Robotics Oy"
    url = _link(message, "/register/continue/")
    client = Client()
    path = url.split("testserver", 1)[-1] if "testserver" in url else "/" + url.split("/", 3)[3]
    assert client.get(path).status_code == 302  # sign in first
    client.force_login(person)
    assert client.get(path).status_code == 200
    client.post(path)
    registration.refresh_from_db()
    assert registration.status == RegistrationRequest.Status.PENDING


def test_staff_address_cannot_register(client):
    from tests.factories import StaffFactory

    StaffFactory(email="aino.virtanen@nordlys-robotics.fi")
    response = _post_form(client)
    assert "email" in response.context["form"].errors
    assert RegistrationRequest.objects.count() == 0


# --- Verification and automatic approval --------------------------------------------------------


def test_verify_link_confirms_on_post_only(client, nordlys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _post_form(client)
    url = _link(mail.outbox[0], "/register/verify/")
    path = url[url.index("/register/") :]
    assert client.get(path).status_code == 200
    registration = RegistrationRequest.objects.get()
    assert registration.status == RegistrationRequest.Status.PENDING_VERIFICATION
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path)
    assert response.status_code == 200
    registration.refresh_from_db()
    assert registration.status == RegistrationRequest.Status.APPROVED
    assert EmailAddress.objects.get(user=registration.user).verified
    # A used link is inert.
    assert client.post(path).status_code == 404


def test_customer_business_id_approves_automatically_as_org_admin(nordlys, django_capture_on_commit_callbacks):
    existing = ContactFactory(account=nordlys, email="Aino.Virtanen@nordlys-robotics.fi", last_name="Virtanen")
    with django_capture_on_commit_callbacks(execute=True):
        registration = verified()
    assert registration.status == RegistrationRequest.Status.APPROVED
    assert registration.decision == RegistrationRequest.Decision.AUTO_BUSINESS_ID
    assert registration.matched_account == nordlys
    assert registration.decided_by is None
    membership = Membership.objects.get(user=registration.user, account=nordlys)
    assert membership.is_org_admin
    assert membership.status == Membership.Status.ACTIVE
    assert membership.contact == existing  # linked to the contact with that email, not a new one
    assert Membership.objects.usable().filter(pk=membership.pk).exists()
    existing.refresh_from_db()
    assert existing.verification_method == Contact.VerificationMethod.SELF_SERVICE
    assert _actions(action__startswith="registrations.") == [
        "registrations.registration.submitted",
        "registrations.registration.approved",
    ]
    assert "iam.membership.created" in _actions(account=nordlys)
    welcome = mail.outbox[-1]
    assert welcome.to == [registration.email]
    assert welcome.subject == "Welcome to Clientele: Nordlys Robotics is ready"
    _link(welcome, "/auth/login/")


def test_customer_email_domain_approves_automatically(django_capture_on_commit_callbacks):
    account = ContractFactory(account__name="Nordlys Group", account__business_id="FI99999999").account
    AccountDomain.objects.create(account=account, domain="nordlys-robotics.fi")
    with django_capture_on_commit_callbacks(execute=True):
        registration = verified()
    assert registration.decision == RegistrationRequest.Decision.AUTO_DOMAIN
    assert registration.matched_account == account
    membership = Membership.objects.get(user=registration.user)
    assert membership.account == account
    assert membership.is_org_admin
    contact = membership.contact
    assert contact.account == account
    assert contact.email == registration.email
    assert str(contact.phone) == "+358401234567"


def test_a_customers_public_vat_id_with_another_domain_is_queued_not_admitted(
    nordlys, django_capture_on_commit_callbacks
):
    """VAT ids are public: an attacker who types Nordlys's with their own verified domain waits for a person."""
    with django_capture_on_commit_callbacks(execute=True):
        registration = verified(email="mallory@evil-imports.fi", company_name="Nordlys Robotics Oy")
    assert registration.status == RegistrationRequest.Status.PENDING
    assert registration.decision == ""
    assert not Membership.objects.filter(user=registration.user).exists()  # not a member, not an org admin
    assert not AuditEvent.objects.filter(action="iam.membership.created").exists()
    # The match is kept as evidence for the person who decides.
    assert registration.matched_account == nordlys
    assert registration.match_evidence["on"] == "business_id"
    assert registration.match_evidence["value"] == "FI21123456"
    assert registration.match_evidence["email_domain_is_the_accounts"] is False
    assert registration.match_evidence["customer"] is True
    assert mail.outbox[-1].subject == "We received the registration of Nordlys Robotics Oy"


def test_a_name_alone_never_admits_and_keeps_a_would_be_lead_for_a_person(settings):
    settings.REGISTRATIONS_AUTO_ADMIT_LEADS = True
    similar = ContractFactory(
        account__name="Nordlys Robotics Oy", account__business_id="FI55555555", account__country="FI"
    ).account
    registration = verified()
    assert registration.status == RegistrationRequest.Status.PENDING
    assert registration.matched_account == similar
    assert registration.match_evidence["on"] == "name"
    assert not Membership.objects.filter(user=registration.user).exists()


def test_domain_of_two_customers_is_not_enough(django_capture_on_commit_callbacks):
    for n in range(2):
        account = ContractFactory(account__business_id=f"FI{n}").account
        AccountDomain.objects.create(account=account, domain="nordlys-robotics.fi")
    registration = verified()
    assert registration.status == RegistrationRequest.Status.PENDING
    assert Membership.objects.count() == 0


def test_no_match_goes_to_the_queue_and_the_registrant_is_told(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        registration = verified()
    assert registration.status == RegistrationRequest.Status.PENDING
    assert registration.submitted_at is not None
    assert Membership.objects.count() == 0
    assert Account.objects.count() == 0
    received = mail.outbox[-1]
    assert received.to == [registration.email]
    assert received.subject == "We received the registration of Nordlys Robotics Oy"


def test_business_id_of_an_account_without_contract_waits_in_the_queue():
    prospect = ContractFactory(account__business_id="2112345-6", status="expired").account
    registration = verified()
    assert registration.status == RegistrationRequest.Status.PENDING
    assert registration.matched_account == prospect
    assert Membership.objects.count() == 0


def test_org_admin_exists_so_registrant_joins_as_member_and_admin_is_asked(nordlys, django_capture_on_commit_callbacks):
    admin = MembershipFactory(account=nordlys, roles=["org_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        registration = verified()
    membership = Membership.objects.get(user=registration.user)
    assert not membership.is_org_admin
    assert set(membership.roles.values_list("key", flat=True)) == {"buyer"}
    assert registration.admin_confirmation_requested
    ask = next(m for m in mail.outbox if m.to == [admin.user.email])
    assert ask.subject == "Aino Virtanen joined Nordlys Robotics: please confirm"
    url = _link(ask, "/portal/registrations/")

    admin_client = Client()
    admin_client.force_login(admin.user)
    page = admin_client.get(url[url.index("/portal/") :])
    assert page.status_code == 200
    assert "aino.virtanen@nordlys-robotics.fi" in page.content.decode()
    # Another member of the account may not see or decide this.
    member_client = Client()
    member_client.force_login(registration.user)
    assert member_client.get(reverse("registrations:portal_confirmations")).status_code == 404
    confirm = reverse("registrations:portal_confirm", args=[registration.pk])
    assert member_client.post(confirm, {"decision": "remove"}).status_code == 404
    assert Membership.objects.get(pk=membership.pk).status == Membership.Status.ACTIVE

    admin_client.post(confirm, {"decision": "keep"})
    registration.refresh_from_db()
    assert registration.admin_confirmed_by == admin.user
    assert "registrations.registration.admin_confirmed" in _actions(account=nordlys)
    assert Membership.objects.get(pk=membership.pk).status == Membership.Status.ACTIVE


def test_org_admin_can_remove_a_registrant_who_is_no_colleague(nordlys):
    admin = MembershipFactory(account=nordlys, roles=["org_admin"])
    registration = verified()
    client = Client()
    client.force_login(admin.user)
    client.post(reverse("registrations:portal_confirm", args=[registration.pk]), {"decision": "remove"})
    assert Membership.objects.get(user=registration.user).status == Membership.Status.DEACTIVATED
    assert "registrations.registration.admin_declined" in _actions(account=nordlys)


def test_leads_are_admitted_automatically_when_configured(settings, sales_rep):
    from crm.models import Lead

    settings.REGISTRATIONS_AUTO_ADMIT_LEADS = True
    settings.REGISTRATIONS_OWNER_EMAIL = sales_rep.email
    registration = verified()
    assert registration.decision == RegistrationRequest.Decision.AUTO_LEAD
    lead = Lead.objects.get(email=registration.email)
    assert lead.status == Lead.Status.REGISTERED
    assert lead.owner == sales_rep
    assert lead.score == settings.REGISTRATIONS_LEAD_SCORE_BONUS
    membership = Membership.objects.get(user=registration.user)
    assert membership.is_lead_only
    assert Membership.objects.usable().filter(pk=membership.pk).exists()


def test_portal_home_tells_the_org_admin_who_to_confirm(nordlys):
    admin = MembershipFactory(account=nordlys, roles=["org_admin"])
    verified()
    client = Client()
    client.force_login(admin.user)
    html = client.get(reverse("portal:home")).content.decode()
    assert 'id="newcomers-to-confirm"' in html
    assert reverse("registrations:portal_confirmations") in html


def test_a_registrant_waiting_for_review_is_told_so_when_signing_in():
    registration = verified()
    client = Client()
    client.force_login(registration.user)
    response = client.get(reverse("portal:home"), follow=True)
    assert response.status_code == 403  # the no-access page
    assert 'id="registration-under-review"' in response.content.decode()


def test_unverified_registrations_are_forgotten_with_their_logins_and_a_second_run_changes_nothing(settings):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from registrations.services import registrations_expire_unverified

    stale = submitted()
    fresh = submitted(email="ville@nordlys-robotics.fi")
    known = ExternalUserFactory(email="old.hand@nordlys-robotics.fi")
    stale_known = submitted(email=known.email)
    waiting = verified(email="pia@nordlys-robotics.fi")
    old = timezone.now() - dt.timedelta(days=settings.REGISTRATIONS_UNVERIFIED_DAYS + 1)
    RegistrationRequest.objects.filter(pk__in=[stale.pk, stale_known.pk, waiting.pk]).update(created_at=old)

    assert registrations_expire_unverified() == 2
    assert set(RegistrationRequest.objects.values_list("pk", flat=True)) == {fresh.pk, waiting.pk}
    assert not User.objects.filter(pk=stale.user_id).exists()
    assert User.objects.filter(pk=known.pk).exists()  # a login it did not create stays
    assert AuditEvent.objects.filter(action="registrations.registration.expired").count() == 2
    call_command("registrations_expire_unverified")
    assert registrations_expire_unverified() == 0
    assert AuditEvent.objects.filter(action="registrations.registration.expired").count() == 2
