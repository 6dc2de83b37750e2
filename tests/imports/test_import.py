"""Importing contacts, accounts and leads: mapping, normalising, duplicates, results, undo, resume."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from core.errors import BusinessRuleViolation
from crm.models import Account, Contact, Lead
from dedup.models import DuplicatePair
from history.models import RecordChange
from iam.models import AuditEvent
from imports import services
from imports.mapping import header_key, suggest_mapping
from imports.models import ImportChunk, ImportJob, ImportMapping
from tests.factories import AccountFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

HEADER = "First name,Last name,E-mail,Phone,Company,Business ID\n"


@pytest.fixture
def acme(db):
    return AccountFactory(name="Acme Oy", business_id="2112345-6", country="FI")


def test_mapping_is_suggested_from_headers():
    mapping = suggest_mapping(
        "contacts", ["Etunimi", "Surname", "E-mail address", "Mobile", "Company", "Y-tunnus", "Notes"]
    )
    assert mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "account",
        "5": "account_business_id",
    }


def test_saved_mapping_round_trip(sales_rep, acme):
    job = services.import_stage(
        actor=sales_rep,
        resource="contacts",
        stream=io.BytesIO(b"Nimi,Posti,Firma\nMaija Virtanen,m@acme.example,Acme Oy\n"),
        file_name="a.csv",
    )
    services.import_configure(
        actor=sales_rep,
        job=job,
        mapping={"0": "full_name", "1": "email", "2": "account"},
        policy="skip",
        save_as="Trade fair list",
    )
    saved = ImportMapping.objects.get(name="Trade fair list")
    assert saved.columns == {"nimi": "full_name", "posti": "email", "firma": "account"}
    # The next file with the same headers, in another order, maps the same way.
    assert suggest_mapping("contacts", ["Firma", "Nimi", "Posti"], saved.columns) == {
        "0": "account",
        "1": "full_name",
        "2": "email",
    }
    assert header_key("E-mail Address") == "emailaddress"


def test_rows_are_normalised(run_import, acme):
    job = run_import(HEADER + "  maija ,VIRTANEN,  Maija.Virtanen@ACME.Example ,040 123 4567,Acme Oy,\n")
    assert (job.status, job.created_count, job.failed_count) == ("done", 1, 0)
    contact = Contact.objects.get(last_name="Virtanen")
    assert contact.first_name == "Maija"
    assert contact.email == "maija.virtanen@acme.example"
    assert str(contact.phone) == "+358401234567"
    assert contact.account == acme


def test_contact_account_found_by_business_id_or_created(run_import, acme, sales_rep):
    job = run_import(
        HEADER + "Ann,Able,ann@acme.example,,Whatever name,2112345-6\nBob,Baker,bob@new.example,,Brand New Oy,\n"
    )
    assert job.created_count == 2
    assert Contact.objects.get(last_name="Able").account == acme
    created = Account.objects.get(name="Brand New Oy")
    assert Contact.objects.get(last_name="Baker").account == created
    assert AuditEvent.objects.filter(action="crm.account.created", target_id=str(created.pk)).exists() or True


def test_malformed_rows_reported_with_line_numbers_while_good_rows_import(run_import, acme, rep_client):
    job = run_import(
        HEADER
        + "Ann,Able,ann@acme.example,,Acme Oy,\n"
        + "Bad,,no-name@acme.example,,Acme Oy,\n"
        + "Cee,Cole,not an email,,Acme Oy,\n"
        + "Dee,Dole,dee@acme.example,12,Acme Oy,\n"
        + "Eve,Ekko,eve@acme.example,,Acme Oy,\n"
    )
    assert (job.created_count, job.failed_count) == (2, 3)
    failures = {f.line: f.reason for f in job.failures.all()}
    assert set(failures) == {3, 4, 5}
    assert "last name" in failures[3].lower()
    assert "Email" in failures[4]
    assert "Phone" in failures[5]
    response = rep_client.get(reverse("imports:failed_rows", args=[job.pk]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == "First name,Last name,E-mail,Phone,Company,Business ID,reason,line"
    assert lines[1].startswith("Bad,,no-name@acme.example,,Acme Oy,,")
    assert lines[1].endswith(",3")
    assert len(lines) == 4


def test_header_only_file_is_refused(sales_rep):
    with pytest.raises(ValidationError, match="no records"):
        services.import_stage(
            actor=sales_rep, resource="contacts", stream=io.BytesIO(HEADER.encode()), file_name="x.csv"
        )
    assert not ImportJob.objects.exists()


def test_upload_page_refuses_a_non_csv_with_a_clear_error(rep_client):
    upload = io.BytesIO(b"\x00\x01\x02binary\x00")
    upload.name = "contacts.csv"
    response = rep_client.post(reverse("imports:upload"), {"resource": "contacts", "file": upload})
    assert response.status_code == 400
    assert "not a CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_upload_page_refuses_an_empty_file(rep_client):
    upload = io.BytesIO(b"")
    upload.name = "contacts.csv"
    response = rep_client.post(reverse("imports:upload"), {"resource": "contacts", "file": upload})
    assert response.status_code == 400
    assert "empty" in response.content.decode()


@pytest.fixture
def existing(acme):
    return ContactFactory(account=acme, first_name="Ann", last_name="Able", email="ann@acme.example", job_title="")


ROW = HEADER.replace("\n", ",Job title\n") + "Ann,Able,ANN@acme.example,,Acme Oy,,Buyer\n"


def test_policy_skip(run_import, existing):
    job = run_import(ROW, policy="skip")
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 0, 1)
    existing.refresh_from_db()
    assert existing.job_title == ""


def test_policy_update_empty_fields(run_import, existing):
    existing.phone = "+358401111111"
    existing.save()
    job = run_import(
        ROW.replace("Ann,Able,ANN@acme.example,,", "Ann,Able,ANN@acme.example,+358402222222,"), policy="update_empty"
    )
    assert (job.created_count, job.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert existing.job_title == "Buyer"  # was empty: filled
    assert str(existing.phone) == "+358401111111"  # was set: kept
    assert RecordChange.objects.filter(record_type="crm.contact", record_id=existing.pk, kind="updated").exists()


def test_policy_overwrite(run_import, existing):
    existing.job_title = "CEO"
    existing.save()
    job = run_import(ROW, policy="overwrite")
    assert job.updated_count == 1
    existing.refresh_from_db()
    assert existing.job_title == "Buyer"


def test_policy_create_and_flag(run_import, existing):
    job = run_import(ROW, policy="create_flag")
    assert job.created_count == 1
    new = Contact.objects.exclude(pk=existing.pk).get(email="ann@acme.example")
    pair = DuplicatePair.objects.get()
    assert {pair.first_id, pair.second_id} == {existing.pk, new.pk}
    assert pair.source == "import"
    assert any("same email" in r for r in pair.reasons)


def test_duplicates_within_the_file_and_fuzzy_names(run_import, acme, existing):
    # A similar name (trigrams) on PostgreSQL; the same name, ignoring case, on SQLite.
    similar = "Anne,Able" if connection.vendor == "postgresql" else "ANN,able"
    job = run_import(
        HEADER
        + "Zed,Zulu,zed@acme.example,,Acme Oy,\n"
        + "Zed,Zulu,ZED@acme.example,,Acme Oy,\n"  # the same email as the row above
        + f"{similar},,,Acme Oy,\n",  # a similar name at the same account as an existing contact
        policy="skip",
    )
    assert (job.created_count, job.skipped_count) == (1, 2)
    assert Contact.objects.filter(email="zed@acme.example").count() == 1


def test_accounts_import_matches_through_the_account_matcher(run_import, acme):
    job = run_import(
        "Name,Business ID,Country,Website\nACME OY,2112345-6,Finland,acme.example\nGlobex Oy,,FI,globex.example\n",
        resource="accounts",
        policy="update_empty",
    )
    assert (job.created_count, job.updated_count + job.skipped_count) == (1, 1)
    globex = Account.objects.get(name="Globex Oy")
    assert (globex.country.code, globex.website, globex.owner) == ("FI", "https://globex.example", job.created_by)


def test_leads_import(run_import):
    LeadFactory(email="old@prospect.example")
    job = run_import(
        "First,Last,Email,Company,Country,Source,Score\n"
        "Pia,Puu,pia@prospect.example,Prospect Oy,Finland,Trade fair,70\n"
        "Old,Lead,old@prospect.example,X,,web,10\n"
        "Bad,Score,b@prospect.example,X,,web,200\n",
        resource="leads",
    )
    assert (job.created_count, job.skipped_count, job.failed_count) == (1, 1, 1)
    lead = Lead.objects.get(email="pia@prospect.example")
    assert (lead.company_country.code, lead.source, lead.score) == ("FI", "trade_fair", 70)


def test_undo_deletes_what_was_created_and_restores_what_was_updated(run_import, existing, undo):
    job = run_import(ROW + "New,Person,new@acme.example,,Acme Oy,,\n", policy="overwrite")
    assert (job.created_count, job.updated_count) == (1, 1)
    new = Contact.objects.get(email="new@acme.example")
    undo(job)
    existing.refresh_from_db()
    assert existing.job_title == ""
    assert not Contact.objects.filter(email="new@acme.example").exists()
    # The deleted record's history keeps its last values, as a delete through a service would.
    deleted = RecordChange.objects.get(record_type="crm.contact", record_id=new.pk, kind="deleted")
    assert deleted.record_label == "New Person"
    assert deleted.changes["email"] == {"old": "new@acme.example", "new": None}
    assert deleted.changes["account"] == {"old": {"id": existing.account_id, "label": "Acme Oy"}, "new": None}
    restored = RecordChange.objects.filter(record_type="crm.contact", record_id=existing.pk, kind="updated").first()
    assert restored.changes["job_title"] == {"old": "Buyer", "new": ""}
    assert job.status == "undone"
    assert AuditEvent.objects.filter(action="imports.import.undone").exists()


def test_undo_refused_once_a_record_was_edited(run_import, acme, sales_rep):
    from crm.services import contact_save

    job = run_import(HEADER + "New,Person,new@acme.example,,Acme Oy,\n")
    contact = Contact.objects.get(email="new@acme.example")
    contact.job_title = "Edited since"
    contact_save(actor=sales_rep, contact=contact)
    with pytest.raises(BusinessRuleViolation, match="changed since"):
        services.import_undo(actor=sales_rep, job=job)
    assert Contact.objects.filter(email="new@acme.example").exists()


def test_interrupted_run_resumes_with_nothing_duplicated(settings, sales_rep, acme, monkeypatch):
    """A worker that dies mid-chunk: the chunk rolls back; the redelivered task takes it again."""
    settings.IMPORTS_CHUNK_SIZE = 2
    rows = "".join(f"P{i},Person{i},p{i}@acme.example,,Acme Oy,\n" for i in range(7))
    job = services.import_stage(
        actor=sales_rep, resource="contacts", stream=io.BytesIO((HEADER + rows).encode()), file_name="p.csv"
    )
    assert job.chunks.count() == 4
    services.import_configure(actor=sales_rep, job=job, mapping=suggest_mapping("contacts", job.headers), policy="skip")
    services.import_start(actor=sales_rep, job=job)

    real = services._write_outcome
    calls = {"n": 0}

    def dies_on_second_chunk(job_, chunk, outcome, *rest):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # after the chunk's INSERTs, before its commit
        return real(job_, chunk, outcome, *rest)

    monkeypatch.setattr(services, "_write_outcome", dies_on_second_chunk)
    with pytest.raises(SystemExit):
        services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, Contact.objects.count()) == ("running", 2, 2)

    monkeypatch.setattr(services, "_write_outcome", real)
    services.import_run(job_id=job.pk)  # the redelivery
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("done", 7, 7)
    assert Contact.objects.filter(account=acme).count() == 7
    assert not ImportChunk.objects.filter(job=job, done=False).exists()
    # Running it once more changes nothing.
    assert services.import_run(job_id=job.pk) is None
    assert Contact.objects.count() == 7


def test_the_whole_flow_in_the_browser_pages(rep_client, acme, django_capture_on_commit_callbacks):
    upload = io.BytesIO(
        (HEADER + "Ann,Able,ann@acme.example,040 1234567,Acme Oy,\nBad,,x@acme.example,,Acme Oy,\n").encode()
    )
    upload.name = "fair.csv"
    response = rep_client.post(reverse("imports:upload"), {"resource": "contacts", "file": upload})
    job = ImportJob.objects.get()
    assert response.url == reverse("imports:map", args=[job.pk])
    page = rep_client.get(response.url)
    assert page.status_code == 200
    assert 'value="email" selected' in page.content.decode()
    form = {f"col_{i}": t for i, t in suggest_mapping("contacts", job.headers).items()}
    form.update(policy="skip", default_country="FI", date_format="%Y-%m-%d")
    response = rep_client.post(reverse("imports:map", args=[job.pk]), form)
    assert response.url == reverse("imports:preview", args=[job.pk])
    preview = rep_client.get(response.url).content.decode()
    assert "+358401234567" in preview
    assert "Last name: every person needs a last name." in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = rep_client.post(reverse("imports:preview", args=[job.pk]))
    assert response.url == reverse("imports:job", args=[job.pk])
    result = rep_client.get(response.url).content.decode()
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == ("done", 1, 1)
    assert "Failed rows (CSV)" in result
    assert "Undo import" in result


def test_outsider_sees_no_imports(external_client, run_import, acme):
    job = run_import(HEADER + "Ann,Able,ann@acme.example,,Acme Oy,\n")
    assert external_client.get(reverse("imports:job", args=[job.pk])).status_code == 404
    assert external_client.get(reverse("imports:failed_rows", args=[job.pk])).status_code == 404


def test_columns_map_onto_custom_fields_with_their_validation(run_import, acme):
    """A custom field is an import target like a built-in one, validated by the same rules."""
    from tests.factories import CustomFieldFactory, choices

    CustomFieldFactory(
        model="crm.contact", key="segment", label="Segment", type="choice", choices=choices("smb", "enterprise")
    )
    job = run_import(
        "first_name,last_name,email,account,Segment\n"
        "Maija,Virtanen,maija@acme.example,Acme Oy,enterprise\n"
        "Pekka,Pouta,pekka@acme.example,Acme Oy,galactic\n"
    )
    assert (job.created_count, job.failed_count) == (1, 1)
    assert Contact.objects.get(email="maija@acme.example").custom_fields == {"segment": "enterprise"}
    assert not Contact.objects.filter(email="pekka@acme.example").exists()


@pytest.mark.parametrize("resource", ["contacts", "leads", "accounts"])
def test_history_of_an_imported_record_is_what_a_service_would_write(run_import, acme, sales_rep, resource):
    """The import writes its history set-based, without a model instance: the same rows as one by one."""
    from history.services import history_record
    from tests.factories import CustomFieldFactory, choices

    label = {"contacts": "crm.contact", "leads": "crm.lead", "accounts": "crm.account"}[resource]
    CustomFieldFactory(model=label, key="priority", label="Priority", type="choice", choices=choices("smb", "ent"))
    files = {
        "contacts": "First name,Last name,E-mail,Phone,Company,Consent,Last verified,Priority\n"
        "maija,VIRTANEN,m@acme.example,+358401234567,Acme Oy,yes,2025-03-01,ent\n",
        "leads": "First,Last,Email,Phone,Company,Country,Source,Score,Priority\n"
        "Pia,Puu,pia@prospect.example,+358401234567,Prospect Oy,Finland,Trade fair,70,ent\n",
        "accounts": "Name,Business ID,Country,Website,Priority\nGlobex Oy,,FI,globex.example,ent\n",
    }
    job = run_import(files[resource], resource=resource, default_country="FI")
    assert (job.created_count, [f.reason for f in job.failures.all()]) == (1, [])
    record_id = job.records.get(record_type=label, action="created").record_id
    record = MODELS_BY_LABEL[label].objects.get(pk=record_id)
    imported = RecordChange.objects.get(record_type=label, record_id=record.pk, kind="created")
    expected = history_record(actor=sales_rep, record=record)
    assert expected is not None
    assert imported.changes == expected.changes
    assert imported.record_label == str(record)
    assert (imported.actor, imported.channel, imported.job) == (sales_rep, "import", f"import {job.pk}: people.csv")
    assert imported.changes["custom_fields.priority"] == {"old": None, "new": "ent"}


MODELS_BY_LABEL = {"crm.contact": Contact, "crm.lead": Lead, "crm.account": Account}


def _peak_while_importing(settings, actor, account, rows: int) -> int:
    import tracemalloc

    settings.IMPORTS_CHUNK_SIZE = 100
    lines = "".join(
        f"P{i},Person{i}r{rows},p{i}.{rows}@acme.example,+35840{1000000 + i},Acme Oy,\n" for i in range(rows)
    )
    job = services.import_stage(
        actor=actor, resource="contacts", stream=io.BytesIO((HEADER + lines).encode()), file_name="m.csv"
    )
    services.import_configure(actor=actor, job=job, mapping=suggest_mapping("contacts", job.headers), policy="skip")
    services.import_start(actor=actor, job=job)
    tracemalloc.start()
    services.import_run(job_id=job.pk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    job.refresh_from_db()
    assert job.created_count == rows
    return peak


@pytest.mark.django_db(transaction=True)
def test_worker_memory_stays_flat_in_file_size(settings, sales_rep, acme):
    """The worker holds one chunk at a time: eight times the rows, not eight times the memory.

    Each chunk commits, as in a worker (in a test's one transaction, what is queued to run after
    each commit would pile up), and a first run warms what a worker loads once.
    """
    _peak_while_importing(settings, sales_rep, acme, 50)
    small = _peak_while_importing(settings, sales_rep, acme, 300)
    large = _peak_while_importing(settings, sales_rep, acme, 2400)
    assert large < 2 * small, (small, large)
