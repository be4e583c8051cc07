"""A worker outlives its broker: Redis is killed (SIGKILL) under a busy worker, stays down, comes back empty.

The same worker process (no restart, no supervisor) reconnects and finishes the backlog,
each message once (the broker settings: CELERY_BROKER_CONNECTION_MAX_RETRIES = None and the
Redis transport's socket options in crm/settings.py).
"""

import time

import pytest

from automations.models import OutboundMessage
from automations.tasks import message_send_task, outbox_sweep_task
from tests.factories import CustomerFactory, OutboundMessageFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import (
    assert_at_most_once_and_none_lost,
    received_ids,
    shop_in_daytime,
    slow_smtp,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.integration
TOTAL = 30


def test_a_worker_outlives_a_redis_kill_and_finishes_the_backlog_once_redis_is_back(
    start_worker,
    own_redis,
    slow_smtp,
    point_celery_at,  # noqa: F811
):
    shop_in_daytime()
    messages = [
        OutboundMessageFactory(customer=c, kind="birthday", occasion_key="birthday:2099", priority=10)
        for c in CustomerFactory.create_batch(TOTAL)
    ]
    slow_smtp.delay = 0.2
    worker = start_worker(redis_url=own_redis.url, email_url=slow_smtp.url)
    point_celery_at(own_redis.url)
    for message in messages:
        message_send_task.delay(message_id=message.pk)
    wait_until(lambda: len(received_ids(slow_smtp)) >= 3, message="the backlog to be under way")

    # Redis dies (its queue with it) and stays down long enough for several reconnection attempts.
    own_redis.process.kill()
    own_redis.process.wait(10)
    time.sleep(8)
    assert worker.process.poll() is None, worker.log()[-3000:]
    own_redis.start()

    def sweep_queued() -> bool:  # what beat does every minute, once Redis takes tasks again
        try:
            point_celery_at(own_redis.url)
            outbox_sweep_task.apply_async(retry=False)
            return True
        except Exception:  # noqa: BLE001  (Redis still coming back)
            return False

    wait_until(sweep_queued, timeout=30, interval=0.5, message="Redis to accept a task again")
    wait_until(
        lambda: OutboundMessage.objects.filter(status="sent").count() == TOTAL,
        timeout=90,
        message=f"the backlog to be finished by the same worker; log:\n{worker.log()[-3000:]}",
    )

    assert worker.process.poll() is None  # the very worker started above, never restarted
    assert "Unrecoverable error" not in worker.log()
    assert_at_most_once_and_none_lost(slow_smtp, total=TOTAL)
    assert len(received_ids(slow_smtp)) == TOTAL
