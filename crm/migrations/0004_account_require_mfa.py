from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_scale_indexes")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="require_mfa",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Every portal user of this account must use a second factor.",
                verbose_name="require MFA",
            ),
        ),
    ]
