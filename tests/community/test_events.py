"""Events: invitations, answers, the waiting list, the concurrent last seat, reminders, check-in."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from automations.models import OutboundMessage
from community.models import Invitation
from community.services import (
    event_invite,
    event_reminders_plan,
    event_save,
    invitation_answer,
    invitation_check_in,
)
from tests.conftest import skip_or_fail
from tests.factories import CustomerFactory, EventFactory, InvitationFactory, SegmentFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def answer(invitation, coming=True, guests=0):
    invitation_answer(invitation=invitation, coming=coming, guests=guests)
    invitation.refresh_from_db()
    return invitation.answer


def test_inviting_a_segment_makes_one_invitation_each_and_an_email_for_those_who_consent(owner):
    event = EventFactory()
    reachable = CustomerFactory.create_batch(3)
    no_consent = CustomerFactory(email_consent=False)

    added = event_invite(event=event, segment=SegmentFactory(), invited_by=owner)
    again = event_invite(event=event, segment=SegmentFactory(), invited_by=owner)

    assert (added, again) == (4, 0)
    assert Invitation.objects.filter(event=event).count() == 4
    emails = OutboundMessage.objects.filter(kind="event_invitation", occasion_key=f"event:{event.pk}")
    assert set(emails.values_list("customer_id", flat=True)) == {c.pk for c in reachable}
    assert no_consent.pk not in emails.values_list("customer_id", flat=True)
    invitation = Invitation.objects.get(event=event, customer=reachable[0])
    assert emails.get(customer=reachable[0]).context == {"event_id": event.pk, "invitation_id": invitation.pk}


def test_yes_answers_take_seats_guests_included_and_the_rest_wait_in_order():
    event = EventFactory(capacity=4)
    a, b, c, d = InvitationFactory.create_batch(4, event=event)

    assert answer(a, guests=2) == "going"  # 3 seats
    assert answer(b, guests=1) == "waiting"  # needs 2, 1 left
    assert answer(c) == "going"  # the last seat
    assert answer(d) == "waiting"
    b.refresh_from_db()
    assert b.waiting_since < Invitation.objects.get(pk=d.pk).waiting_since


def test_a_cancel_moves_the_waiting_list_up_in_the_order_people_asked():
    event = EventFactory(capacity=2)
    a, b, first, second = InvitationFactory.create_batch(4, event=event)
    answer(a), answer(b), answer(first), answer(second)

    answer(a, coming=False)

    assert Invitation.objects.get(pk=first.pk).answer == "going"
    assert Invitation.objects.get(pk=second.pk).answer == "waiting"
    answer(b, coming=False)
    assert Invitation.objects.get(pk=second.pk).answer == "going"
    # Each is told by email that a place is theirs now, once.
    told = OutboundMessage.objects.filter(kind="event_place", occasion_key=f"event:{event.pk}")
    assert sorted(told.values_list("customer_id", flat=True)) == sorted([first.customer_id, second.customer_id])


def test_a_party_too_big_for_the_free_seats_keeps_its_place_while_a_smaller_one_moves_up():
    event = EventFactory(capacity=3)
    a, big, small = InvitationFactory.create_batch(3, event=event)
    answer(a, guests=2)
    answer(big, guests=2)
    answer(small)
    answer(a, guests=1)  # frees one seat: only the single person fits

    assert Invitation.objects.get(pk=small.pk).answer == "going"
    assert Invitation.objects.get(pk=big.pk).answer == "waiting"


def test_asking_for_more_guests_than_fit_keeps_the_seats_already_held():
    event = EventFactory(capacity=3)
    a, b = InvitationFactory.create_batch(2, event=event)
    answer(a, guests=1)
    answer(b)

    with pytest.raises(ValidationError, match="seats are kept"):
        invitation_answer(invitation=a, coming=True, guests=2)
    a.refresh_from_db()
    assert (a.answer, a.guests) == ("going", 1)


def test_more_guests_than_the_event_allows_are_refused():
    invitation = InvitationFactory(event=EventFactory(max_guests=2))

    with pytest.raises(ValidationError):
        invitation_answer(invitation=invitation, coming=True, guests=3)
    invitation.refresh_from_db()
    assert invitation.answer == "pending"


def test_answers_close_when_the_event_starts():
    invitation = InvitationFactory()
    with time_machine.travel(invitation.event.starts_at + timedelta(minutes=1)):
        with pytest.raises(ValidationError, match="started"):
            invitation_answer(invitation=invitation, coming=True)


def test_lowering_the_capacity_below_the_seats_taken_is_refused(owner):
    event = EventFactory(capacity=3)
    for invitation in InvitationFactory.create_batch(3, event=event):
        answer(invitation)

    with pytest.raises(ValidationError, match="already taken"):
        event_save(event=event, saved_by=owner, capacity=2)


def test_more_capacity_moves_the_waiting_list_up(owner):
    event = EventFactory(capacity=1)
    a, b = InvitationFactory.create_batch(2, event=event)
    answer(a), answer(b)

    event_save(event=event, saved_by=owner, capacity=2)

    assert Invitation.objects.get(pk=b.pk).answer == "going"


@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_last_seat_at_once_one_gets_it_and_the_other_waits():
    if connection.vendor != "postgresql":
        skip_or_fail("the concurrent last-seat test needs PostgreSQL row locks: set DATABASE_URL")
    event = EventFactory(capacity=3)
    answer(InvitationFactory(event=event), guests=1)  # one seat left
    rivals = InvitationFactory.create_batch(2, event=event)
    barrier = threading.Barrier(2)
    errors = []

    def take(invitation):
        try:
            barrier.wait(timeout=10)
            invitation_answer(invitation=invitation, coming=True)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(inv,)) for inv in rivals]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    answers = sorted(Invitation.objects.filter(pk__in=[r.pk for r in rivals]).values_list("answer", flat=True))
    assert answers == ["going", "waiting"]
    seats = sum(i.seats for i in Invitation.objects.filter(event=event, answer="going"))
    assert seats == 3


def test_reminders_are_planned_the_day_before_at_ten_for_those_coming_only():
    starts = datetime(2031, 4, 12, 18, 0, tzinfo=LONDON)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=5)
    coming, declined, waiting = CustomerFactory.create_batch(3)
    with time_machine.travel(datetime(2031, 4, 1, tzinfo=LONDON), tick=False):
        answer(InvitationFactory(event=event, customer=coming))
        answer(InvitationFactory(event=event, customer=declined), coming=False)
        Invitation.objects.create(event=event, customer=waiting, answer="waiting", waiting_since=timezone.now())
        assert event_reminders_plan() == 0  # too early: more than two days ahead
    with time_machine.travel(datetime(2031, 4, 10, 20, 0, tzinfo=LONDON), tick=False):
        assert event_reminders_plan() == 1
        assert event_reminders_plan() == 0  # a second run adds nothing

    reminder = OutboundMessage.objects.get(kind="event_reminder")
    assert reminder.customer_id == coming.pk
    assert reminder.planned_at == datetime(2031, 4, 11, 10, 0, tzinfo=LONDON)


def test_saying_no_after_the_reminder_was_planned_cancels_it_and_yes_again_restores_it():
    starts = timezone.now() + timedelta(hours=30)
    invitation = InvitationFactory(event=EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=1)))
    answer(invitation)
    event_reminders_plan()

    answer(invitation, coming=False)
    assert OutboundMessage.objects.get(kind="event_reminder").status == "cancelled"
    answer(invitation, coming=True)
    assert OutboundMessage.objects.get(kind="event_reminder").status == "planned"


def test_checking_in_logs_one_event_touchpoint_however_often_it_is_tapped(staff):
    invitation = InvitationFactory()
    answer(invitation, guests=1)

    invitation_check_in(invitation=invitation, checked_in_by=staff)
    invitation_check_in(invitation=invitation, checked_in_by=staff)

    invitation.refresh_from_db()
    assert invitation.checked_in_by == staff
    touchpoints = Touchpoint.objects.filter(customer=invitation.customer, kind="event")
    assert touchpoints.count() == 1
    assert touchpoints.get().logged_by == staff
    assert "Coffee tasting" in touchpoints.get().note
    invitation.customer.refresh_from_db()
    assert invitation.customer.last_touchpoint_at is not None


# --- pages ---------------------------------------------------------------------------


def test_staff_see_the_check_in_list_and_check_someone_in_with_htmx(staff_client):
    invitation = InvitationFactory()
    answer(invitation)

    page = staff_client.get(reverse("community:event_checkin", args=[invitation.event_id]))
    response = staff_client.post(reverse("community:invitation_check_in", args=[invitation.pk]), HTTP_HX_REQUEST="true")

    assert invitation.customer.full_name in page.content.decode()
    assert response.status_code == 200
    assert 'data-testid="checked-in"' in response.content.decode()


def test_staff_cannot_create_events_or_invite(staff_client):
    event = EventFactory()

    assert staff_client.get(reverse("community:event_create")).status_code == 403
    response = staff_client.post(reverse("community:event_invite", args=[event.pk]), {"segment": SegmentFactory().pk})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_the_owner_creates_an_event_in_the_shops_time_zone(owner_client):
    response = owner_client.post(
        reverse("community:event_create"),
        {
            "title": "Wine class",
            "starts_at": "2031-03-30T18:00",
            "ends_at": "2031-03-30T20:00",
            "place": "Back room",
            "capacity": 12,
            "max_guests": 1,
        },
    )

    from community.models import Event

    event = Event.objects.get()
    assert response.status_code == 302
    # 30 March 2031 is British Summer Time: 18:00 in London is 17:00 UTC.
    assert event.starts_at == datetime(2031, 3, 30, 17, 0, tzinfo=ZoneInfo("UTC"))


def test_an_event_ending_before_it_starts_is_refused_and_not_saved(owner_client):
    response = owner_client.post(
        reverse("community:event_create"),
        {
            "title": "Oops",
            "starts_at": "2031-03-30T18:00",
            "ends_at": "2031-03-30T17:00",
            "capacity": 5,
            "max_guests": 0,
        },
    )

    from community.models import Event

    assert response.status_code == 400
    assert "end after it starts" in response.content.decode()
    assert not Event.objects.exists()


@pytest.mark.parametrize("view", ["community:event_detail", "community:event_checkin"])
def test_the_event_pages_run_the_same_number_of_queries_for_1_and_20_guests(
    staff_client, django_assert_max_num_queries, view
):
    event = EventFactory(capacity=50)
    InvitationFactory(event=event, answer="going")
    with django_assert_max_num_queries(15) as one:
        staff_client.get(reverse(view, args=[event.pk]))
    InvitationFactory.create_batch(19, event=event, answer="going")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = staff_client.get(reverse(view, args=[event.pk]))
    assert response.status_code == 200


def test_the_community_home_runs_the_same_number_of_queries_for_1_and_10_events(
    owner_client, django_assert_max_num_queries
):
    EventFactory()
    SegmentFactory()
    with django_assert_max_num_queries(15) as one:
        owner_client.get(reverse("community:home"))
    EventFactory.create_batch(9)
    SegmentFactory.create_batch(9)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert owner_client.get(reverse("community:home")).status_code == 200
