"""The service desk in a real browser: a customer raises a case in the portal and sees a suggested
article, staff reply, the customer answers by email, and the case resolves."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from playwright.sync_api import expect

from cases.inbound import case_inbound_email
from cases.models import Case
from iam.models import User
from tests.browser.conftest import FACTORY_PASSWORD, sign_in
from tests.factories import ArticleFactory, MembershipFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_raises_a_case_staff_reply_customer_answers_by_email_and_it_resolves(
    browser, live_server, smtp_mail, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    ArticleFactory(title="Exporting reports to Excel", body="Choose Export, then Excel.", summary="Step by step.")
    customer = MembershipFactory(user__email="dana@acme.example", user__first_name="Dana", roles=["technical_contact"])
    agent = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK, first_name="Sam", last_name="Support")

    portal = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900}).new_page()
    sign_in(portal, email=customer.user.email, password=FACTORY_PASSWORD)
    portal.goto("/portal/")
    portal.get_by_role("link", name="Raise a case").first.click()
    portal.get_by_label("Subject").fill("Excel export fails")
    suggested = portal.locator("#suggestions").get_by_role("link", name="Exporting reports to Excel")
    expect(suggested).to_be_visible()
    portal.get_by_label("Description").fill("The export button shows an error since Monday.")
    portal.get_by_label("Severity").select_option("high")
    portal.get_by_role("button", name="Raise the case").click()
    expect(portal).to_have_url(re.compile(r"/portal/cases/\d+/$"))
    case = Case.objects.get()
    expect(portal.get_by_role("heading", level=1)).to_contain_text("Excel export fails")

    staff = browser.new_context(base_url=live_server.url).new_page()
    sign_in(staff, email=agent.email, password=FACTORY_PASSWORD)
    staff.goto("/cases/")
    staff.get_by_role("link", name=re.compile("Excel export fails")).click()
    staff.get_by_label("Message").fill("Please try again: we fixed the export.")
    staff.get_by_label("Then set the case to").select_option("waiting")
    staff.get_by_role("button", name="Send").click()
    expect(staff.locator("#conversation")).to_contain_text("we fixed the export")
    sent = smtp_mail.messages[-1]
    assert sent.rcpt_tos == ("dana@acme.example",)

    answer = EmailMessage()
    answer["From"] = "Dana <dana@acme.example>"
    answer["To"] = str(sent.message["Reply-To"])
    answer["Subject"] = f"Re: {sent.subject}"
    answer["Message-ID"] = make_msgid()
    answer["In-Reply-To"] = str(sent.message["Message-ID"])
    answer.set_content("Works now, thanks!\n\nOn Monday Sam wrote:\n> Please try again")
    assert case_inbound_email(answer.as_bytes()).case == case

    portal.reload()
    expect(portal.locator("#conversation")).to_contain_text("Works now, thanks!")
    portal.get_by_role("button", name="It is solved").click()
    expect(portal.get_by_role("heading", level=1)).to_contain_text("Resolved")
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED
