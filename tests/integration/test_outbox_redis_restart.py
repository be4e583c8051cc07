"""Redis restarted during a run: sends carry on from the database, each message arrives once."""

import time

import pytest

from automations.models import OutboundMessage
from automations.services import message_resend
from automations.tasks import outbox_sweep_task
from tests.factories import CustomerFactory, OutboundMessageFactory, OwnerFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import (  # noqa: F401  (slow_smtp is a fixture)
    assert_at_most_once_and_none_lost,
    received_ids,
    shop_in_daytime,
    slow_smtp,
)

pytestmark = pytest.mark.integration
TOTAL = 8


def _sweep_when_redis_answers(url: str, point_celery_at) -> None:
    def try_it() -> bool:
        try:
            point_celery_at(url)
            outbox_sweep_task.delay()
            return True
        except Exception:  # Redis still coming back
            return False

    wait_until(try_it, timeout=20, interval=0.5, message="Redis to accept the task again")


def test_a_redis_restart_mid_run_loses_nothing_and_sends_nothing_twice(
    start_worker, own_redis, slow_smtp, point_celery_at
):
    shop_in_daytime()
    for customer in CustomerFactory.create_batch(TOTAL):
        OutboundMessageFactory(customer=customer, kind="birthday", occasion_key="birthday:2099", priority=10)
    slow_smtp.delay = 0.3
    start_worker(redis_url=own_redis.url, email_url=slow_smtp.url)
    point_celery_at(own_redis.url)

    outbox_sweep_task.delay()
    wait_until(lambda: len(received_ids(slow_smtp)) >= 2, message="the run to be under way")
    own_redis.stop()
    own_redis.start()  # same port, empty: every queued message is gone
    _sweep_when_redis_answers(own_redis.url, point_celery_at)
    wait_until(
        lambda: OutboundMessage.objects.filter(status="sent").count() == TOTAL, timeout=40, message="all messages sent"
    )

    assert_at_most_once_and_none_lost(slow_smtp, total=TOTAL)
    assert len(received_ids(slow_smtp)) == TOTAL


def test_queueing_a_send_never_fails_or_holds_up_the_caller_when_redis_is_down(own_redis, point_celery_at, postgres_db):
    message = OutboundMessageFactory(status="failed")
    owner = OwnerFactory()
    point_celery_at(own_redis.url)
    own_redis.stop()

    started = time.monotonic()
    message_resend(message=message, resent_by=owner)  # on_commit enqueue hits a dead broker
    returned_after = time.monotonic() - started

    message.refresh_from_db()
    assert message.status == "planned"  # the sweep will send it
    print(f"message_resend returned after {returned_after:.3f}s with Redis down")
