"""Celery tasks for the tills: drain the stored deliveries. The sweep is the backstop for lost messages."""

import logging

from celery import shared_task
from django.db import OperationalError

from crm.tasks import coalesced_started
from tills.services import DRAIN_ASKED_KEY, DRAIN_BATCH, deliveries_drain, deliveries_drain_ask, deliveries_sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True, bind=True, max_retries=5)
def deliveries_drain_task(self) -> int:
    """Process pending deliveries, a batch per message; the webhooks ask for it (one waiting message at most).

    The key is cleared before any row is read, so a delivery stored while this runs asks for another drain.
    """
    coalesced_started(DRAIN_ASKED_KEY)
    try:
        claimed = deliveries_drain()
    except OperationalError as error:  # the database went away mid-drain: try again; the sweep is behind it
        raise self.retry(exc=error, countdown=5 * (self.request.retries + 1))
    if claimed >= DRAIN_BATCH:
        deliveries_drain_ask()  # more may be waiting: a fresh message, so other tasks get a turn in between
    return claimed


@shared_task(acks_late=True)
def deliveries_sweep_task() -> int:
    """Every minute: process deliveries still pending (their broker message was lost, or a worker died)."""
    done = deliveries_sweep()
    if done:
        log.info("Till sweep processed %s deliveries", done)
    return done
