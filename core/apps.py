from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure every app builds on: errors, access, listing, forms, locks, context.

    It imports no other app of ours, so no app has to import another to reach it.
    """

    name = "core"
    verbose_name = "Clientele core"
