"""Celery tasks for the API."""

from celery import shared_task

from api.services import idempotency_records_prune


@shared_task(acks_late=True)
def idempotency_prune_task() -> int:
    """Hourly: forget Idempotency-Key answers older than a day."""
    return idempotency_records_prune()
