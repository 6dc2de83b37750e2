# Webhook signing secrets were stored in clear text: widen the columns to text and encrypt
# what is there (raw SQL: the model field would try to decrypt the clear text it reads).

import webhooks.sealing
from django.db import migrations

TABLE = "webhooks_endpoint"


def seal_existing(apps, schema_editor):
    from webhooks.sealing import seal

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret, previous_secret FROM {TABLE}")  # noqa: S608
        for pk, secret, previous in cursor.fetchall():
            cursor.execute(
                f"UPDATE {TABLE} SET secret = %s, previous_secret = %s WHERE id = %s",  # noqa: S608
                [seal(secret) if secret else secret, seal(previous) if previous else previous, pk],
            )


def unseal_existing(apps, schema_editor):
    from webhooks.sealing import unseal

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret, previous_secret FROM {TABLE}")  # noqa: S608
        for pk, secret, previous in cursor.fetchall():
            cursor.execute(
                f"UPDATE {TABLE} SET secret = %s, previous_secret = %s WHERE id = %s",  # noqa: S608
                [unseal(secret) if secret else secret, unseal(previous) if previous else previous, pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="endpoint",
            name="previous_secret",
            field=webhooks.sealing.SealedSecretField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="endpoint",
            name="secret",
            field=webhooks.sealing.SealedSecretField(editable=False),
        ),
        migrations.RunPython(seal_existing, unseal_existing),
    ]
