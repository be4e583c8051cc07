"""A worker that starts plans at once: a shop that has just started Rapport sees emails within a minute."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import OutboundMessage
from crm.models import ShopSettings
from tests.factories import CustomerFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import shop_in_daytime

pytestmark = pytest.mark.integration


def test_a_worker_plans_the_days_messages_as_it_starts_with_nothing_queued(start_worker, shared_redis_url, smtp_server):
    shop_in_daytime()
    greeting_day = timezone.now().astimezone(ShopSettings.load().tz).date() + timedelta(days=7)
    customer = CustomerFactory(birthday_day=greeting_day.day, birthday_month=greeting_day.month)

    # No task is queued and beat is not running: only the worker's own start can plan it.
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)

    wait_until(
        lambda: OutboundMessage.objects.filter(customer=customer, kind="birthday").exists(),
        message="the birthday greeting planned by the starting worker",
    )
