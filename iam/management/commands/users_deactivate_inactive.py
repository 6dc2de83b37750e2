from django.core.management.base import BaseCommand

from iam.inactivity import users_deactivate_inactive


class Command(BaseCommand):
    help = "Warn portal users who have not signed in for long, and deactivate those warned long enough ago."

    def handle(self, *args, **options) -> None:
        outcome = users_deactivate_inactive()
        if outcome.skipped_locked:
            self.stdout.write("Another run is in progress; nothing done.")
            return
        self.stdout.write(f"{outcome.warned:,} users warned, {outcome.deactivated:,} deactivated.")
