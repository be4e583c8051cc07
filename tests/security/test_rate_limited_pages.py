"""Each public page behind the shared rate limit: the N+1th request in the window is a 429 with the reason,
and it changes nothing; once the window has passed the same request goes through (so the limit was the reason).

The clock is frozen inside one minute: the counters are per fixed window, and a window turning over
half-way would let the N+1th request through.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from automations.links import profile_url, unsubscribe_url
from automations.models import EmailOptOut, OutboundMessage
from community.links import rsvp_url
from customers.models import Customer
from tests.factories import CustomerFactory, EventFactory, InvitationFactory

pytestmark = pytest.mark.django_db

N = 3


@pytest.fixture
def window(settings, time_machine):
    """A rate of N a minute, and a clock that stands still at the start of a minute."""
    settings.RATELIMIT_PUBLIC_PAGES = f"{N}/m"
    time_machine.move_to("2026-06-10 12:00:05+01:00", tick=False)
    return time_machine


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _assert_refused_with_a_reason(response) -> None:
    assert response.status_code == 429, response.status_code
    assert "Too many tries in a short time" in response.content.decode()
    assert response["Retry-After"] == "60"


def test_the_rsvp_page_refuses_the_request_past_the_rate_and_records_no_answer(client, window):
    invitation = InvitationFactory(event=EventFactory(capacity=10, max_guests=3), customer=CustomerFactory())
    path = _path(rsvp_url(invitation_id=invitation.pk))
    assert [client.get(path).status_code for _ in range(N)] == [200] * N

    _assert_refused_with_a_reason(client.post(path, {"coming": "yes", "guests": "2"}))
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.guests) == ("pending", 0)

    window.shift(timedelta(seconds=60))
    assert client.post(path, {"coming": "yes", "guests": "2"}).status_code == 302
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.guests) == ("going", 2)


def test_the_unsubscribe_page_refuses_the_request_past_the_rate_and_keeps_the_subscription(client, window):
    customer = CustomerFactory(email="ann@example.com", email_consent=True)
    path = _path(unsubscribe_url(recipient_key=f"c:{customer.pk}"))
    assert [client.get(path).status_code for _ in range(N)] == [200] * N

    _assert_refused_with_a_reason(client.post(path, {"List-Unsubscribe": "One-Click"}))
    assert Customer.objects.get(pk=customer.pk).email_consent is True
    assert not EmailOptOut.objects.exists()

    window.shift(timedelta(seconds=60))
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Customer.objects.get(pk=customer.pk).email_consent is False


def test_the_new_link_request_refuses_the_request_past_the_rate_and_sends_nothing(client, window):
    CustomerFactory(email="ann@example.com")
    url = reverse("community:profile_link_request")
    asked = [client.post(url, {"email": f"nobody{i}@example.com"}).status_code for i in range(N)]
    assert 429 not in asked

    _assert_refused_with_a_reason(client.post(url, {"email": "ann@example.com"}))
    assert not OutboundMessage.objects.exists()

    window.shift(timedelta(seconds=60))
    assert client.post(url, {"email": "ann@example.com"}).status_code != 429
    assert OutboundMessage.objects.filter(to_email="ann@example.com").exists()


def test_the_password_reset_page_refuses_the_request_past_the_rate_and_sends_nothing(client, window, staff, owner):
    url = reverse("password_reset")
    assert [client.get(url).status_code for _ in range(N + 2)] == [200] * (N + 2)  # only asking counts
    asked = [client.post(url, {"email": f"nobody{i}@example.com"}).status_code for i in range(N)]
    assert asked == [302] * N

    _assert_refused_with_a_reason(client.post(url, {"email": staff.email}))
    assert not OutboundMessage.objects.exists() and not mail.outbox

    window.shift(timedelta(seconds=60))
    assert client.post(url, {"email": staff.email}).status_code == 302
    assert OutboundMessage.objects.filter(kind="password_reset", to_email=staff.email).exists()


def test_profile_link_pages_share_one_counter_with_the_rsvp_page(client, window):
    """One address, one allowance over every public link: trying many kinds of link does not multiply it."""
    invitation = InvitationFactory(event=EventFactory(), customer=CustomerFactory())
    rsvp = _path(rsvp_url(invitation_id=invitation.pk))
    profile = _path(profile_url(customer_id=CustomerFactory().pk))
    assert [client.get(rsvp).status_code for _ in range(N)] == [200] * N
    _assert_refused_with_a_reason(client.get(profile))
