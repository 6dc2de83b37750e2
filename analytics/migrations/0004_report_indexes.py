"""Indexes the reports read through, on other apps' tables (issue 16). PostgreSQL only.

They live here, not in crm/iam, because they serve the reports alone; ``IF NOT EXISTS`` /
``IF EXISTS`` keep the migration safe to re-run and to reverse. Built ``CONCURRENTLY`` so
writers are not blocked on a large table (hence a non-atomic migration).
"""

from django.db import migrations

INDEXES = {
    # Funnel: the period's leads, with every column the step counts read, from the index alone.
    "analytics_lead_funnel": (
        "crm_lead (created_at) INCLUDE (id, source, status, owner_id, converted_account_id, converted_at)"
    ),
    # Pipeline: the period's deals by close date, from the index alone.
    "analytics_opp_report": (
        "crm_opportunity (expected_close_date) INCLUDE (id, stage, owner_id, amount, probability, created_at)"
    ),
    # Contracts: the active ones' count and value, and what expires when, from the index alone.
    "analytics_contract_active": "crm_contract (status, end_date) INCLUDE (id, value, owner_id, account_id)",
    # Contracts: "has a later contract" per ended contract, one probe each.
    "analytics_contract_successor": "crm_contract (account_id, start_date)",
    # Portal adoption: active memberships per account, admins and users, from the index alone.
    "analytics_membership_adoption": (
        "iam_membership (status, account_id) INCLUDE (id, user_id, is_org_admin, is_lead_only)"
    ),
    # Portal adoption: sign-ins in a period.
    "analytics_audit_signins": "iam_auditevent (occurred_at, actor_id) WHERE action = 'iam.user.signed_in'",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("analytics", "0003_report_rollups"),
        ("crm", "0012_custom_fields"),
        ("iam", "0005_user_active_staff_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
