"""A real worker against an SMTP server answering 451 then 250, and 550."""

import pytest

from automations.models import OutboundMessage, Suppression
from automations.suppression import email_hash
from automations.tasks import message_send_task, outbox_sweep_task
from tests.factories import OutboundMessageFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import received_ids, shop_in_daytime

pytestmark = pytest.mark.integration


def test_a_451_is_retried_and_the_message_arrives_once(start_worker, shared_redis_url, smtp_server, point_celery_at):
    shop_in_daytime()
    message = OutboundMessageFactory()
    smtp_server.replies.append("451 Greylisted, try again later")
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url, OUTBOX_RETRY_BASE_SECONDS="1")
    point_celery_at(shared_redis_url)

    message_send_task.delay(message_id=message.pk)
    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, attempts=1, status="planned").exists(),
        message="the first attempt to be deferred",
    )
    message.refresh_from_db()
    assert message.last_error.startswith("451") and message.next_attempt_at

    def swept_and_sent() -> bool:
        outbox_sweep_task.delay()
        return OutboundMessage.objects.filter(pk=message.pk, status="sent").exists()

    wait_until(swept_and_sent, timeout=20, interval=1, message="the retry to be sent")
    message.refresh_from_db()
    assert message.attempts == 2
    assert received_ids(smtp_server) == {message.message_id: 1}


def test_a_550_fails_the_message_and_suppresses_the_address(
    start_worker, shared_redis_url, smtp_server, point_celery_at
):
    shop_in_daytime()
    message = OutboundMessageFactory()
    smtp_server.replies.append("550 5.1.1 No such mailbox")
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)

    message_send_task.delay(message_id=message.pk)
    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="failed").exists(), message="the message to fail"
    )
    outbox_sweep_task.delay()

    message.refresh_from_db()
    assert message.attempts == 1 and message.last_error.startswith("550")
    assert Suppression.objects.filter(email_hash=email_hash(message.customer.email)).exists()
    assert smtp_server.received == []
