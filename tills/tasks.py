"""Celery tasks for the tills: load by id, call the service. The sweep is the backstop for lost messages."""

import logging

from celery import shared_task
from django.db import IntegrityError, OperationalError

from tills.services import deliveries_sweep, delivery_process

log = logging.getLogger(__name__)


@shared_task(acks_late=True, bind=True, max_retries=5)
def delivery_process_task(self, *, delivery_id: int) -> str:
    """Process one stored delivery; a database hiccup retries, and the sweep catches anything left pending."""
    try:
        delivery = delivery_process(delivery_id=delivery_id)
    except (OperationalError, IntegrityError) as error:  # a lock timeout, a race lost: the next try finds it
        raise self.retry(exc=error, countdown=5 * (self.request.retries + 1))
    return delivery.status if delivery is not None else "not pending"


@shared_task(acks_late=True)
def deliveries_sweep_task() -> int:
    """Every minute: process deliveries still pending (their broker message was lost, or a worker died)."""
    done = deliveries_sweep()
    if done:
        log.info("Till sweep processed %s deliveries", done)
    return done
