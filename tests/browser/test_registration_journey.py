"""Self-service registration in a real browser: one approved automatically, one through the queue."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from crm.models import AccountDomain
from iam.models import Membership, User
from registrations.models import RegistrationRequest
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, sign_in
from tests.factories import ContractFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long registrant passphrase"


def _register(page: Page, *, company: str, business_id: str, email: str) -> None:
    page.goto("/auth/login/")
    page.get_by_role("link", name="Register your organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your organisation")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Country of registration").select_option("FI")
    page.get_by_label("Business / registration id").fill(business_id)
    page.get_by_label("First name").fill("Aino")
    page.get_by_label("Last name").fill("Virtanen")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Phone").fill("040 123 4567")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I accept the terms").check()
    page.get_by_role("button", name="Register and verify my email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")


def _verify_from_inbox(page: Page, email: str) -> None:
    message = next(m for m in reversed(mail.outbox) if m.to == [email])
    url = re.search(r"https?://\S+/register/verify/\S+", message.body).group(0)
    page.goto(url)
    page.get_by_role("button", name="Confirm and continue").click()


def test_a_customer_registers_and_is_approved_automatically(page: Page):
    nordlys = ContractFactory(account__name="Nordlys Robotics", account__business_id="2112345-6").account
    # The business id alone is public; the address at the customer's own domain admits.
    AccountDomain.objects.create(account=nordlys, domain="nordlys-robotics.fi")
    _register(page, company="Nordlys Robotics Oy", business_id="2112345-6", email="aino@nordlys-robotics.fi")

    registration = RegistrationRequest.objects.get()
    assert registration.status == RegistrationRequest.Status.PENDING_VERIFICATION

    _verify_from_inbox(page, "aino@nordlys-robotics.fi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Clientele")
    expect(page.locator("#registration-status")).to_contain_text("administrator of Nordlys Robotics")

    page.locator("#sign-in").click()
    sign_in(page, email="aino@nordlys-robotics.fi", password=PASSWORD)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator(".portal-topbar")).to_contain_text("Nordlys Robotics")
    membership = Membership.objects.get(user__email="aino@nordlys-robotics.fi")
    assert membership.is_org_admin


def test_bad_business_id_is_refused_in_the_form(page: Page):
    page.goto("/register/")
    page.get_by_label("Country of registration").select_option("FI")
    page.get_by_label("Business / registration id").fill("2112345-7")
    page.get_by_role("button", name="Register and verify my email").click()
    expect(page.locator("#field-business_id")).to_contain_text("not a valid Business ID")
    expect(page.get_by_label("Business / registration id")).to_have_class(re.compile("is-invalid"))
    assert RegistrationRequest.objects.count() == 0


def test_an_unknown_company_goes_through_the_queue(page: Page, browser, live_server):
    customer = ContractFactory(account__name="Fjord Analytics", account__business_id="FI07375462").account
    AccountDomain.objects.create(account=customer, domain="fjord-analytics.com")
    manager = StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)

    _register(page, company="Fjord Analytics Oy", business_id="2112345-6", email="aino@fjordanalytics.fi")
    _verify_from_inbox(page, "aino@fjordanalytics.fi")
    expect(page.get_by_role("heading", level=1)).to_contain_text("we are reviewing your registration")

    staff = browser.new_context(base_url=live_server.url)
    staff.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        desk = staff.new_page()
        sign_in(desk, email=manager.email, password="correct horse battery staple")
        desk.get_by_role("link", name="Registrations").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("Registrations")
        desk.get_by_role("link", name="Fjord Analytics Oy").click()
        candidate = desk.locator(".reg-candidate").filter(has_text="Fjord Analytics")
        expect(candidate).to_contain_text("similar name")
        candidate.get_by_role("button", name="Approve into this account").click()
        expect(desk.locator(".alert-success")).to_contain_text("is now a user of Fjord Analytics")
    finally:
        staff.close()

    registration = RegistrationRequest.objects.get()
    assert registration.status == RegistrationRequest.Status.APPROVED
    assert registration.decided_by == manager
    approved = next(m for m in reversed(mail.outbox) if m.to == ["aino@fjordanalytics.fi"])
    assert approved.subject == "Welcome to Clientele: Fjord Analytics is ready"

    sign_in(page, email="aino@fjordanalytics.fi", password=PASSWORD)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator(".portal-topbar")).to_contain_text("Fjord Analytics")
