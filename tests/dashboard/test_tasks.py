"""The beat tasks: the nightly run cools customers down and snapshots; the hourly one keeps today current."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from customers.models import Customer
from dashboard.models import DailyActivity, DailySnapshot, RingSnapshot
from dashboard.tasks import dashboard_hourly_task, dashboard_nightly_task
from tests.factories import CustomerFactory, TouchpointFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 17, 1, 30, tzinfo=UTC)  # 02:30 in London


def test_the_nightly_task_recomputes_figures_and_takes_the_snapshots(staff):
    seen = CustomerFactory(owner=staff)
    TouchpointFactory(customer=seen, logged_by=staff, happened_at=NOW - timedelta(days=61))
    CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        dashboard_nightly_task.delay()
    seen.refresh_from_db()
    # 61 days > the default 60-day cadence: cooling, with no touchpoint logged by anyone
    assert seen.health == Customer.Health.COOLING
    snapshot = DailySnapshot.objects.get(day=NOW.date())
    assert (snapshot.warm, snapshot.cooling, snapshot.cold) == (0, 1, 1)
    # the shop's ring and the staff member's own ring
    assert RingSnapshot.objects.filter(day=NOW.date(), customer=seen).count() == 2


def test_the_hourly_task_counts_todays_touchpoints(staff):
    TouchpointFactory(logged_by=staff, happened_at=NOW - timedelta(minutes=10))
    with time_machine.travel(NOW, tick=False):
        dashboard_hourly_task.delay()
    assert DailyActivity.objects.get(day=NOW.date()).count == 1


def test_both_tasks_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"dashboard.tasks.dashboard_nightly_task", "dashboard.tasks.dashboard_hourly_task"} <= tasks


def test_dashboard_refresh_if_empty_runs_once():
    CustomerFactory()
    call_command("dashboard_refresh", "--if-empty", "--backfill-days", "3")
    taken = DailySnapshot.objects.get().taken_at
    call_command("dashboard_refresh", "--if-empty")
    assert DailySnapshot.objects.get().taken_at == taken
