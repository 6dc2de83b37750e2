from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Cases: customers' service requests with their conversation and SLA clocks."""

    name = "cases"
    verbose_name = "Cases"
