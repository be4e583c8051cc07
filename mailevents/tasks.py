"""Celery tasks: load by id, call a service. The sweep is the backstop for any queued message that is lost."""

import logging

from celery import shared_task
from django.conf import settings

from mailevents.services import inbound_process, mail_event_process, mail_events_sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def mail_event_process_task(*, event_id: int) -> str:
    """Apply one stored delivery event (repeats are no-ops)."""
    return mail_event_process(event_id=event_id)


@shared_task(acks_late=True)
def inbound_process_task(*, inbound_id: int) -> str:
    """Turn one stored reply into a touchpoint (repeats are no-ops)."""
    return inbound_process(inbound_id=inbound_id)


@shared_task(acks_late=True)
def mail_events_sweep_task() -> int:
    """Every 5 minutes: process events and replies whose task never ran."""
    done = mail_events_sweep()
    if done:
        log.info("Mail events sweep processed %s", done)
    return done


@shared_task(acks_late=True)
def imap_poll_task() -> int:
    """Every minute when IMAP_URL is set: store new replies from the mailbox."""
    from mailevents.imap import imap_poll

    if not settings.IMAP_URL:
        return 0
    return imap_poll(url=settings.IMAP_URL)
