"""PostgreSQL only: autovacuum tuned so the queue's counts and pages stay index-only scans.

The queue's bounded count (``LIMIT 1001``) and its pages read the open cases' partial indexes
(``cases_case_open_created``, ``cases_case_open_team_sev``), which skip the heap only for the pages
the visibility map marks all-visible. Measured at 500,000 cases, after a bulk update (the map
empty) the planner counts a team + severity filter that matches nothing with a sequential scan
(250 ms); with the map current, it is an index-only scan (0.3 ms), and so is the page (0.4 ms).
By default autovacuum waits until 20 % of the table changed (100,000 of 500,000 cases); here 2 %.

Extended statistics on (team, severity, status) were tried and left out: they fix the count's row
estimate but make the page's ordered index scan look dearer than a sequential scan (no LIMIT
discount for an estimated single row), 260 ms instead of 0.4 ms.
"""

from django.db import migrations

AUTOVACUUM = (
    "ALTER TABLE cases_case SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)"
)
AUTOVACUUM_RESET = (
    "ALTER TABLE cases_case RESET (autovacuum_vacuum_scale_factor, "
    "autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)"
)


def tune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AUTOVACUUM)


def untune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AUTOVACUUM_RESET)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_categories")]

    operations = [migrations.RunPython(tune, untune)]
