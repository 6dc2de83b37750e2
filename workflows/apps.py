from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Workflow rules: event → condition → action automations that managers write (issue 18)."""

    name = "workflows"
    verbose_name = "Workflow rules"
    default_auto_field = "django.db.models.BigAutoField"
