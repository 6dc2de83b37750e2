from django.apps import AppConfig


class CustomFieldsConfig(AppConfig):
    """Custom fields: typed fields operations define per record type (the seeds' metadata).

    Definitions live here; values live on each record, in its ``custom_fields`` JSONB column,
    and are validated by ``customfields.values.clean_values`` on every write path.
    """

    name = "customfields"
    verbose_name = "Custom fields"
    default_auto_field = "django.db.models.BigAutoField"
