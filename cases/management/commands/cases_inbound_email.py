"""Take in raw emails (RFC 5322 files, or one on stdin): each is threaded onto its case or opens one.

python manage.py cases_inbound_email message.eml [more.eml ...]
fetchmail ... --mda "python manage.py cases_inbound_email -"
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from cases.inbound import case_inbound_email


class Command(BaseCommand):
    help = "Thread raw RFC 5322 emails onto cases (files, or - for stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="Message files; - reads one message from stdin.")

    def handle(self, *args, paths: list[str], **options) -> None:
        for path in paths:
            raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
            result = case_inbound_email(raw)
            case = f" case #{result.case.pk}" if result.case else ""
            detail = f" ({result.detail})" if result.detail else ""
            self.stdout.write(f"{path}: {result.outcome}{case}{detail}")
