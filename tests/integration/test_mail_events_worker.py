"""Delivery events and replies processed by a real Celery worker on Redis, against PostgreSQL."""

import pytest

from automations.models import OutboundMessage, Suppression
from automations.suppression import email_hash
from customers.models import Customer
from mailevents.models import InboundMail, MailEvent
from tests.factories import CustomerFactory, OutboundMessageFactory
from tests.integration.conftest import wait_until
from tests.mailevents.conftest import MAILGUN_SIGNING_KEY, WEBHOOK_SECRET, fixture_body, post_webhook
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def webhooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [WEBHOOK_SECRET], "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


def test_a_bounce_webhook_is_processed_by_the_worker_after_commit(
    start_worker, shared_redis_url, smtp_server, point_celery_at, client, webhooks
):
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)
    ada = CustomerFactory(email="ada@example.com")
    message = OutboundMessageFactory(
        customer=ada,
        status="sent",
        kind="thankyou",
        to_email=ada.email,
        provider_message_id="883953f4-6105-42a2-a16a-77a8eac79483",
    )

    assert post_webhook(client, "postmark", fixture_body("postmark", "bounce_hard")).status_code == 200

    wait_until(
        lambda: MailEvent.objects.filter(status="processed").exists(),
        timeout=60,
        message="the worker to process the stored event",
    )
    message.refresh_from_db()
    assert message.delivery_status == "bounced"
    assert Suppression.objects.filter(email_hash=email_hash(ada.email)).exists()
    assert Customer.objects.get(pk=ada.pk).email_consent is False


def test_a_reply_from_the_inbound_webhook_lands_on_the_card_through_the_worker(
    start_worker, shared_redis_url, smtp_server, point_celery_at, client, webhooks
):
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)
    ada = CustomerFactory(email="ada@example.com")

    response = post_webhook(client, "postmark", fixture_body("postmark", "inbound"), direction="inbound")

    assert response.status_code == 200
    wait_until(
        lambda: InboundMail.objects.filter(status="logged").exists(), timeout=60, message="the worker to log the reply"
    )
    assert Touchpoint.objects.get(customer=ada).kind == "reply"
    assert OutboundMessage.objects.count() == 0
