"""The public pages behind signed links: the RSVP page and the customer's own profile page."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from automations.links import PROFILE_MAX_AGE, profile_token
from community.links import rsvp_token
from community.models import Invitation
from community.services import PROFILE_CHANGE_REASON
from tests.factories import CustomerFactory, EventFactory, InvitationFactory, ProductFactory

pytestmark = pytest.mark.django_db


def rsvp_url(invitation):
    return reverse("community:rsvp", args=[rsvp_token(invitation_id=invitation.pk)])


def profile_url(customer):
    return reverse("community:profile", args=[profile_token(customer_id=customer.pk)])


# --- RSVP ---------------------------------------------------------------------------


def test_a_customer_answers_yes_with_guests_without_logging_in(client):
    invitation = InvitationFactory()

    response = client.post(rsvp_url(invitation), {"coming": "yes", "guests": "2"})

    invitation.refresh_from_db()
    assert response.status_code == 302
    assert (invitation.answer, invitation.guests) == ("going", 2)
    assert "You're coming" in client.get(rsvp_url(invitation)).content.decode()


def test_a_customer_changes_their_answer_and_their_seat_goes_to_the_waiting_list(client):
    event = EventFactory(capacity=1)
    first, second = InvitationFactory.create_batch(2, event=event)
    client.post(rsvp_url(first), {"coming": "yes", "guests": "0"})
    client.post(rsvp_url(second), {"coming": "yes", "guests": "0"})
    assert "waiting list (number 1)" in client.get(rsvp_url(second)).content.decode()

    client.post(rsvp_url(first), {"coming": "no"})

    assert Invitation.objects.get(pk=second.pk).answer == "going"


def test_too_many_guests_get_a_clear_message_and_change_nothing(client):
    invitation = InvitationFactory(event=EventFactory(max_guests=1))

    response = client.post(rsvp_url(invitation), {"coming": "yes", "guests": "5"})

    invitation.refresh_from_db()
    assert response.status_code == 400
    assert "less than or equal to 1" in response.content.decode()
    assert invitation.answer == "pending"


def test_a_forged_rsvp_link_gets_a_clear_400_page(client):
    invitation = InvitationFactory()
    token = rsvp_token(invitation_id=invitation.pk)

    response = client.post(reverse("community:rsvp", args=[token[:-2] + "xx"]), {"coming": "yes"})

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.answer == "pending"


def test_a_profile_token_is_no_rsvp_token(client):
    customer = CustomerFactory()
    response = client.get(reverse("community:rsvp", args=[profile_token(customer_id=customer.pk)]))

    assert response.status_code == 400


def test_answers_are_closed_once_the_event_has_started(client):
    invitation = InvitationFactory()
    with time_machine.travel(invitation.event.starts_at + timedelta(minutes=5)):
        response = client.post(rsvp_url(invitation), {"coming": "yes"})

    assert response.status_code == 400
    invitation.refresh_from_db()
    assert invitation.answer == "pending"


# --- profile link ----------------------------------------------------------------------


def _confirm_link_sent(customer) -> str:
    """The path of the confirmation link in the outbox row queued for `customer`."""
    from automations.links import profile_confirm_url
    from automations.models import OutboundMessage

    row = OutboundMessage.objects.get(customer=customer, kind="profile_confirm")
    return profile_confirm_url(token=row.context["token"]).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_customer_corrects_their_details_and_history_says_the_customer_did_it(client):
    rioja, cake = ProductFactory(name="Rioja"), ProductFactory(name="Cake")
    customer = CustomerFactory(preferred_name="Bob", email_consent=False, consent_at=None, consent_method="")

    response = client.post(
        profile_url(customer),
        {
            "preferred_name": "Bobby",
            "birthday_day": "29",
            "birthday_month": "2",
            "birthday_year": "",
            "favourite_products": [rioja.pk, cake.pk],
            "shown": "favourite_products",
            "email_consent": "yes",
        },
    )

    customer.refresh_from_db()
    assert response.status_code == 302
    assert (customer.preferred_name, customer.birthday_day, customer.birthday_month) == ("Bobby", 29, 2)
    assert set(customer.favourite_products.all()) == {rioja, cake}
    latest = customer.history.first()
    assert latest.history_user is None
    assert latest.history_change_reason == PROFILE_CHANGE_REASON
    # Consent waits for the link sent to their address; opening it and pressing Confirm gives it.
    assert customer.email_consent is False
    confirm = _confirm_link_sent(customer)
    assert client.get(confirm).status_code == 200
    assert client.post(confirm).status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent and customer.consent_method == "online" and customer.consent_at
    assert client.post(confirm).status_code == 410  # used once


def test_an_impossible_birthday_gets_a_clear_message_and_changes_nothing(client):
    customer = CustomerFactory(preferred_name="Bob")

    response = client.post(
        profile_url(customer), {"preferred_name": "Robert", "birthday_day": "30", "birthday_month": "2"}
    )

    customer.refresh_from_db()
    assert response.status_code == 400
    assert "February has no day 30" in response.content.decode()
    assert customer.preferred_name == "Bob" and customer.birthday_day is None


def test_choosing_no_emails_withdraws_consent_once_confirmed(client):
    customer = CustomerFactory(email_consent=True)

    client.post(profile_url(customer), {"preferred_name": customer.first_name, "email_consent": "no"})
    customer.refresh_from_db()
    assert customer.email_consent is True
    client.post(_confirm_link_sent(customer))

    customer.refresh_from_db()
    assert customer.email_consent is False


def test_an_expired_profile_link_gets_a_410_page_and_changes_nothing(client):
    customer = CustomerFactory(preferred_name="Bob")
    with time_machine.travel(timezone.now() - timedelta(seconds=PROFILE_MAX_AGE + 60)):
        url = profile_url(customer)

    get = client.get(url)
    post = client.post(url, {"preferred_name": "Mallory"})

    customer.refresh_from_db()
    assert get.status_code == 410 and post.status_code == 410
    assert "This link has expired" in get.content.decode()
    assert customer.preferred_name == "Bob"


def test_a_profile_link_still_works_just_before_it_expires(client):
    customer = CustomerFactory()
    with time_machine.travel(timezone.now() - timedelta(seconds=PROFILE_MAX_AGE - 60)):
        url = profile_url(customer)

    assert client.get(url).status_code == 200


def test_a_forged_profile_link_gets_a_400_page_and_changes_nothing(client):
    customer = CustomerFactory(preferred_name="Bob")
    other = CustomerFactory()
    token = profile_token(customer_id=other.pk)
    # Someone edits the signed payload to point at another customer: the signature no longer matches.
    forged = token.replace(token.split(":")[0], profile_token(customer_id=customer.pk).split(":")[0], 1)

    response = client.post(reverse("community:profile", args=[forged]), {"preferred_name": "Mallory"})

    customer.refresh_from_db()
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert customer.preferred_name == "Bob"


def test_an_rsvp_token_is_no_profile_token(client):
    invitation = InvitationFactory()

    response = client.get(reverse("community:profile", args=[rsvp_token(invitation_id=invitation.customer_id)]))

    assert response.status_code == 400


def test_the_friend_card_shows_their_invitations_and_that_they_corrected_their_own_details(client, staff_client):
    customer = CustomerFactory(preferred_name="Bob")
    InvitationFactory(customer=customer, event=EventFactory(title="Cheese night"), answer="going", guests=1)
    client.post(profile_url(customer), {"preferred_name": "Bobby"})

    card = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert 'data-testid="community-panel"' in card
    assert "Cheese night" in card and "Coming +1" in card
    assert "Changed their details: name" in card  # each use of the profile link is on the card


def test_the_customers_history_page_says_the_customer_made_the_change(client, owner_client):
    customer = CustomerFactory(preferred_name="Bob")
    client.post(profile_url(customer), {"preferred_name": "Bobby"})

    history = owner_client.get(reverse("dataio:customer_history", args=[customer.pk])).content.decode()

    assert "by the customer (profile link)" in history
