"""Exports: a list's filter, sort and ticked rows to CSV (streamed) and XLSX, safe to open, audited."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import Contact
from exports import services
from iam.models import AuditEvent
from tests.factories import AccountFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_follows_the_lists_filter_and_sort(rep_client):
    account = AccountFactory(name="Acme Oy")
    ContactFactory(account=account, last_name="Zeta", email="z@acme.example")
    ContactFactory(account=account, last_name="Alpha", email="a@acme.example")
    ContactFactory(last_name="Elsewhere")
    response = rep_client.get(reverse("exports:export", args=["contacts"]), {"q": "acme", "sort": "name"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = _csv(response)
    assert rows[0][:4] == ["First name", "Last name", "Account", "Email"]
    assert [r[1] for r in rows[1:]] == ["Alpha", "Zeta"]
    assert AuditEvent.objects.filter(action="exports.export.created", data__resource="contacts").exists()


def test_ticked_rows_and_chosen_columns(rep_client):
    a, b, _c = ContactFactory(last_name="A"), ContactFactory(last_name="B"), ContactFactory(last_name="C")
    response = rep_client.get(
        reverse("exports:export", args=["contacts"]), {"ids": f"{a.pk},{b.pk}", "columns": "last_name,email"}
    )
    rows = _csv(response)
    assert rows == [["Last name", "Email"], ["A", a.email], ["B", b.email]]


def test_formula_cells_are_neutralised(rep_client):
    ContactFactory(last_name='=HYPERLINK("http://evil")', first_name="@SUM(A1)", job_title="-2+3")
    LeadFactory(last_name="+cmd|' /C calc'!A0")
    rows = _csv(rep_client.get(reverse("exports:export", args=["contacts"])))
    assert rows[1][0] == "'@SUM(A1)"
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[1][5] == "'-2+3"
    lead_rows = _csv(rep_client.get(reverse("exports:export", args=["leads"])))
    assert lead_rows[1][1] == "'+cmd|' /C calc'!A0"


def test_xlsx_export_and_its_bound(rep_client, settings):
    ContactFactory(last_name="=1+1")
    response = rep_client.get(reverse("exports:export", args=["contacts"]), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "Last name"
    assert rows[1][1] == "'=1+1"
    settings.EXPORTS_XLSX_MAX_ROWS = 1
    ContactFactory()
    response = rep_client.get(reverse("exports:export", args=["contacts"]), {"format": "xlsx"}, follow=True)
    assert "export them as CSV" in response.content.decode()


def test_other_lists_export_and_accounts_are_not_audited_as_personal_data(rep_client):
    AccountFactory(name="Globex Oy")
    rows = _csv(rep_client.get(reverse("exports:export", args=["accounts"])))
    assert rows[1][0] == "Globex Oy"
    for resource in ("opportunities", "contracts", "activities", "leads"):
        assert rep_client.get(reverse("exports:export", args=[resource])).status_code == 200
    assert not AuditEvent.objects.filter(data__resource="accounts").exists()


def test_outsider_gets_404(external_client):
    ContactFactory()
    assert external_client.get(reverse("exports:export", args=["contacts"])).status_code == 404


def _peak_while_streaming(count: int) -> int:
    Contact.objects.all().delete()
    account = AccountFactory()
    Contact.objects.bulk_create(
        [
            Contact(account=account, owner=account.owner, last_name=f"Person {i:06d}", email=f"p{i}@x.example")
            for i in range(count)
        ]
    )
    queryset = Contact.objects.select_related("account", "owner").order_by("last_name", "pk")
    from exports.columns import EXPORTS

    tracemalloc.start()
    size = 0
    for piece in services.csv_stream(queryset, EXPORTS["contacts"].columns):
        size += len(piece)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, size


def test_streaming_export_memory_stays_flat(monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 200)
    small_peak, small_size = _peak_while_streaming(600)
    large_peak, large_size = _peak_while_streaming(4800)
    assert large_size > 7 * small_size
    # Eight times the rows, not eight times the memory: one chunk is held at a time.
    assert large_peak < 2 * small_peak


def test_custom_fields_export_as_columns_of_their_own(rep_client):
    """Operations' own fields leave the CRM like built-in ones: a column each, headed by the label."""
    from tests.factories import CustomFieldFactory, choices

    CustomFieldFactory(
        model="crm.contact", key="segment", label="Segment", type="choice", choices=choices("smb", "ent")
    )
    CustomFieldFactory(
        model="crm.contact", key="langs", label="Languages", type="multi_choice", choices=choices("fi", "en")
    )
    ContactFactory(last_name="Virtanen", custom_fields={"segment": "ent", "langs": ["fi", "en"]})

    rows = _csv(rep_client.get(reverse("exports:export", args=["contacts"])))

    header = rows[0]
    assert header[-2:] == ["Segment", "Languages"]
    row = next(r for r in rows[1:] if r[1] == "Virtanen")
    assert row[-2:] == ["ent", "fi; en"]
