"""Redis down: staff can still log touchpoints, and the messages they cause go out once it is back."""

import pytest
from django.urls import reverse

from automations.models import OutboundMessage
from automations.tasks import outbox_sweep_task
from tests.factories import CustomerFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import shop_in_daytime
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.integration


def test_staff_log_a_purchase_while_redis_is_down_and_the_thank_you_goes_out_when_it_is_back(
    own_redis, point_celery_at, start_worker, smtp_server, staff, client
):
    shop_in_daytime()
    referrer = CustomerFactory(first_name="Rita", email="rita@example.com")
    friend = CustomerFactory(first_name="Fred", referred_by=referrer)
    point_celery_at(own_redis.url)
    own_redis.stop()

    client.force_login(staff)
    response = client.post(reverse("touchpoints:create", args=[friend.pk]), {"kind": "purchase", "amount": "12.50"})

    # The page works and the purchase is recorded; the referral thank-you waits in the outbox.
    assert response.status_code == 302
    assert Touchpoint.objects.filter(customer=friend, kind="purchase").count() == 1
    message = OutboundMessage.objects.get(customer=referrer, kind="referral")
    assert message.status == OutboundMessage.Status.PLANNED

    own_redis.start()
    start_worker(redis_url=own_redis.url, email_url=smtp_server.url)
    point_celery_at(own_redis.url)
    outbox_sweep_task.delay()  # what beat does every minute
    wait_until(lambda: smtp_server.messages_to("rita@example.com"), timeout=60, message="the referral thank-you")
    # The SMTP server has it a moment before the worker records "sent" (a separate update).
    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="sent").exists(),
        timeout=30,
        message="the outbox row to be marked sent",
    )
    assert len(smtp_server.messages_to("rita@example.com")) == 1
