"""Trigram indexes for the one search for everything (issue 15): leads, deals and contracts.

Contacts and accounts have theirs since 0003; the top bar searches every record type at once,
and without these a rare term scans all 200,000 leads.
"""

from django.db import migrations

from crm.migrations import _trigram

TRIGRAM_INDEXES = (
    ("crm_lead_first_name_trgm", "crm_lead", "first_name"),
    ("crm_lead_last_name_trgm", "crm_lead", "last_name"),
    ("crm_lead_email_trgm", "crm_lead", "email"),
    ("crm_lead_company_name_trgm", "crm_lead", "company_name"),
    ("crm_opportunity_name_trgm", "crm_opportunity", "name"),
    ("crm_contract_number_trgm", "crm_contract", "number"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_decay"),
    ]

    operations = [_trigram.PostgresTrigramIndexes(TRIGRAM_INDEXES)]
