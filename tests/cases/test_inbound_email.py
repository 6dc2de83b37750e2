"""Email in and out: a staff reply goes out through real SMTP with the case's signed reply
address; the customer's answer, fed back as a raw RFC 5322 message, is threaded onto the case."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.test import Client

from cases.emails import case_id_from_address, reply_address
from cases.inbound import case_inbound_email, strip_quoted
from cases.models import Case, CaseMessage
from cases.services import case_reply, case_set_status
from iam.models import User
from tests.factories import ContactFactory, ContractFactory, MembershipFactory, StaffFactory, make_case

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def customer():
    return MembershipFactory(user__email="dana@acme.example", user__first_name="Dana")


@pytest.fixture
def agent():
    return StaffFactory(staff_role=User.StaffRole.SERVICE_DESK, first_name="Sam", last_name="Support")


def _answer(sent, *, sender: str, body: str, attachments=(), to: str | None = None, message_id: str | None = None):
    reply = EmailMessage()
    reply["From"] = f"Dana <{sender}>"
    reply["To"] = to or str(sent.message["Reply-To"])
    reply["Subject"] = f"Re: {sent.subject}"
    reply["Message-ID"] = message_id or make_msgid(domain="acme.example")
    reply["In-Reply-To"] = str(sent.message["Message-ID"])
    reply.set_content(body)
    for name, content, maintype, subtype in attachments:
        reply.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return reply.as_bytes()


def _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks, body="Please try again now."):
    with django_capture_on_commit_callbacks(execute=True):
        case_reply(actor=agent, case=case, body=body, status=Case.Status.WAITING)
    return smtp_mail.messages[-1]


def test_staff_reply_goes_out_with_a_signed_reply_address(
    customer, agent, smtp_mail, django_capture_on_commit_callbacks
):
    case = make_case(membership=customer)
    sent = _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks)
    assert sent.rcpt_tos == ("dana@acme.example",)
    assert sent.subject == f"[Case #{case.pk}] {case.subject}"
    assert str(sent.message["Reply-To"]) == reply_address(case.pk)
    assert case_id_from_address(str(sent.message["Reply-To"])) == case.pk
    assert "Please try again now." in sent.body("plain")
    assert f"/portal/cases/{case.pk}/" in sent.body("plain")
    assert f"/portal/cases/{case.pk}/" in sent.body("html")


def test_a_forged_reply_address_names_no_case(customer):
    case = make_case(membership=customer)
    forged = reply_address(case.pk).replace(f"case-{case.pk}-", f"case-{case.pk + 1}-")
    assert case_id_from_address(forged) is None


def test_customer_answer_by_email_is_threaded_without_the_quote(
    customer, agent, smtp_mail, django_capture_on_commit_callbacks
):
    case = make_case(membership=customer)
    sent = _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks)
    raw = _answer(
        sent,
        sender="dana@acme.example",
        body="It works now, thank you!\n\nOn Tue, 1 Dec 2026 Sam Support wrote:\n> Please try again now.\n",
        attachments=[("screenshot.pdf", PDF, "application", "pdf"), ("tool.exe", b"MZ", "application", "octet-stream")],
    )
    result = case_inbound_email(raw)
    assert (result.outcome, result.case.pk) == ("threaded", case.pk)
    message = case.messages.order_by("-id").first()
    assert message.body.startswith("It works now, thank you!")
    assert "Please try again now." not in message.body
    assert "Attachments not accepted: tool.exe" in message.body
    assert message.channel == Case.Channel.EMAIL
    assert message.author == customer.user
    assert [a.filename for a in message.attachments.all()] == ["screenshot.pdf"]
    assert message.attachments.get().file.read() == PDF
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN  # it waited on the customer; their answer reopens it
    # The same message delivered again is stored once.
    assert case_inbound_email(raw).outcome == "duplicate"
    assert case.messages.filter(channel=Case.Channel.EMAIL).count() == 1


def test_threading_by_in_reply_to_when_the_address_was_rewritten(
    customer, agent, smtp_mail, django_capture_on_commit_callbacks
):
    case = make_case(membership=customer)
    sent = _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks)
    raw = _answer(sent, sender="dana@acme.example", body="Still broken.", to="support@clientele.example")
    assert case_inbound_email(raw).case == case


def test_unknown_sender_changes_nothing(customer, agent, smtp_mail, django_capture_on_commit_callbacks):
    case = make_case(membership=customer)
    sent = _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks)
    before = CaseMessage.objects.count()
    result = case_inbound_email(_answer(sent, sender="mallory@evil.example", body="Click here"))
    assert result.outcome == "unknown_sender"
    assert CaseMessage.objects.count() == before
    # Nor does a stranger's new email open a case.
    assert case_inbound_email(
        _answer(sent, sender="x@nowhere.example", body="hi", to="support@clientele.example")
    ).outcome in ("unknown_sender",)
    assert Case.objects.count() == 1


def test_reply_to_an_old_closed_case_opens_a_follow_up(customer, agent, smtp_mail, django_capture_on_commit_callbacks):
    case = make_case(membership=customer)
    sent = _staff_reply(case, agent, smtp_mail, django_capture_on_commit_callbacks)
    case_set_status(actor=agent, case=case, status=Case.Status.CLOSED)
    result = case_inbound_email(_answer(sent, sender="dana@acme.example", body="It is back."))
    assert result.outcome == "opened"
    assert result.case.pk != case.pk
    assert f"Follow-up to case #{case.pk}" in result.case.description
    assert result.case.channel == Case.Channel.EMAIL
    assert result.case.account == case.account


def test_a_known_contact_emailing_support_opens_a_case():
    contract = ContractFactory()
    ContactFactory(account=contract.account, email="ops@acme.example", owner=contract.account.owner)
    raw = EmailMessage()
    raw["From"] = "ops@acme.example"
    raw["To"] = "support@clientele.example"
    raw["Subject"] = "VPN down"
    raw["Message-ID"] = make_msgid()
    raw.set_content("Nobody can connect since 9:00.")
    result = case_inbound_email(raw.as_bytes())
    assert result.outcome == "opened"
    assert result.case.account == contract.account
    assert result.case.requester_email == "ops@acme.example"


def test_quote_markers():
    assert strip_quoted("Yes.\n\n-----Original Message-----\nFrom: x") == "Yes."
    assert strip_quoted("Fine\n> earlier") == "Fine"
    assert strip_quoted("Thanks\n-- \nDana, ACME") == "Thanks"


def test_inbound_endpoint_needs_the_secret(customer, settings):
    settings.CASES_INBOUND_SECRET = "s3cret-inbound"
    case = make_case(membership=customer)
    raw = EmailMessage()
    raw["From"] = "dana@acme.example"
    raw["To"] = reply_address(case.pk)
    raw["Subject"] = "Re: it"
    raw["Message-ID"] = make_msgid()
    raw.set_content("More detail.")
    client = Client()
    denied = client.post("/hooks/mail/inbound", raw.as_bytes(), content_type="message/rfc822")
    assert denied.status_code == 401
    assert case.messages.count() == 1
    ok = client.post(
        "/hooks/mail/inbound",
        raw.as_bytes(),
        content_type="message/rfc822",
        headers={"Authorization": "Bearer s3cret-inbound"},
    )
    assert ok.status_code == 200
    assert ok.json() == {"outcome": "threaded", "case": case.pk, "detail": ""}


def test_management_command_reads_message_files(customer, tmp_path, capsys):
    case = make_case(membership=customer)
    raw = EmailMessage()
    raw["From"] = "dana@acme.example"
    raw["To"] = reply_address(case.pk)
    raw["Subject"] = "Re: it"
    raw.set_content("From the IMAP fetch.")
    path = tmp_path / "1.eml"
    path.write_bytes(raw.as_bytes())
    call_command("cases_inbound_email", str(path))
    assert f"threaded case #{case.pk}" in capsys.readouterr().out
    assert case.messages.order_by("-id").first().body == "From the IMAP fetch."


def test_an_out_of_office_reply_opens_no_case_and_a_departure_becomes_a_fact(customer):
    """Auto-replies reach the support address too: never a case; 'no longer with' marks the contact left."""
    contact = ContactFactory(email="former@acme.example", account=customer.account)
    ContractFactory(account=customer.account, status="active")
    reply = EmailMessage()
    reply["From"] = "Former <former@acme.example>"
    reply["To"] = "support@clientele.example"
    reply["Subject"] = "Automatic reply: your case"
    reply["Auto-Submitted"] = "auto-replied"
    reply["Message-ID"] = make_msgid(domain="acme.example")
    reply.set_content("I am no longer with Acme. Please contact sales@acme.example instead.")

    result = case_inbound_email(reply.as_bytes())

    assert result.outcome == "auto_reply"
    assert not Case.objects.filter(requester_email="former@acme.example").exists()
    contact.refresh_from_db()
    assert contact.left_at is not None
