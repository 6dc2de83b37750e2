from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Imports: a CSV or XLSX file of accounts, contacts or leads taken in as one job.

    A file is read once when it is uploaded and staged in chunks (``ImportChunk``); the job
    (``imports.tasks``) processes chunk after chunk, each in one transaction that also marks it
    done, so a worker killed mid-import leaves its chunk to the next run and nothing twice.
    """

    name = "imports"
    verbose_name = "Imports"
