"""PostgreSQL only. Extended statistics on the queue's filter columns, and autovacuum tuned for index-only scans.

The planner multiplies the selectivities of ``team``, ``severity`` and ``status`` as if they were
independent. Where they are not (a team that takes no urgent cases), it expects tens of thousands
of rows for a filter that matches none, and counts them with a sequential scan hoping to stop
early at the count's LIMIT: it never stops. The most-common-values list over the three columns
gives it the real frequency of each combination. That alone is not enough (measured at 500,000
cases): after a bulk update with the visibility map empty, the partial index's heap fetches cost
more than the sequential scan and the count still read the whole table (250 ms). With the map
current, the count and the page are index-only scans of ``cases_case_open_team_sev`` (0.05 ms).
"""

from django.db import migrations

CREATE = "CREATE STATISTICS IF NOT EXISTS cases_case_queue_stats (mcv, dependencies) ON team, severity, status FROM cases_case"
DROP = "DROP STATISTICS IF EXISTS cases_case_queue_stats"
# The queue's bounded counts and pages are index-only scans of the open cases' partial indexes,
# which skip the heap only for pages the visibility map marks all-visible. Vacuum the table after
# 2 % of it changed (the default waits for 20 %: 100,000 of 500,000 cases) to keep that map current.
AUTOVACUUM = (
    "ALTER TABLE cases_case SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)"
)
AUTOVACUUM_RESET = (
    "ALTER TABLE cases_case RESET (autovacuum_vacuum_scale_factor, "
    "autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(AUTOVACUUM)
        schema_editor.execute("ANALYZE cases_case")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(AUTOVACUUM_RESET)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_categories")]

    operations = [migrations.RunPython(create, drop)]
