from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    """Territories, teams and the assignment rules that route new leads and cases to people."""

    name = "territories"
    verbose_name = "Territories and teams"
