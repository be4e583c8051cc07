"""Run the dashboard's nightly work now, optionally filling the rollups for past days too."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.clock import shop_today
from dashboard.models import DailySnapshot
from dashboard.services import dashboard_backfill, dashboard_nightly


class Command(BaseCommand):
    help = "Recompute every customer's figures, snapshot health and rings, and fill the dashboard's rollups."

    def add_arguments(self, parser):
        parser.add_argument("--backfill-days", type=int, default=0, help="Also fill activity rollups this far back.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if a snapshot exists already.")

    def handle(self, *args, backfill_days: int, if_empty: bool, **options):
        if if_empty and DailySnapshot.objects.exists():
            self.stdout.write("The dashboard has figures already; nothing to do.")
            return
        now = timezone.now()
        done = dashboard_nightly(now=now)
        self.stdout.write(
            f"Figures changed for {done['customers']} customers; {done['ring_rows']} ring places recorded."
        )
        if backfill_days > 0:
            today = shop_today(now=now)
            days = dashboard_backfill(start=today - timedelta(days=backfill_days), end=today)
            self.stdout.write(f"Rollups for {days} days.")
