"""The profile link as a one-use, confirm-by-email door (issue 15)."""

import pytest
from django.core import mail
from django.urls import reverse

from automations.links import profile_url
from automations.models import OutboundMessage, ProfileLinkEvent
from automations.sender import message_send
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def noon(time_machine):
    time_machine.move_to("2026-06-10 12:00:00+01:00", tick=False)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_new_email_address_is_confirmed_from_the_new_inbox_through_the_outbox(client, noon):
    customer = CustomerFactory(email="old@example.com", email_consent=True)
    client.post(_path(profile_url(customer_id=customer.pk)), {"email": "new@example.com"})
    customer.refresh_from_db()
    assert customer.email == "old@example.com"

    row = OutboundMessage.objects.get(customer=customer, kind="profile_confirm")
    assert row.to_email == "new@example.com"
    assert message_send(message_id=row.pk) == "sent"
    sent = mail.outbox[-1]
    assert sent.to == ["new@example.com"]
    link = next(word for word in sent.body.split() if "/profile/confirm/" in word)
    client.post(_path(link))
    customer.refresh_from_db()
    assert customer.email == "new@example.com"
    kinds = list(ProfileLinkEvent.objects.filter(customer=customer).values_list("kind", flat=True))
    assert sorted(kinds) == ["confirm_sent", "confirmed"]


def test_a_used_link_offers_a_new_one_and_the_new_one_arrives_by_email(
    client, noon, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(email="ann@example.com", preferred_name="Ann")
    path = _path(profile_url(customer_id=customer.pk))
    client.post(path, {"preferred_name": "Annie"})
    used = client.get(path)
    assert used.status_code == 410 and "Email me a new link" in used.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("community:profile_link_request"), {"email": "ANN@example.com"})
    assert "Check your inbox" in answer.content.decode()
    fresh = next(word for word in mail.outbox[-1].body.split() if "/community/profile/" in word)
    assert client.get(_path(fresh)).status_code == 200


def test_asking_a_new_link_for_an_unknown_address_says_the_same_and_sends_nothing(client):
    answer = client.post(reverse("community:profile_link_request"), {"email": "nobody@example.com"})
    assert "Check your inbox" in answer.content.decode()
    assert not OutboundMessage.objects.filter(kind="profile_link").exists()


def test_a_confirmation_link_for_a_forged_token_changes_nothing(client):
    customer = CustomerFactory(email_consent=False)
    response = client.post(reverse("community:profile_confirm", args=["forged:token"]))
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.email_consent is False


def test_fields_not_sent_keep_their_values(client):
    customer = CustomerFactory(preferred_name="Bob", birthday_day=3, birthday_month=4)
    client.post(_path(profile_url(customer_id=customer.pk)), {"birthday_day": "5", "birthday_month": "4"})
    customer.refresh_from_db()
    assert (customer.preferred_name, customer.birthday_day) == ("Bob", 5)


def test_public_links_are_rate_limited(client, settings):
    settings.RATELIMIT_PUBLIC_PAGES = "5/m"
    customer = CustomerFactory()
    path = _path(profile_url(customer_id=customer.pk))
    statuses = [client.get(path).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429
