"""Beat tasks that keep the customers' figures and the dashboard's rollups current."""

from celery import shared_task
from django.utils import timezone

from dashboard.services import dashboard_hourly, dashboard_nightly


@shared_task(acks_late=True)
def dashboard_nightly_task() -> dict:
    """Recompute every customer's figures (time passing), snapshot health and rings, refresh rollups."""
    return dashboard_nightly(now=timezone.now())


@shared_task(acks_late=True)
def dashboard_hourly_task() -> None:
    """Refresh today's and yesterday's rollups so the dashboard is at most an hour behind."""
    dashboard_hourly(now=timezone.now())
