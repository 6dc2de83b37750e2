from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Exports of a CRM list's current filter and columns: streamed CSV, bounded XLSX."""

    name = "exports"
    verbose_name = "Exports"
