"""Delivered, bounced and complained rates per automation and per newsletter, on the outbox page and the dashboard."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.selectors import delivery_rates, delivery_rates_counted
from tests.factories import NewsletterFactory, OutboundMessageFactory
from tests.queries import app_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported():
    for delivery in ("delivered", "delivered", "bounced"):
        OutboundMessageFactory(kind="thankyou", status="sent", delivery_status=delivery)
    OutboundMessageFactory(kind="thankyou", status="planned")  # not sent: not counted
    newsletter = NewsletterFactory(subject="June news")
    for delivery in ("delivered", "complained", "soft_bounce", ""):
        OutboundMessageFactory(
            kind="newsletter",
            occasion_key=newsletter.occasion_key,
            status="sent",
            subject="June news",
            delivery_status=delivery,
        )
    return newsletter


def test_rates_are_worked_out_per_automation_and_per_newsletter(reported):
    rates = {r["label"]: r for r in delivery_rates()}

    thanks = rates["Thank-you note"]
    assert (thanks["sent"], thanks["delivered_rate"], thanks["bounced_rate"], thanks["complained_rate"]) == (
        3,
        66.7,
        33.3,
        0.0,
    )
    june = rates["Newsletter “June news”"]
    # A complaint means it arrived; a soft bounce is not a bounce (yet).
    assert (june["sent"], june["delivered_rate"], june["bounced_rate"], june["complained_rate"]) == (4, 50.0, 0.0, 25.0)


def test_emails_the_mail_service_reported_nothing_on_have_no_rate_rather_than_none_delivered(owner_client):
    # Sent by SMTP or to files with no webhook: nothing ever reports back on them.
    OutboundMessageFactory.create_batch(3, kind="birthday", status="sent", delivery_status="")

    birthday = {r["label"]: r for r in delivery_rates()}["Birthday greeting"]

    assert birthday["sent"] == 3
    assert (birthday["delivered_rate"], birthday["bounced_rate"], birthday["complained_rate"]) == (None, None, None)
    html = owner_client.get(reverse("dashboard:index")).content.decode()
    assert "0.0%" not in html
    assert "no report from the mail service yet" in html


def test_the_rates_run_in_one_query_however_many_rows_and_are_kept_for_a_few_minutes(reported):
    with CaptureQueriesContext(connection) as first:
        counted = delivery_rates()
    OutboundMessageFactory(kind="thankyou", status="sent", delivery_status="delivered")
    with CaptureQueriesContext(connection) as again:
        kept = delivery_rates()

    assert len(app_queries(first)) == 1 and app_queries(again) == []

    assert kept == counted
    assert {r["label"]: r["sent"] for r in delivery_rates_counted()}["Thank-you note"] == 4


def test_the_rates_are_counted_when_the_cache_is_down(reported, settings, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}

    with django_assert_num_queries(1):
        assert {r["label"] for r in delivery_rates()} >= {"Thank-you note", "Newsletter “June news”"}


@pytest.mark.parametrize("page", ["automations:outbox", "dashboard:index"])
def test_the_owner_sees_the_rates_on_the_outbox_and_the_dashboard(owner_client, reported, page):
    html = owner_client.get(reverse(page)).content.decode()
    assert 'id="delivery-rates"' in html
    assert "Newsletter “June news”" in html and "66.7%" in html and "25.0%" in html


@pytest.mark.parametrize("page", ["automations:outbox", "dashboard:index"])
def test_staff_do_not_see_the_rates(staff_client, reported, page):
    assert staff_client.get(reverse(page)).status_code == 403
