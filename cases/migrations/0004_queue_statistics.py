"""Extended statistics on the queue's filter columns (PostgreSQL only).

The planner multiplies the selectivities of ``team``, ``severity`` and ``status`` as if they were
independent. Where they are not (a team that takes no urgent cases), it expects tens of thousands
of rows for a filter that matches none, and counts them with a sequential scan hoping to stop
early at the count's LIMIT: it never stops. The most-common-values list over the three columns
gives it the real frequency of each combination, and the partial index on open cases is chosen.
"""

from django.db import migrations

CREATE = "CREATE STATISTICS IF NOT EXISTS cases_case_queue_stats (mcv, dependencies) ON team, severity, status FROM cases_case"
DROP = "DROP STATISTICS IF EXISTS cases_case_queue_stats"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute("ANALYZE cases_case")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_categories")]

    operations = [migrations.RunPython(create, drop)]
