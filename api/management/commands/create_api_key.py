"""``manage.py create_api_key NAME --scopes contacts:read,leads:write [--accounts 12,34] [--expires-days 90]``

Prints the key once; only its hash is stored. The key acts for ``--created-by`` (an operations
user; default: the first active superuser).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.scopes import all_scopes
from api.services import api_key_create
from crm.models import Account
from iam.models import User


class Command(BaseCommand):
    help = "Create an API key and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'ERP sync'.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated: {', '.join(all_scopes())}; 'contacts:*' means read and write.",
        )
        parser.add_argument("--accounts", default="", help="Comma-separated account ids the key is restricted to.")
        parser.add_argument("--expires-days", type=int, default=None, help="Expire after this many days.")
        parser.add_argument("--created-by", default="", help="Email of the operations user the key acts for.")

    def handle(self, *args, name: str, scopes: str, accounts: str, expires_days: int | None, created_by: str, **kw):
        actor = self._actor(created_by)
        account_list = self._accounts(accounts)
        expires_at = None
        if expires_days is not None:
            if expires_days < 1:
                raise CommandError("--expires-days must be at least 1.")
            expires_at = timezone.now() + dt.timedelta(days=expires_days)
        try:
            issued = api_key_create(actor=actor, name=name, scopes=scopes, accounts=account_list, expires_at=expires_at)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        key = issued.api_key
        self.stdout.write(issued.key)
        self.stderr.write(
            f"Created API key {key.name!r} (prefix {key.prefix}) acting for {actor.email}: "
            f"scopes {', '.join(key.scopes)}"
            + (f"; accounts {', '.join(str(a.pk) for a in account_list)}" if account_list else "")
            + (f"; expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
            + ". Store it now: it is not shown again. Send it as 'Authorization: Api-Key <key>'."
        )

    def _actor(self, email: str) -> User:
        if email:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No user {email}.")
            return user
        user = User.objects.filter(is_superuser=True, is_active=True, is_staff=True).order_by("pk").first()
        if user is None:
            raise CommandError("No active operations user: create one (createsuperuser) or pass --created-by.")
        return user

    def _accounts(self, raw: str) -> list[Account]:
        ids = [item.strip() for item in raw.split(",") if item.strip()]
        if not ids:
            return []
        if not all(i.isdecimal() for i in ids):
            raise CommandError("--accounts takes account ids, e.g. --accounts 12,34.")
        found = list(Account.objects.filter(pk__in=[int(i) for i in ids]))
        missing = sorted(set(map(int, ids)) - {a.pk for a in found})
        if missing:
            raise CommandError(f"No account(s) with id {', '.join(map(str, missing))}.")
        return found
