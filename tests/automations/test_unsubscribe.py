"""Unsubscribe: GET changes nothing, POST unsubscribes, forged tokens are refused, one-click works."""

import pytest
from django.test import Client
from django.urls import reverse

from automations.links import unsubscribe_token
from automations.models import EmailOptOut
from automations.timeline import timeline_messages
from tests.factories import CustomerFactory, OutboundMessageFactory

pytestmark = pytest.mark.django_db


def url_for(customer) -> str:
    return reverse("automations:unsubscribe", args=[unsubscribe_token(recipient_key=f"c:{customer.pk}")])


def test_get_shows_a_button_and_changes_nothing(client):
    customer = CustomerFactory()

    response = client.get(url_for(customer))

    assert response.status_code == 200
    assert "Unsubscribe me" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email_consent
    assert not EmailOptOut.objects.exists()


def test_post_unsubscribes_suppresses_planned_messages_and_shows_on_the_timeline(client):
    customer = CustomerFactory()
    planned = OutboundMessageFactory(customer=customer)
    sent = OutboundMessageFactory(customer=customer, status="sent")

    response = client.post(url_for(customer))

    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    customer.refresh_from_db()
    assert not customer.email_consent and customer.consent_at is None
    planned.refresh_from_db()
    sent.refresh_from_db()
    assert (planned.status, planned.status_reason, sent.status) == ("suppressed", "They unsubscribed", "sent")
    assert customer.history.first().email_consent is False  # the change is in the customer's history
    entries = timeline_messages(customer, None, 10)
    assert any(e.template.endswith("_timeline_optout.html") for e in entries)


def test_the_one_click_post_works_with_only_the_header_url_and_no_csrf_token():
    customer = CustomerFactory()
    mail_app = Client(enforce_csrf_checks=True)

    response = mail_app.post(url_for(customer), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert not customer.email_consent
    assert EmailOptOut.objects.get().via == "one_click"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_token_gets_a_400_page_and_changes_nothing(client, method):
    customer = CustomerFactory()
    token = unsubscribe_token(recipient_key=f"c:{customer.pk}")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = getattr(client, method)(reverse("automations:unsubscribe", args=[forged]))

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email_consent


def test_a_token_signed_for_another_purpose_is_refused(client):
    from automations.links import profile_token

    customer = CustomerFactory()
    response = client.post(reverse("automations:unsubscribe", args=[profile_token(customer_id=customer.pk)]))

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.email_consent


def test_unsubscribing_twice_is_harmless(client):
    customer = CustomerFactory()
    client.post(url_for(customer))
    response = client.post(url_for(customer))

    assert response.status_code == 200
    assert EmailOptOut.objects.count() == 1
