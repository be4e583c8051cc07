"""A signed Square webhook through the real worker and Redis: one purchase on the card, the thank-you planned."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import OutboundMessage
from automations.tasks import automations_plan_task
from tests.factories import CustomerFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import shop_in_daytime
from tests.tills.helpers import SQUARE_KEY, SQUARE_URL, fixture_json, send_square
from tills.models import TillConnection, TillDelivery
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.integration


def _square_payment_paid_yesterday() -> bytes:
    """The recorded payment, paid yesterday and its notification sent now (so the thank-you is due today)."""
    payload = fixture_json("square_payment_updated_completed.json")
    now = timezone.now()
    payload["created_at"] = now.isoformat()
    payload["data"]["object"]["payment"]["created_at"] = (now - timedelta(days=1)).isoformat()
    return json.dumps(payload).encode()


def test_a_signed_square_webhook_becomes_one_purchase_and_the_thank_you_is_planned(
    client, start_worker, shared_redis_url, smtp_server, point_celery_at
):
    shop_in_daytime()
    ann = CustomerFactory(email="ann.friend@mail.example")
    TillConnection.objects.create(vendor="square", secret=SQUARE_KEY, notification_url=SQUARE_URL)
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)
    body = _square_payment_paid_yesterday()

    # Sent three times, as Square may retry: the worker, not the request, records the purchase.
    for _ in range(3):
        assert send_square(client, body).status_code == 200
    wait_until(
        lambda: TillDelivery.objects.filter(status="processed").exists(),
        timeout=60,
        message="the worker to process the delivery",
    )

    purchase = Touchpoint.objects.get(customer=ann, kind="purchase")
    assert TillDelivery.objects.count() == 1
    ann.refresh_from_db()
    assert ann.purchase_count == 1
    automations_plan_task.delay()
    wait_until(
        lambda: OutboundMessage.objects.filter(customer=ann, kind="thankyou").exists(),
        timeout=60,
        message="the thank-you to be planned",
    )
    assert OutboundMessage.objects.get(customer=ann, kind="thankyou").occasion_key == f"thankyou:{purchase.pk}"
