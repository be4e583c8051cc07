"""Celery tasks: load by id, call the planner or sender. Beat runs them in UTC (crm/settings.py)."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from automations.planners import plan_all
from automations.sender import message_send, outbox_sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def automations_plan_task() -> dict:
    """Plan today's messages (hourly; repeats add nothing). Each planner works in the shop's time zone."""
    counts = plan_all(now=timezone.now())
    log.info("Planned messages: %s", counts)
    return counts


@shared_task(acks_late=True)
def outbox_sweep_task() -> dict:
    """Send what is due (every minute) and mark rows stuck in `sending` as `unknown`."""
    counts = outbox_sweep()
    if any(counts.values()):  # a quiet minute is not worth a log line
        log.info("Outbox sweep: %s", counts)
    return counts


@shared_task(acks_late=True)
def message_send_task(*, message_id: int) -> str:
    """Send one row soon after it was planned or approved; the sweep is the backstop if this is lost."""
    return message_send(message_id=message_id)


@worker_ready.connect
def plan_when_a_worker_starts(sender, **kwargs) -> None:
    """Plan once as soon as a worker is up, not only at the next hour: a shop that has just started
    Rapport sees its first emails planned (and swept) within a minute. Planning twice adds nothing."""
    automations_plan_task.delay()
