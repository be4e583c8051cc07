"""Celery tasks: load by id, call a service."""

from celery import shared_task

from community.services import event_reminders_plan, newsletter_plan, newsletters_plan_due


@shared_task(acks_late=True)
def newsletter_plan_task(*, newsletter_id: int) -> int:
    """Plan one newsletter's messages now (queued when the owner presses Send)."""
    return newsletter_plan(newsletter_id=newsletter_id)


@shared_task(acks_late=True)
def newsletters_plan_due_task() -> int:
    """Plan scheduled newsletters whose time has come (beat, every minute)."""
    return newsletters_plan_due()


@shared_task(acks_late=True)
def event_reminders_plan_task() -> int:
    """Plan the day-before reminders for people coming to events (beat, every 15 minutes)."""
    return event_reminders_plan()
