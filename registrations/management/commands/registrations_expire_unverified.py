from __future__ import annotations

from django.core.management.base import BaseCommand

from registrations.services import registrations_expire_unverified


class Command(BaseCommand):
    help = "Forget registrations whose email was never verified (and the unverified logins they created)."

    def handle(self, *args, **options) -> None:
        count = registrations_expire_unverified()
        self.stdout.write(f"{count} unverified registration(s) forgotten.")
