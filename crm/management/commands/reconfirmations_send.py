from django.core.management.base import BaseCommand

from crm.reconfirmation import reconfirmations_send_due


class Command(BaseCommand):
    help = "Ask stale contacts to reconfirm their data (the daily job); nobody is asked twice within the interval."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="At most this many (default: the setting).")
        parser.add_argument("--account", type=int, default=None, help="Only this account's contacts (id).")
        parser.add_argument("--owner", type=int, default=None, help="Only this owner's contacts (user id).")

    def handle(self, *args, **options) -> None:
        outcome = reconfirmations_send_due(
            limit=options["limit"], account_id=options["account"], owner_id=options["owner"]
        )
        self.stdout.write(f"{outcome.sent:,} reconfirmation emails sent, {outcome.invited:,} invitations.")
