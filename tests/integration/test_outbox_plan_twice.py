"""The same plan run twice through a real worker, Redis and SMTP server: each greeting arrives once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import OutboundMessage
from automations.tasks import automations_plan_task, outbox_sweep_task
from crm.models import ShopSettings
from tests.factories import CustomerFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import assert_at_most_once_and_none_lost, received_ids, shop_in_daytime

pytestmark = pytest.mark.integration


def test_planning_twice_and_sweeping_twice_sends_each_birthday_greeting_exactly_once(
    start_worker, shared_redis_url, smtp_server, point_celery_at
):
    shop_in_daytime()
    greeting_day = timezone.now().astimezone(ShopSettings.load().tz).date() + timedelta(days=7)
    customers = CustomerFactory.create_batch(5, birthday_day=greeting_day.day, birthday_month=greeting_day.month)
    CustomerFactory(birthday_day=greeting_day.day, birthday_month=greeting_day.month, email_consent=False)
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)

    automations_plan_task.delay()
    automations_plan_task.delay()
    wait_until(lambda: OutboundMessage.objects.filter(kind="birthday").count() == 5, message="5 greetings planned")
    outbox_sweep_task.delay()
    outbox_sweep_task.delay()
    wait_until(lambda: OutboundMessage.objects.filter(status="sent").count() == 5, message="5 greetings sent")

    # Both plans ran (the unique constraint absorbed the second), and nothing more arrives.
    outbox_sweep_task.delay()
    assert OutboundMessage.objects.count() == 5
    assert len(received_ids(smtp_server)) == 5
    for customer in customers:
        assert len(smtp_server.messages_to(customer.email)) == 1
    assert_at_most_once_and_none_lost(smtp_server, total=5)
