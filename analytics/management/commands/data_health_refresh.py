from django.core.management.base import BaseCommand

from analytics.services import data_health_refresh


class Command(BaseCommand):
    help = "Recompute every contact's freshness and store today's data-health snapshot (the nightly job)."

    def handle(self, *args, **options) -> None:
        result = data_health_refresh()
        if result.changed_state is None or result.snapshot is None:
            self.stdout.write("Another run is in progress; nothing done.")
            return
        s = result.snapshot
        self.stdout.write(
            f"{result.changed_state:,} contacts changed state. Snapshot {s.day}: {s.fresh:,} fresh, "
            f"{s.ageing:,} ageing, {s.stale:,} stale ({s.stale_share:.1%} stale)."
        )
