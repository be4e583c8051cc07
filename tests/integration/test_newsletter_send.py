"""A newsletter through the real outbox: a real worker, Redis and SMTP server.

The generic kill/restart cases are in test_outbox_*.py; these check what is newsletter-specific:
the plan task run twice, consent and the 7-day cap applied to newsletters, the rendered email
(Markdown, placeholders, unsubscribe and profile links), and a worker SIGKILLed mid-newsletter.
"""

import time

import pytest
from django.utils import timezone

from automations.models import OutboundMessage
from automations.tasks import outbox_sweep_task
from community.models import Newsletter
from community.tasks import newsletter_plan_task
from tests.factories import CustomerFactory, NewsletterFactory, OutboundMessageFactory, SegmentFactory
from tests.integration.conftest import wait_until
from tests.integration.outbox_helpers import (  # noqa: F401  (slow_smtp is a fixture)
    assert_at_most_once_and_none_lost,
    received_ids,
    shop_in_daytime,
    slow_smtp,
)

pytestmark = pytest.mark.integration


def scheduled_newsletter(**kwargs) -> Newsletter:
    return NewsletterFactory(
        segment=SegmentFactory(filters={}), status=Newsletter.Status.SCHEDULED, send_at=timezone.now(), **kwargs
    )


def test_a_newsletter_planned_and_swept_twice_reaches_each_consenting_customer_once_within_the_cap(
    start_worker, shared_redis_url, smtp_server, point_celery_at
):
    shop_in_daytime()
    readers = CustomerFactory.create_batch(4)
    readers[0].preferred_name = "Annie"
    readers[0].save()
    no_consent = CustomerFactory(email_consent=False)
    capped = CustomerFactory()
    for n in range(2):  # two automated emails this week already: the newsletter must wait
        OutboundMessageFactory(
            customer=capped,
            kind="thankyou",
            status="sent",
            claimed_at=timezone.now(),
            sent_at=timezone.now(),
            occasion_key=f"earlier:{n}",
        )
    newsletter = scheduled_newsletter(subject="News from {shop_name}", body="Hello {preferred_name}, **new beans**!")
    start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)
    point_celery_at(shared_redis_url)

    newsletter_plan_task.delay(newsletter_id=newsletter.pk)
    newsletter_plan_task.delay(newsletter_id=newsletter.pk)
    rows = OutboundMessage.objects.filter(kind="newsletter")
    wait_until(lambda: Newsletter.objects.get(pk=newsletter.pk).status == "planned", message="newsletter planned")
    outbox_sweep_task.delay()
    outbox_sweep_task.delay()
    wait_until(lambda: rows.filter(status="sent").count() == 4, message="4 newsletters sent")
    outbox_sweep_task.delay()
    time.sleep(1)

    # One row per consenting customer (never one for the customer without consent), each sent once.
    assert rows.count() == 5
    assert not rows.filter(customer=no_consent).exists()
    assert len(smtp_server.messages_to(no_consent.email)) == 0
    for reader in readers:
        assert len(smtp_server.messages_to(reader.email)) == 1
    # Over the cap: still planned, later, with the reason shown.
    held = rows.get(customer=capped)
    assert held.status == "planned" and held.planned_at > timezone.now()
    assert "this week" in held.status_reason
    assert len(smtp_server.messages_to(capped.email)) == 0
    assert max(received_ids(smtp_server).values()) == 1

    email = smtp_server.messages_to(readers[0].email)[0]
    assert email["Subject"].startswith("News from ")
    assert email["List-Unsubscribe"]
    html = next(p for p in email.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "Hello Annie, <strong>new beans</strong>!" in html
    assert "/community/profile/" in html


def test_a_worker_killed_in_the_middle_of_a_newsletter_sends_nobody_a_second_copy(
    start_worker, own_redis, slow_smtp, point_celery_at
):
    shop_in_daytime()
    CustomerFactory.create_batch(6)
    newsletter = scheduled_newsletter()
    slow_smtp.delay = 0.8
    env = {"OUTBOX_SENDING_TIMEOUT": "3"}
    worker = start_worker(redis_url=own_redis.url, email_url=slow_smtp.url, **env)
    point_celery_at(own_redis.url)

    newsletter_plan_task.delay(newsletter_id=newsletter.pk)
    wait_until(lambda: OutboundMessage.objects.filter(kind="newsletter").count() == 6, message="6 rows planned")
    outbox_sweep_task.delay()
    wait_until(
        lambda: len(received_ids(slow_smtp)) >= 2 and slow_smtp.in_flight(),
        interval=0.02,
        message="half the newsletter sent, one message in the server's hands",
    )
    worker.kill()
    # Only a row already handed to the server may have arrived; one claimed but not yet handed over is sent again.
    in_flight = OutboundMessage.objects.filter(status="sending", handed_over_at__isnull=False).count()
    assert OutboundMessage.objects.filter(status="planned").exists()  # the newsletter really was cut short

    start_worker(redis_url=own_redis.url, email_url=slow_smtp.url, **env)
    newsletter_plan_task.delay(newsletter_id=newsletter.pk)  # planning again after the crash adds nothing
    time.sleep(3.5)  # past the sending timeout: the row cut off mid-send becomes "unknown"
    outbox_sweep_task.delay()
    wait_until(
        lambda: not OutboundMessage.objects.filter(status__in=("planned", "sending")).exists(),
        timeout=40,
        message="every newsletter row settled",
    )
    time.sleep(1)

    # The row cut off mid-send is shown as unknown (the owner decides), never resent silently.
    assert OutboundMessage.objects.filter(status="unknown").count() == in_flight >= 1
    assert_at_most_once_and_none_lost(slow_smtp, total=6)
