from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """Record history: who changed which field of a CRM record from what to what, when and through what.

    Written explicitly by the services that change the records (``history.services``), never by
    signals or triggers. It imports no CRM code, so every app that writes records may use it.
    """

    name = "history"
    verbose_name = "Record history"
