"""Contacts lose the single-column indexes Django gives every foreign key, on account and owner.

``crm_contact_account_name`` (account_id, last_name, id) and ``crm_contact_owner_name`` (owner_id,
last_name, id) lead with the same columns and serve every lookup those did; at a million contacts
the two extra indexes cost ~17 % of each bulk insert. Only the indexes go (``DROP INDEX IF
EXISTS``, the same on PostgreSQL and SQLite): an AlterField would also drop and re-add both
foreign keys, validating every row again under a lock.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {"crm_contact_account_id_1eac6a03": "account_id", "crm_contact_owner_id_11e5a0f0": "owner_id"}


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0013_territories"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_contact" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="crm.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The staff user responsible for this record.",
                        limit_choices_to={"is_staff": True},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_contacts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        )
    ]
