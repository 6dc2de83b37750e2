from django.apps import AppConfig


class SavedViewsConfig(AppConfig):
    """A list's filters, sort and visible columns saved by name: personal or shared with the team."""

    name = "savedviews"
    verbose_name = "Saved views"
