"""Events say who gets no email, and staff record answers given in person or on the phone."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from community.models import Invitation
from tests.factories import CustomerFactory, EventFactory, InvitationFactory

pytestmark = pytest.mark.django_db


def _answer(client, invitation, **data):
    return client.post(reverse("community:invitation_answer", args=[invitation.pk]), data)


def test_the_event_says_who_is_not_emailed_and_why(staff_client):
    event = EventFactory()
    InvitationFactory(event=event, customer=CustomerFactory(email="a@example.com", email_consent=True))
    InvitationFactory(event=event, customer=CustomerFactory(email="b@example.com", email_consent=False))
    InvitationFactory(event=event, customer=CustomerFactory(email="", email_consent=False))

    html = staff_client.get(reverse("community:event_detail", args=[event.pk])).content.decode()

    assert "not emailed: no consent" in html and "not emailed: no address" in html
    assert "2 invited people get no email" in " ".join(html.split())


def test_staff_record_a_yes_with_guests_for_someone_without_email(staff_client, staff):
    invitation = InvitationFactory(event=EventFactory(capacity=10, max_guests=2), customer=CustomerFactory(email=""))

    response = _answer(staff_client, invitation, coming="yes", guests="2")

    invitation.refresh_from_db()
    assert response.status_code == 302 and response["Location"].endswith(f"#inv-{invitation.pk}")
    assert (invitation.answer, invitation.guests) == (Invitation.Answer.GOING, 2)
    # The change is the staff member's, not "by the customer via the link".
    assert invitation.history.latest().history_user == staff


def test_a_recorded_answer_with_too_many_guests_changes_nothing(staff_client):
    invitation = InvitationFactory(event=EventFactory(max_guests=1))

    _answer(staff_client, invitation, coming="yes", guests="5")
    _answer(staff_client, invitation, coming="maybe")

    invitation.refresh_from_db()
    assert (invitation.answer, invitation.guests) == (Invitation.Answer.PENDING, 0)


def test_answers_cannot_be_recorded_once_the_event_has_started(staff_client):
    invitation = InvitationFactory(
        event=EventFactory(starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(hours=1))
    )

    _answer(staff_client, invitation, coming="no")
    html = staff_client.get(reverse("community:event_detail", args=[invitation.event_id])).content.decode()

    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.PENDING
    assert "already started" in html
    assert reverse("community:invitation_answer", args=[invitation.pk]) not in html


def test_recording_an_answer_needs_a_login(client):
    invitation = InvitationFactory()

    response = _answer(client, invitation, coming="yes")

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Invitation.objects.get().answer == Invitation.Answer.PENDING
