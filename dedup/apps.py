from django.apps import AppConfig


class DedupConfig(AppConfig):
    """Duplicates: warnings before a save, the duplicate finder, and merging two records into one."""

    name = "dedup"
    verbose_name = "Duplicates"
