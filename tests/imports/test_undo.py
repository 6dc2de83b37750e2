"""Undoing an import, as a job: exact restores, the history a delete elsewhere writes, resuming after a
failure with nothing done twice, one job per request however often it is sent, refusals that change
nothing, records edited meanwhile left alone, and a chunk's cost independent of its size."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.errors import BusinessRuleViolation
from crm.models import Account, Contact
from crm.services import contact_save
from history.models import RecordChange
from history.services import history_record, history_snapshot
from iam.models import AuditEvent
from imports import services
from imports import undo as undo_job
from imports.models import ImportJob
from tests.factories import AccountFactory, ContactFactory, MembershipFactory

pytestmark = pytest.mark.django_db

HEADER = "First name,Last name,E-mail,Phone,Company,Business ID,Job title\n"
# Two contacts the CRM knows (overwritten) and three new ones, one at a company it does not know.
FILE = HEADER + (
    "Ann,Able,ann@acme.example,+358402222222,Acme Oy,,Buyer\n"
    "Ben,Baker,ben@acme.example,+358403333333,Acme Oy,,CTO\n"
    "Cid,Cole,cid@acme.example,+358404444444,Acme Oy,,Engineer\n"
    "Dan,Dole,dan@acme.example,,Acme Oy,,\n"
    "Eve,Ekko,eve@brandnew.example,,Brand New Oy,,Founder\n"
)


@pytest.fixture
def acme(db):
    return AccountFactory(name="Acme Oy", business_id="2112345-6", country="FI")


@pytest.fixture
def known(acme):
    return [
        ContactFactory(
            account=acme, first_name="Ann", last_name="Able", email="ann@acme.example", phone="+358401111111"
        ),
        ContactFactory(account=acme, first_name="Ben", last_name="Baker", email="ben@acme.example", job_title="CEO"),
    ]


def _queue(job: ImportJob, actor, capture) -> int:
    """The request: queue the undo, run nothing yet; how many tasks it queued."""
    with capture() as queued:
        services.import_undo(actor=actor, job=job)
    return len(queued)


class _Rollback(Exception):
    pass


def _deletion_history(record, actor) -> tuple[str, dict]:
    """What a delete elsewhere (``history_record(deleted=True)``) writes of the record: written, read, rolled back."""
    try:
        with transaction.atomic():
            row = history_record(actor=actor, record=record, deleted=True)
            assert row is not None
            written = (row.record_label, row.changes)
            raise _Rollback
    except _Rollback:
        pass
    return written


def test_undo_puts_every_value_back_and_writes_the_history_a_delete_writes(
    settings, run_import, known, undo, sales_rep
):
    settings.IMPORTS_CHUNK_SIZE = 2  # several chunks per step
    before = {c.pk: history_snapshot(c).values for c in known}
    job = run_import(FILE, policy="overwrite")
    assert (job.created_count, job.updated_count) == (3, 2)
    created = list(Contact.objects.exclude(pk__in=before).order_by("pk"))
    brand_new = Account.objects.get(name="Brand New Oy")
    expected_deleted = {("crm.contact", c.pk): _deletion_history(c, sales_rep) for c in created}
    expected_deleted["crm.account", brand_new.pk] = _deletion_history(brand_new, sales_rep)
    imported = {
        r.record_id: r.changes
        for r in RecordChange.objects.filter(record_type="crm.contact", record_id__in=before, kind="updated")
    }

    job = undo(job)

    assert (job.status, job.undo_done, job.undo_total, job.undo_kept) == ("undone", 6, 6, 0)
    for contact in Contact.objects.filter(pk__in=before):
        assert history_snapshot(contact).values == before[contact.pk]  # exactly as before the import
    assert not Contact.objects.filter(pk__in=[c.pk for c in created]).exists()
    assert not Account.objects.filter(pk=brand_new.pk).exists()
    deleted = RecordChange.objects.filter(kind="deleted")
    assert {(r.record_type, r.record_id): (r.record_label, r.changes) for r in deleted} == expected_deleted
    assert {r.channel for r in deleted} == {"import"}
    # Each restore's history is the import's change turned round.
    restored = RecordChange.objects.filter(record_id__in=before, kind="updated", changed_at__gt=job.finished_at)
    assert {r.record_id: r.changes for r in restored} == {
        pk: {name: {"old": c["new"], "new": c["old"]} for name, c in changes.items()}
        for pk, changes in imported.items()
    }
    event = AuditEvent.objects.get(action="imports.import.undone")
    assert (event.actor, event.data["created"], event.data["updated"], event.data["kept"]) == (sales_rep, 3, 2, 0)


def test_a_record_created_then_updated_by_the_same_file_is_deleted_and_one_updated_twice_gets_its_first_value(
    run_import, known, undo
):
    ann = known[0]
    job = run_import(
        HEADER
        + "Zed,Zulu,zed@acme.example,,Acme Oy,,First\n"
        + "Zed,Zulu,ZED@acme.example,,Acme Oy,,Second\n"  # meets the row above: an update of a new record
        + "Ann,Able,ann@acme.example,,Acme Oy,,Buyer\n"
        + "Ann,Able,ann@acme.example,,Acme Oy,,Manager\n",  # Ann again: her "before" is now "Buyer"
        policy="overwrite",
    )
    assert (job.created_count, job.updated_count) == (1, 3)
    assert Contact.objects.get(pk=ann.pk).job_title == "Manager"
    job = undo(job)
    assert (job.status, job.undo_kept) == ("undone", 0)
    assert not Contact.objects.filter(email="zed@acme.example").exists()
    assert Contact.objects.get(pk=ann.pk).job_title == ""


@pytest.mark.parametrize("step", ["_delete_created", "_restore_updated"])
def test_a_worker_dying_mid_undo_is_resumed_with_nothing_done_twice(
    step, settings, run_import, known, sales_rep, django_capture_on_commit_callbacks, monkeypatch
):
    settings.IMPORTS_CHUNK_SIZE = 1  # a chunk per record: the second one of the step dies
    job = run_import(FILE, policy="overwrite")
    created = set(Contact.objects.exclude(pk__in=[c.pk for c in known]).values_list("pk", flat=True))
    assert _queue(job, sales_rep, django_capture_on_commit_callbacks) == 1

    real = getattr(undo_job, step)
    calls = {"n": 0}

    def dies_in_its_second_chunk(*args):
        result = real(*args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # after the chunk's statements, before its commit
        return result

    monkeypatch.setattr(undo_job, step, dies_in_its_second_chunk)
    with pytest.raises(SystemExit):
        undo_job.import_undo_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "undoing"
    first_done = job.undo_done
    assert first_done == (1 if step == "_delete_created" else 4)  # the dead chunk rolled back with its cursor

    monkeypatch.setattr(undo_job, step, real)
    undo_job.import_undo_run(job_id=job.pk)  # the redelivered task
    job.refresh_from_db()
    assert (job.status, job.undo_done, job.undo_kept) == ("undone", 6, 0)
    assert not Contact.objects.filter(pk__in=created).exists()
    assert [c.job_title for c in Contact.objects.filter(pk__in=[c.pk for c in known]).order_by("pk")] == ["", "CEO"]
    deleted = list(RecordChange.objects.filter(kind="deleted").values_list("record_type", "record_id"))
    assert sorted(deleted) == sorted([*(("crm.contact", pk) for pk in created), ("crm.account", job_account(job))])
    restored = RecordChange.objects.filter(kind="updated", record_id__in=[c.pk for c in known], channel="import")
    assert restored.filter(changed_at__gt=job.finished_at).count() == 2  # once each
    assert AuditEvent.objects.filter(action="imports.import.undone").count() == 1
    # Run once more (a late redelivery): nothing left to do, nothing written.
    assert undo_job.import_undo_run(job_id=job.pk) is None
    assert RecordChange.objects.filter(kind="deleted").count() == len(deleted)


def job_account(job: ImportJob) -> int:
    return job.records.get(record_type="crm.account").record_id


def test_a_second_click_or_a_retried_request_queues_nothing_more(
    run_import, known, sales_rep, rep_client, django_capture_on_commit_callbacks
):
    job = run_import(FILE, policy="overwrite")
    with django_capture_on_commit_callbacks() as first:
        response = rep_client.post(reverse("imports:undo", args=[job.pk]))
    assert (response.status_code, response.url, len(first)) == (302, reverse("imports:job", args=[job.pk]), 1)
    with django_capture_on_commit_callbacks() as second:
        rep_client.post(reverse("imports:undo", args=[job.pk]))
        again = services.import_undo(actor=sales_rep, job=job)
    assert (len(second), again.status) == (0, "undoing")
    # The page polls the job's progress while it is being undone...
    page = rep_client.get(reverse("imports:job", args=[job.pk]), headers={"HX-Request": "true"}).content.decode()
    assert "Being undone" in page
    assert "0 of 6 records deleted or put back" in page
    assert 'hx-trigger="every 1s"' in page
    # ...and says "undone" once the worker ran it.
    first[0]()
    page = rep_client.get(reverse("imports:job", args=[job.pk]), headers={"HX-Request": "true"}).content.decode()
    assert "Undone" in page
    assert "every 1s" not in page
    assert "Undo import" not in rep_client.get(reverse("imports:job", args=[job.pk])).content.decode()


def test_an_edited_record_refuses_the_undo_and_nothing_changes(
    run_import, known, sales_rep, django_capture_on_commit_callbacks
):
    job = run_import(FILE, policy="overwrite")
    ben = Contact.objects.get(pk=known[1].pk)
    ben.last_name = "Edited since"
    contact_save(actor=sales_rep, contact=ben)
    contacts = Contact.objects.count()
    with django_capture_on_commit_callbacks() as queued, pytest.raises(BusinessRuleViolation, match="changed since"):
        services.import_undo(actor=sales_rep, job=job)
    job.refresh_from_db()
    assert (job.status, len(queued), Contact.objects.count()) == ("done", 0, contacts)
    assert Contact.objects.get(pk=ben.pk).job_title == "CTO"
    assert not RecordChange.objects.filter(kind="deleted").exists()
    assert not AuditEvent.objects.filter(action="imports.import.undone").exists()


def test_portal_access_to_an_imported_contact_refuses_the_undo_and_nothing_changes(
    run_import, known, sales_rep, django_capture_on_commit_callbacks
):
    job = run_import(FILE, policy="overwrite")
    cid = Contact.objects.get(email="cid@acme.example")
    MembershipFactory(account=cid.account, contact=cid)
    with django_capture_on_commit_callbacks() as queued, pytest.raises(BusinessRuleViolation, match="portal access"):
        services.import_undo(actor=sales_rep, job=job)
    job.refresh_from_db()
    assert (job.status, len(queued)) == ("done", 0)
    assert Contact.objects.filter(pk=cid.pk).exists()
    assert Contact.objects.get(pk=known[0].pk).job_title == "Buyer"


def test_records_edited_while_the_undo_is_queued_are_left_as_edited(
    run_import, known, sales_rep, rep_client, django_capture_on_commit_callbacks
):
    job = run_import(FILE, policy="overwrite")
    with django_capture_on_commit_callbacks() as queued:
        services.import_undo(actor=sales_rep, job=job)
    # After the request checked, before the worker ran: one new contact and one overwritten are edited,
    # and another new one gets portal access.
    cid = Contact.objects.get(email="cid@acme.example")
    cid.job_title = "Edited meanwhile"
    contact_save(actor=sales_rep, contact=cid)
    ben = Contact.objects.get(pk=known[1].pk)
    ben.last_name = "Edited meanwhile"
    contact_save(actor=sales_rep, contact=ben)
    dan = Contact.objects.get(email="dan@acme.example")
    MembershipFactory(account=dan.account, contact=dan)
    queued[0]()
    job.refresh_from_db()
    assert (job.status, job.undo_done, job.undo_kept) == ("undone", 6, 3)
    assert Contact.objects.get(pk=cid.pk).job_title == "Edited meanwhile"
    assert Contact.objects.filter(pk=dan.pk).exists()
    assert Contact.objects.get(pk=ben.pk).job_title == "CTO"  # not put back over the edit
    assert Contact.objects.get(pk=known[0].pk).job_title == ""  # the others are
    assert not Contact.objects.filter(email="eve@brandnew.example").exists()
    page = rep_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "3 records edited or taken into use while the undo ran were left as they are." in page


def test_an_undo_chunk_costs_the_same_queries_whatever_its_size(
    settings, run_import, acme, sales_rep, django_capture_on_commit_callbacks
):
    settings.IMPORTS_CHUNK_SIZE = 100  # each step in one chunk

    def undo_queries(size: int) -> int:
        tag = uuid.uuid4().hex[:6]
        rows = []
        for i in range(size):
            old = ContactFactory(account=acme, first_name="Known", last_name=f"K{tag}{i}", email=f"k{i}@{tag}.example")
            rows.append(f"Known,K{tag}{i},{old.email},,Acme Oy,,Buyer {i}\n")
            rows.append(f"{uuid.uuid4().hex[:8]},{uuid.uuid4().hex[:10]},n{i}@{tag}.example,,Acme Oy,,\n")
        job = run_import(HEADER + "".join(rows), policy="overwrite")
        assert (job.created_count, job.updated_count) == (size, size)
        _queue(job, sales_rep, django_capture_on_commit_callbacks)
        with CaptureQueriesContext(connection) as queries:
            undo_job.import_undo_run(job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.undo_done) == ("undone", 2 * size)
        return len(queries)

    assert undo_queries(3) == undo_queries(12)


def test_an_undo_whose_worker_was_lost_is_queued_again(
    run_import, known, sales_rep, django_capture_on_commit_callbacks
):
    job = run_import(FILE, policy="overwrite")
    _queue(job, sales_rep, django_capture_on_commit_callbacks)
    assert undo_job.imports_undo_resume_stalled(stall_seconds=60) == 0  # progressing: left alone
    ImportJob.objects.filter(pk=job.pk).update(progressed_at=job.finished_at - dt.timedelta(minutes=5))
    assert undo_job.imports_undo_resume_stalled(stall_seconds=60) == 1  # the task ran (eagerly) again
    job.refresh_from_db()
    assert (job.status, job.undo_done) == ("undone", 6)


def test_workflow_rules_hear_of_the_records_put_back_as_of_any_change(run_import, known, undo):
    from iam.models import User
    from notifications.models import Notification
    from tests.factories import StaffFactory
    from workflows import services as workflows
    from workflows.models import Rule

    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    rule = workflows.rule_create(
        actor=manager,
        rule=Rule(
            name="Changed",
            record_type="crm.contact",
            trigger="changed",
            actions=[{"type": "notify", "message": "{{ last_name }} changed"}],
        ),
    )
    workflows.rule_set_enabled(actor=manager, rule=rule, enabled=True)
    job = run_import(FILE, policy="overwrite")  # its own changes' rules wait for a commit that never comes
    undo(job)
    assert sorted(Notification.objects.filter(kind="workflow.rule").values_list("title", flat=True)) == [
        "Able changed",
        "Baker changed",
    ]


def test_an_imported_account_someone_moved_a_contact_to_is_kept_with_that_contact(
    run_import, acme, known, undo, sales_rep
):
    job = run_import(FILE, policy="overwrite")
    brand_new = Account.objects.get(name="Brand New Oy")
    zoe = ContactFactory(account=acme, first_name="Zoe", last_name="Zeta", email="zoe@acme.example")
    zoe.account = brand_new  # not one of the import's records: the undo may start
    contact_save(actor=sales_rep, contact=zoe)
    job = undo(job)
    assert (job.status, job.undo_kept) == ("undone", 1)  # the account, which Zoe is at now
    assert Contact.objects.get(pk=zoe.pk).account == brand_new  # not deleted along with it
    assert not Contact.objects.filter(email="eve@brandnew.example").exists()
    assert Contact.objects.get(pk=known[0].pk).job_title == ""
