from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "iam"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from iam import signals  # noqa: F401 - connects the audit receivers
