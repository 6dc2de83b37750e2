from django.core.management.base import BaseCommand

from crm.contracts import contracts_expire_due


class Command(BaseCommand):
    help = "Expire active contracts past their end date and let portal access follow (the hourly job)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{contracts_expire_due():,} contracts expired; portal access is in line with contracts.")
