from django.apps import AppConfig


class RegistrationsConfig(AppConfig):
    name = "registrations"
    verbose_name = "Registrations"

    def ready(self) -> None:
        from registrations import signals  # noqa: F401  (allauth's email_confirmed → the registration goes on)
