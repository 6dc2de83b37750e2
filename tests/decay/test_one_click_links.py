"""Contacts without portal access reconfirm or correct their data through one-click links."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm.models import Contact, ContactReconfirmation, LeftReason
from crm.reconfirmation import reconfirmations_send_due
from history.models import RecordChange
from iam.models import AuditEvent
from notifications.models import Notification
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

CONFIRM = re.compile(r"http://testserver(/reconfirm/[^/\s\"]+/)")
CORRECT = re.compile(r"http://testserver(/reconfirm/[^/\s\"]+/correct/)")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"
    settings.DECAY_RECONFIRMATION_NON_PORTAL = "link"
    settings.DECAY_RECONFIRMATION_LINK_DAYS = 14


@pytest.fixture
def asked(django_capture_on_commit_callbacks):
    contact = ContactFactory(consent_to_contact=True, job_title="Buyer", first_name="Anna", last_name="Berg")
    ContactFactory(consent_to_contact=False)  # never written to
    with django_capture_on_commit_callbacks(execute=True):
        outcome = reconfirmations_send_due()
    assert (outcome.sent, outcome.invited, outcome.batch_id) == (1, 0, None)
    [message] = mail.outbox
    assert message.to == [contact.email]
    html = message.alternatives[0][0]
    for pattern in (CONFIRM, CORRECT):
        assert pattern.search(message.body).group(1) == pattern.search(html).group(1)
    assert "/portal/" not in message.body  # no account needed
    return contact, CONFIRM.search(message.body).group(1), CORRECT.search(message.body).group(1)


def test_still_correct_needs_no_account_and_verifies_the_contact(asked):
    contact, confirm, _correct = asked
    assert Client().get(confirm).status_code == 200  # a GET (a mail scanner) changes nothing
    assert Contact.objects.get(pk=contact.pk).last_verified_at is None
    assert Client().post(confirm).status_code == 200
    contact.refresh_from_db()
    assert contact.freshness == "fresh"
    assert contact.verification_method == Contact.VerificationMethod.RECONFIRMATION


def test_correcting_my_details_flows_into_the_crm_with_history(asked):
    contact, _confirm, correct = asked
    page = Client().get(correct)
    assert page.status_code == 200
    assert b'value="Buyer"' in page.content
    data = {"first_name": "Anna", "last_name": "Berg-Lind", "job_title": "Head of purchasing", "phone": ""}
    response = Client().post(correct, data)
    assert response.status_code == 200
    assert b"Head of purchasing" in response.content
    contact.refresh_from_db()
    assert (contact.last_name, contact.job_title, contact.freshness) == ("Berg-Lind", "Head of purchasing", "fresh")
    change = RecordChange.objects.filter(record_type="crm.contact", record_id=contact.pk).latest("id")
    assert change.changes["job_title"] == {"old": "Buyer", "new": "Head of purchasing"}
    event = AuditEvent.objects.get(action="crm.contact.corrected")
    assert event.data["fields"] == ["job_title", "last_name"]
    assert ContactReconfirmation.objects.get().outcome == ContactReconfirmation.Outcome.CORRECTED


def test_a_correction_link_is_single_use_for_both_answers(asked):
    contact, confirm, correct = asked
    data = {"first_name": "Anna", "last_name": "Berg", "job_title": "CFO", "phone": ""}
    assert Client().post(correct, data).status_code == 200
    again = Client().post(correct, {**data, "job_title": "CEO"})
    assert again.status_code == 410
    assert Client().post(confirm).status_code == 410
    assert Contact.objects.get(pk=contact.pk).job_title == "CFO"


def test_an_expired_correction_link_changes_nothing(asked):
    contact, _confirm, correct = asked
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        response = Client().post(correct, {"first_name": "X", "last_name": "Y", "job_title": "Z", "phone": ""})
    assert response.status_code == 410
    assert b"expired" in response.content
    contact.refresh_from_db()
    assert (contact.first_name, contact.job_title, contact.last_verified_at) == ("Anna", "Buyer", None)


def test_bad_input_is_a_form_error_and_changes_nothing(asked):
    contact, _confirm, correct = asked
    response = Client().post(correct, {"first_name": "Anna", "last_name": "", "job_title": "", "phone": "nope"})
    assert response.status_code == 200
    assert b"is-invalid" in response.content
    assert ContactReconfirmation.objects.get().used_at is None
    assert Contact.objects.get(pk=contact.pk).last_name == "Berg"


def test_saying_i_left_marks_the_contact_left_and_tells_the_owner(asked):
    contact, _confirm, correct = asked
    data = {"first_name": "Anna", "last_name": "Berg", "job_title": "Buyer", "phone": "", "left_company": "on"}
    response = Client().post(correct, data)
    assert b"no longer work" in response.content
    contact.refresh_from_db()
    assert contact.left_reason == LeftReason.SELF_REPORTED
    assert Notification.objects.filter(kind="contact.left", recipient=contact.owner).count() == 1
