"""Batch invitations through the services and tasks (eager): idempotency, skips, resume, rate, cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Contact, Lead
from iam.models import AuditEvent
from invitations import batches, tasks
from invitations.models import BatchRecipient, Invitation, InvitationBatch
from invitations.selectors import batch_progress
from tests.factories import ContactFactory, ContractFactory, LeadFactory, MembershipFactory, StaffFactory
from tests.invitations.factories import roles, token_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return StaffFactory(staff_role="sales_manager", first_name="Mia", last_name="Manager")


@pytest.fixture
def contacts(acme):
    return [
        ContactFactory(account=acme, first_name=f"P{i}", last_name="Person", email=f"p{i}@acme-industries.com")
        for i in range(7)
    ]


def _create(actor, queryset, source="contacts", **kwargs):
    """Create without starting senders: the test drives the chunks itself."""
    kwargs.setdefault("roles", roles("buyer"))
    return batches.invitation_batch_create(actor=actor, name="Fair", source=source, queryset=queryset, **kwargs)


def _states(batch):
    return dict(BatchRecipient.objects.filter(batch=batch).values_list("email", "state"))


def test_recipients_are_stored_once_per_email_from_the_filtered_list(manager, acme, contacts):
    ContactFactory(account=acme, email="")  # no address: left out
    ContactFactory(account=acme, email="P0@ACME-industries.com")  # the same person twice

    batch = _create(manager, Contact.objects.filter(account=acme))

    assert batch.total == 7
    assert BatchRecipient.objects.filter(batch=batch).count() == 7
    assert set(_states(batch).values()) == {"queued"}
    assert AuditEvent.objects.filter(action="invitations.batch.started", target_id=str(batch.pk)).exists()


def test_preview_counts_and_renders_a_sample_email(manager, acme, contacts):
    ContactFactory(account=acme, email="")

    preview = batches.invitation_batch_preview(
        actor=manager, source="contacts", queryset=Contact.objects.filter(account=acme), note="See you soon"
    )

    assert (preview.count, preview.without_email) == (7, 1)
    assert preview.sample_to == "p0@acme-industries.com"
    assert "See you soon" in preview.sample.text
    assert "Mia Manager" in preview.sample.subject
    assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_a_chunk_sends_each_recipient_one_email_and_running_it_twice_sends_nothing_more(
    manager, acme, contacts, settings
):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 100
    batch = _create(manager, Contact.objects.filter(account=acme))

    first = batches.batch_send_chunk(batch_id=batch.pk)
    again = batches.batch_send_chunk(batch_id=batch.pk)  # a redelivered chunk
    also = batches.batch_send_chunk(batch_id=batch.pk, after_id=0)

    assert (first.claimed, first.sent) == (7, 7)
    assert (again.claimed, again.sent, also.sent) == (0, 0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in contacts)
    assert set(_states(batch).values()) == {"sent"}
    assert Invitation.objects.filter(batch=batch, status="sent").count() == 7
    # Each email's link opens its own invitation.
    from invitations.services import invitation_for_token

    for message in mail.outbox:
        assert invitation_for_token(token_from(message)).email == message.to[0]
    batch.refresh_from_db()
    assert batch.status == "finished"


def test_chunks_walk_the_recipients_by_keyset(manager, acme, contacts, settings):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 3
    batch = _create(manager, Contact.objects.filter(account=acme))

    one = batches.batch_send_chunk(batch_id=batch.pk)
    two = batches.batch_send_chunk(batch_id=batch.pk, after_id=one.last_id)
    three = batches.batch_send_chunk(batch_id=batch.pk, after_id=two.last_id)
    done = batches.batch_send_chunk(batch_id=batch.pk, after_id=three.last_id)

    assert [one.sent, two.sent, three.sent, done.claimed] == [3, 3, 1, 0]
    assert len(mail.outbox) == 7


def test_skips_say_why_per_recipient(manager, acme, contacts):
    member = MembershipFactory(account=acme, roles=["buyer"])
    member_contact = member.contact
    from invitations.services import invitation_create

    invitation_create(actor=manager, contact=contacts[0], roles=roles("buyer"))  # already invited
    mail.outbox.clear()
    batch = _create(manager, Contact.objects.filter(pk__in=[c.pk for c in contacts[:3]] + [member_contact.pk]))

    batches.batch_send_chunk(batch_id=batch.pk)

    rows = {r.email: r for r in BatchRecipient.objects.filter(batch=batch)}
    assert rows[contacts[0].email].state == "skipped"
    assert "Already invited" in rows[contacts[0].email].reason
    assert rows[member_contact.email.lower()].reason == "Already a portal user."
    assert {rows[c.email].state for c in contacts[1:3]} == {"sent"}
    assert len(mail.outbox) == 2


def test_a_rep_skips_recipients_of_accounts_they_do_not_manage(acme, contacts):
    rep = acme.owner
    elsewhere = ContactFactory(account=ContractFactory().account, email="x@other-corp.com")
    batch = _create(rep, Contact.objects.filter(pk__in=[contacts[0].pk, elsewhere.pk]))

    batches.batch_send_chunk(batch_id=batch.pk)

    assert _states(batch) == {contacts[0].email: "sent", "x@other-corp.com": "skipped"}


def test_lead_batch_invites_only_qualified_business_addresses(manager):
    good = LeadFactory(email="buyer@prospect-gmbh.de", status=Lead.Status.QUALIFIED)
    webmail = LeadFactory(email="someone@gmail.com")
    disposable = LeadFactory(email="x@mailinator.com")
    converted = LeadFactory(email="c@converted-ag.ch", status=Lead.Status.CONVERTED, converted_at=timezone.now())
    batch = _create(manager, Lead.objects.all(), source="leads")

    batches.batch_send_chunk(batch_id=batch.pk)

    rows = {r.email: r for r in BatchRecipient.objects.filter(batch=batch)}
    assert rows[good.email].state == "sent"
    assert "webmail" in rows[webmail.email].reason
    assert "disposable" in rows[disposable.email].reason
    assert rows[converted.email].reason == "The lead is converted."
    invitation = Invitation.objects.get(email=good.email)
    assert invitation.lead == good
    assert list(invitation.roles.values_list("key", flat=True)) == ["lead"]
    assert [m.to for m in mail.outbox] == [[good.email]]


def test_a_chunk_interrupted_after_claiming_is_resumed_and_sent_once(manager, acme, contacts, settings):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 100
    batch = _create(manager, Contact.objects.filter(account=acme))
    # A worker claimed these two, created their invitations, and died before sending.
    claimed = list(BatchRecipient.objects.filter(batch=batch).order_by("id")[:2])
    stale = timezone.now() - dt.timedelta(hours=1)
    BatchRecipient.objects.filter(pk__in=[r.pk for r in claimed]).update(
        state="sending", claim="dead", claimed_at=stale
    )
    # ... and one more it had sent and recorded.
    sent_already = BatchRecipient.objects.filter(batch=batch).order_by("id")[2]
    BatchRecipient.objects.filter(pk=sent_already.pk).update(state="sent")

    # Progress is counted from the rows, so it is right even now.
    progress = batch_progress(batch=batch)
    assert (progress.total, progress.sending, progress.sent, progress.queued) == (7, 2, 1, 4)

    assert batches.batches_resume() == 2
    assert batches.batches_resume() == 0
    batches.batch_send_chunk(batch_id=batch.pk)

    assert len(mail.outbox) == 6
    assert sent_already.email not in {m.to[0] for m in mail.outbox}
    assert set(_states(batch).values()) == {"sent"}


def test_resume_leaves_recent_claims_alone(manager, acme, contacts):
    batch = _create(manager, Contact.objects.filter(account=acme))
    BatchRecipient.objects.filter(batch=batch).update(state="sending", claim="alive", claimed_at=timezone.now())

    assert batches.batches_resume() == 0
    assert set(_states(batch).values()) == {"sending"}


def test_the_sending_rate_limits_the_chunk_and_spaces_the_next(manager, acme, contacts, settings):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 500
    settings.INVITATIONS_BATCH_RATE_PER_SECOND = 4
    batch = _create(manager, Contact.objects.filter(account=acme))
    ticks = iter([100.0, 100.25])  # the chunk took a quarter of a second

    result = batches.batch_send_chunk(batch_id=batch.pk, clock=lambda: next(ticks))

    assert result.sent == 4  # one second's worth
    assert result.countdown == pytest.approx(0.75)  # the next chunk waits; nobody sleeps


def test_cancel_stops_the_queued_recipients(manager, acme, contacts, settings):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 2
    batch = _create(manager, Contact.objects.filter(account=acme))
    batches.batch_send_chunk(batch_id=batch.pk)

    assert batches.invitation_batch_cancel(actor=manager, batch=batch) == 5
    assert batches.invitation_batch_cancel(actor=manager, batch=batch) == 0
    batches.batch_send_chunk(batch_id=batch.pk, after_id=0)

    assert len(mail.outbox) == 2
    progress = batch_progress(batch=batch)
    assert (progress.sent, progress.cancelled) == (2, 5)
    assert AuditEvent.objects.filter(action="invitations.batch.cancelled").count() == 1


def test_a_rep_cannot_cancel_a_colleagues_batch_but_its_sender_can(acme, contacts):
    from django.core.exceptions import PermissionDenied

    sender = StaffFactory(staff_role="sales_rep")
    acme.owner = sender
    acme.save(update_fields=["owner"])
    batch = _create(sender, Contact.objects.filter(account=acme))

    with pytest.raises(PermissionDenied):
        batches.invitation_batch_cancel(actor=StaffFactory(staff_role="sales_rep"), batch=batch)
    assert set(_states(batch).values()) == {"queued"}
    assert batches.invitation_batch_cancel(actor=sender, batch=batch) == 7


def test_the_task_chain_sends_the_whole_batch(manager, acme, contacts, settings, django_capture_on_commit_callbacks):
    settings.INVITATIONS_BATCH_CHUNK_SIZE = 2
    with django_capture_on_commit_callbacks(execute=True):
        batch = _create(manager, Contact.objects.filter(account=acme))

    assert len(mail.outbox) == 7
    batch.refresh_from_db()
    assert batch.status == InvitationBatch.Status.FINISHED
    assert AuditEvent.objects.filter(action="invitations.batch.finished").count() == 1
    assert tasks.batch_send_chunk_task(batch.pk, 0) == 0


def test_external_users_cannot_start_batches(member, acme, contacts):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _create(member.user, Contact.objects.filter(account=acme))
    assert InvitationBatch.objects.count() == 0


def test_the_chunks_prerendered_mime_reads_like_a_normally_built_email():
    import email
    import email.policy

    from invitations.emails import InvitationMime, invitation_email_render, invitation_message

    rendered = invitation_email_render(
        inviter_name="Mia Manager",
        note="Grüße aus München",
        role_names=["Buyer"],
        expires_at=timezone.now(),
        is_lead=False,
    )
    mime = InvitationMime(rendered)
    args = {
        "email": "jose@acme-industries.com",
        "name": "José Müller <&>",
        "organisation": "Größe AG",
        "token": "t" * 43,
    }

    normal = invitation_message(rendered, **args)

    assert mime.usable
    parsed = email.message_from_bytes(mime.raw(**args), policy=email.policy.default)
    reference = email.message_from_bytes(normal.message().as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == normal.subject  # (Django folds its own Subject with a stray leading space)
    assert parsed["To"] == "jose@acme-industries.com"
    again = email.message_from_bytes(mime.raw(**args), policy=email.policy.default)
    assert parsed["Message-ID"] != again["Message-ID"]
    for subtype in ("plain", "html"):  # both travel with CRLF line ends over SMTP
        ours = parsed.get_body((subtype,)).get_content().replace("\r\n", "\n")
        assert ours == reference.get_body((subtype,)).get_content()
    assert "José Müller &lt;&amp;&gt;" in parsed.get_body(("html",)).get_content()
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == normal.body
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == normal.alternatives[0][0]


def _sunk_token(message) -> str:
    from tests.invitations.factories import LINK

    text, html = LINK.findall(message.body("plain")), LINK.findall(message.body("html"))
    assert text
    assert set(html) == set(text)
    return text[0]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "plain-smtp"])
def test_a_chunk_over_real_smtp_gives_each_recipient_their_own_working_link(
    manager, acme, contacts, smtp_mail, pipelining
):
    from invitations.services import invitation_for_token

    smtp_mail.pipelining = pipelining
    smtp_mail.refuse = {"p3@acme-industries.com"}
    batch = _create(manager, Contact.objects.filter(account=acme), note="Grüße")

    result = batches.batch_send_chunk(batch_id=batch.pk)

    assert (result.sent, result.failed) == (6, 1)
    assert smtp_mail.pipelined == (7 if pipelining else 0)
    assert smtp_mail.greetings == 1  # the refusal did not cost a new connection
    assert smtp_mail.count_by_recipient == {c.email: 1 for c in contacts if c.email != "p3@acme-industries.com"}
    for message in smtp_mail.messages:
        [to] = message.rcpt_tos
        assert message.message["To"] == to
        assert message.mail_from == "no-reply@clientele.example"
        assert "Grüße" in message.body("plain")
        assert invitation_for_token(_sunk_token(message)).email == to
    states = _states(batch)
    assert states.pop("p3@acme-industries.com") == "failed"
    assert set(states.values()) == {"sent"}
    refused = BatchRecipient.objects.get(batch=batch, email="p3@acme-industries.com")
    assert "No such mailbox" in refused.reason
    assert Invitation.objects.get(pk=refused.invitation_id).status == "bounced"


def test_the_smtp_path_sends_to_internationalised_domains_in_idna(manager, acme, smtp_mail):
    ContactFactory(account=acme, email="joerg@münchen.example")
    batch = _create(manager, Contact.objects.filter(account=acme))

    result = batches.batch_send_chunk(batch_id=batch.pk)

    assert result.sent == 1
    [message] = smtp_mail.messages
    assert message.rcpt_tos == ("joerg@xn--mnchen-3ya.example",)
    assert message.message["To"] == "joerg@xn--mnchen-3ya.example"


def test_a_chunk_costs_a_fixed_number_of_queries_plus_one_record_per_email(manager, acme):
    """Set-based work per chunk; per recipient, only the UPDATE that records the server's "250"."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def chunk_queries(n: int, account) -> int:
        for i in range(n):
            ContactFactory(account=account, email=f"q{n}-{i}@acme-industries.com")
        batch = _create(manager, Contact.objects.filter(account=account))
        with CaptureQueriesContext(connection) as ctx:
            result = batches.batch_send_chunk(batch_id=batch.pk)
        assert result.sent == n
        return len(ctx.captured_queries)

    from tests.factories import AccountFactory

    small = chunk_queries(3, acme)
    large = chunk_queries(12, AccountFactory(owner=acme.owner, name="Second Account"))

    assert large - small == 12 - 3


def test_a_chunk_goes_out_through_the_console_backend_of_make_run(manager, acme, contacts, settings, capsys):
    """Every email backend gets ordinary messages; only SMTP gets the prerendered bytes."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    batch = _create(manager, Contact.objects.filter(account=acme))

    result = batches.batch_send_chunk(batch_id=batch.pk)

    assert (result.sent, result.failed) == (7, 0)
    printed = capsys.readouterr().out
    assert printed.count("Subject: ") == 7
    assert set(_states(batch).values()) == {"sent"}


def test_the_preview_counts_the_skips_the_send_then_makes(acme, contacts):
    """#15: "Send 3 invitations" that then skipped all 3; the preview now says so before sending."""
    rep = acme.owner
    from invitations.services import invitation_create

    invitation_create(actor=rep, contact=contacts[0], roles=roles("buyer"))
    member = MembershipFactory(account=acme, roles=["buyer"]).contact
    elsewhere = ContactFactory(account=ContractFactory().account, email="x@other-corp.com")
    mail.outbox.clear()
    chosen = Contact.objects.filter(pk__in=[contacts[0].pk, contacts[1].pk, member.pk, elsewhere.pk])

    preview = batches.invitation_batch_preview(actor=rep, source="contacts", queryset=chosen)

    assert (preview.count, preview.skipped, preview.to_send) == (4, 3, 1)
    assert preview.skips == {
        batches.SKIP_INVITED: 1,
        batches.SKIP_PORTAL_USER: 1,
        batches.SKIP_NOT_MANAGED: 1,
    }
    batch = _create(rep, chosen)
    batches.batch_send_chunk(batch_id=batch.pk)
    progress = batch_progress(batch=batch)
    assert (progress.sent, progress.skipped) == (preview.to_send, preview.skipped)


def test_the_lead_preview_counts_webmail_closed_and_foreign_leads(manager):
    LeadFactory(email="buyer@prospect-gmbh.de", status=Lead.Status.QUALIFIED)
    LeadFactory(email="someone@gmail.com")
    LeadFactory(email="other@gmail.com")
    LeadFactory(email="c@converted-ag.ch", status=Lead.Status.CONVERTED, converted_at=timezone.now())

    preview = batches.invitation_batch_preview(actor=manager, source="leads", queryset=Lead.objects.all())

    assert (preview.count, preview.skipped, preview.to_send) == (4, 3, 1)
    assert preview.skips["The lead is converted."] == 1
    assert [n for reason, n in preview.skips.items() if "webmail" in reason] == [2]
    batch = _create(manager, Lead.objects.all(), source="leads")
    batches.batch_send_chunk(batch_id=batch.pk)
    assert batch_progress(batch=batch).sent == 1


def test_the_batch_page_offers_to_send_only_what_will_be_sent(acme, contacts):
    from django.test import Client
    from django.urls import reverse

    rep = acme.owner
    elsewhere = ContactFactory(account=ContractFactory().account, email="x@other-corp.com")
    client = Client()
    client.force_login(rep)

    html = client.get(
        reverse("invitations:batch_new"),
        {"source": "contacts", "scope": "selected", "ids": [contacts[0].pk, elsewhere.pk]},
    ).content.decode()

    assert "Send 1 invitation<" in html
    assert "You do not manage this account." in html


def test_a_rep_cannot_tick_contacts_they_cannot_invite(acme, contacts):
    from django.test import Client
    from django.urls import reverse

    rep = acme.owner
    elsewhere = ContactFactory(account=ContractFactory().account, email="x@other-corp.com")
    client = Client()
    client.force_login(rep)

    html = client.get(reverse("crm:contact_list")).content.decode()

    mine = f'name="ids" value="{contacts[0].pk}"'
    theirs = f'name="ids" value="{elsewhere.pk}"'
    assert mine in html
    assert "disabled" not in html.split(mine)[1].split(">")[0]
    if theirs in html:  # a rep may see colleagues' contacts; they may not invite them
        assert "disabled" in html.split(theirs)[1].split(">")[0]
