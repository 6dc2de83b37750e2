"""``/api/v1/imports/``: upload with a mapping, follow the job, read its counts and failed rows, undo."""

from __future__ import annotations

import io
import json

import pytest

from crm.models import Contact
from imports.models import ImportJob
from tests.api.factories import Api, issue_key
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Etunimi,Sukunimi,Sähköposti,Yritys\n"
    "Maija,Virtanen,maija@acme.example,Acme Oy\n"
    "Nimetön,,nobody@acme.example,Acme Oy\n"
    "Pekka,Pouta,pekka@acme.example,Acme Oy\n"
)


def _upload(api: Api, content: str = CSV, **fields):
    upload = io.BytesIO(content.encode())
    upload.name = "people.csv"
    data = {"file": upload, "resource": "contacts", **fields}
    return api.client.post("/api/v1/imports/", data=data, **api.headers)


@pytest.fixture
def writer(ops):
    AccountFactory(name="Acme Oy")
    _key, raw = issue_key("imports:write", created_by=ops)
    return Api(key=raw)


def test_an_upload_with_a_mapping_runs_and_reports_its_counts(writer, django_capture_on_commit_callbacks):
    mapping = {"0": "first_name", "1": "last_name", "2": "email", "3": "account"}
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(writer, mapping=json.dumps(mapping), policy="skip")
    assert response.status_code == 201, response.content
    assert response["Location"].endswith(f"/api/v1/imports/{response.json()['id']}/")
    job = writer.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "done"
    assert (job["total_rows"], job["processed_rows"], job["progress_percent"]) == (3, 3, 100)
    assert (job["created_count"], job["failed_count"]) == (2, 1)
    assert job["mapping"] == mapping
    assert set(Contact.objects.values_list("email", flat=True)) == {"maija@acme.example", "pekka@acme.example"}

    failed = writer.get(job["failed_rows_url"].removeprefix("http://testserver"))
    assert failed.status_code == 200
    lines = b"".join(failed.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].endswith(",reason,line")
    assert lines[1].startswith("Nimetön,,nobody@acme.example")
    assert lines[1].endswith(",3")

    with django_capture_on_commit_callbacks(execute=True):
        undoing = writer.post(job["undo_url"].removeprefix("http://testserver"))
    assert undoing.status_code == 202
    assert undoing.json()["status"] == "undoing"  # a job: queued, then run by a worker
    undone = writer.get(f"/api/v1/imports/{job['id']}/").json()
    assert (undone["status"], undone["undo_percent"], undone["undo_url"]) == ("undone", 100, None)
    assert not Contact.objects.exists()
    again = writer.post(job["undo_url"].removeprefix("http://testserver"))
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"


def test_a_retried_undo_request_answers_with_the_job_and_queues_nothing_more(
    writer, django_capture_on_commit_callbacks
):
    mapping = {"0": "first_name", "1": "last_name", "2": "email", "3": "account"}
    with django_capture_on_commit_callbacks(execute=True):
        created = _upload(writer, mapping=json.dumps(mapping), policy="skip").json()
    job = writer.get(f"/api/v1/imports/{created['id']}/").json()
    url = job["undo_url"].removeprefix("http://testserver")
    with django_capture_on_commit_callbacks() as first:
        writer.post(url)
    with django_capture_on_commit_callbacks() as second:
        retried = writer.post(url)
    assert (retried.status_code, retried.json()["status"], len(first), len(second)) == (202, "undoing", 1, 0)
    assert Contact.objects.count() == 2  # nothing undone before the worker runs it
    first[0]()
    assert writer.get(f"/api/v1/imports/{job['id']}/").json()["status"] == "undone"
    assert not Contact.objects.exists()


def test_without_a_mapping_the_headers_suggest_one_and_a_draft_waits(writer):
    response = _upload(writer, start="false")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["mapping"] == {"0": "first_name", "1": "last_name", "2": "email", "3": "account"}
    assert body["undo_url"] is None


def test_a_file_that_is_not_a_csv_is_a_problem_and_changes_nothing(writer):
    upload = io.BytesIO(b"\x00\x01\x02binary\x00")
    upload.name = "contacts.csv"
    response = writer.client.post("/api/v1/imports/", data={"file": upload, "resource": "contacts"}, **writer.headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "not a CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_without_a_last_name_is_refused(writer):
    response = _upload(writer, mapping=json.dumps({"2": "email", "3": "account"}))
    assert response.status_code == 400
    assert "Last name" in response.content.decode()


def test_a_read_key_and_a_key_restricted_to_accounts_may_not_import(ops):
    account = AccountFactory(name="Acme Oy")
    for scopes, accounts in (("imports:read", ()), ("imports:write", [account])):
        _key, raw = issue_key(scopes, accounts=accounts, created_by=ops)
        assert _upload(Api(key=raw)).status_code == 403
    assert not ImportJob.objects.exists()


def test_an_external_user_gets_403_and_a_rep_sees_every_import(external_api, rep_api, writer):
    job_id = _upload(writer, start="false").json()["id"]
    assert external_api.get(f"/api/v1/imports/{job_id}/").status_code == 403
    assert rep_api.get(f"/api/v1/imports/{job_id}/").status_code == 200
    assert job_id in {row["id"] for row in rep_api.get("/api/v1/imports/").json()["results"]}


def test_the_list_costs_the_same_queries_for_one_import_or_many(writer, django_assert_max_num_queries):
    for _ in range(3):
        _upload(writer, start="false")
    with django_assert_max_num_queries(8):
        response = writer.get("/api/v1/imports/")
    assert len(response.json()["results"]) == 3
