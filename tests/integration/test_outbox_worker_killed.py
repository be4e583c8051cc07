"""A worker SIGKILLed in the middle of a batch, then restarted: nothing twice, nothing lost silently."""

import time

import pytest

from automations.models import OutboundMessage
from automations.tasks import outbox_sweep_task
from tests.factories import CustomerFactory, OutboundMessageFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import (  # noqa: F401  (slow_smtp is a fixture)
    assert_at_most_once_and_none_lost,
    received_ids,
    shop_in_daytime,
    slow_smtp,
)

pytestmark = pytest.mark.integration
TOTAL = 6


def test_a_worker_killed_mid_batch_leaves_an_unknown_row_and_the_rest_are_sent_once(
    start_worker, own_redis, slow_smtp, point_celery_at
):
    shop_in_daytime()
    for customer in CustomerFactory.create_batch(TOTAL):
        OutboundMessageFactory(customer=customer, kind="wemissyou")
    slow_smtp.delay = 0.8  # each send takes a while, so the kill lands mid-send
    env = {"OUTBOX_SENDING_TIMEOUT": "3"}
    worker = start_worker(redis_url=own_redis.url, email_url=slow_smtp.url, **env)
    point_celery_at(own_redis.url)

    outbox_sweep_task.delay()
    # Kill while the SMTP server is sleeping over a message, so one send is surely cut mid-way.
    wait_until(
        lambda: len(received_ids(slow_smtp)) >= 2 and slow_smtp.in_flight(),
        interval=0.02,
        message="a batch half sent, one message in flight",
    )
    worker.kill()
    # Only a row already handed to the server may have arrived; one claimed but not yet handed over is sent again.
    in_flight = OutboundMessage.objects.filter(status="sending", handed_over_at__isnull=False).count()
    assert OutboundMessage.objects.filter(status="planned").exists()  # the batch really was cut short

    start_worker(redis_url=own_redis.url, email_url=slow_smtp.url, **env)
    time.sleep(3.5)  # past the sending timeout: the killed row is now "unknown" at the next sweep
    outbox_sweep_task.delay()
    wait_until(
        lambda: not OutboundMessage.objects.filter(status__in=("planned", "sending")).exists(),
        timeout=40,
        message="every row settled",
    )
    time.sleep(1)  # let the SMTP server finish anything in flight before counting

    counts = {s: OutboundMessage.objects.filter(status=s).count() for s in ("sent", "unknown")}
    assert counts["unknown"] == in_flight >= 1  # shown to the owner, never resent silently
    assert counts["sent"] + counts["unknown"] == TOTAL
    assert_at_most_once_and_none_lost(slow_smtp, total=TOTAL)
