"""Imports run in a worker: the page polls the ImportJob row for progress."""

from celery import shared_task
from django.utils import timezone

from dataio.services import import_job_check, import_job_run, import_jobs_requeue


@shared_task(acks_late=True)
def import_job_check_task(*, job_id: int) -> None:
    """Validate every row of an uploaded file (reads only; safe to run twice)."""
    import_job_check(job_id=job_id)


@shared_task(acks_late=True)
def import_job_run_task(*, job_id: int) -> None:
    """Import a checked file in one transaction; a redelivered task imports nothing twice."""
    import_job_run(job_id=job_id)


@shared_task(acks_late=True)
def import_jobs_requeue_task() -> int:
    """Every minute: queue again a check or import whose task was lost (the broker was down)."""
    return import_jobs_requeue(now=timezone.now())
