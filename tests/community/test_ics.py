"""The reminder's .ics file: it parses, and its times are right on both sides of a DST change."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from automations.models import OutboundMessage
from community.ics import event_ics
from community.rendering import render_event_invitation, render_event_place, render_event_reminder
from tests.factories import EventFactory, InvitationFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")


def parsed_event(event):
    cal = Calendar.from_ical(event_ics(event=event, tz=LONDON))
    return cal, next(iter(cal.walk("VEVENT")))


@pytest.mark.parametrize(
    ("local_start", "utc_start"),
    [
        # Saturday before the clocks go forward (GMT, UTC+0) and the Sunday after (BST, UTC+1).
        (datetime(2027, 3, 27, 10, 0), datetime(2027, 3, 27, 10, 0, tzinfo=UTC)),
        (datetime(2027, 3, 28, 10, 0), datetime(2027, 3, 28, 9, 0, tzinfo=UTC)),
        # And when they go back in October.
        (datetime(2027, 10, 30, 19, 0), datetime(2027, 10, 30, 18, 0, tzinfo=UTC)),
        (datetime(2027, 10, 31, 19, 0), datetime(2027, 10, 31, 19, 0, tzinfo=UTC)),
    ],
)
def test_the_ics_start_is_the_shop_local_time_with_the_right_utc_offset(local_start, utc_start):
    starts = local_start.replace(tzinfo=LONDON)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2), title="Tasting", place="Shop")

    cal, vevent = parsed_event(event)

    dtstart = vevent.decoded("dtstart")
    assert dtstart.astimezone(UTC) == utc_start
    assert (dtstart.hour, dtstart.minute) == (local_start.hour, local_start.minute)
    assert vevent["dtstart"].params["TZID"] == "Europe/London"
    assert str(vevent["summary"]) == "Tasting" and str(vevent["location"]) == "Shop"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]


def test_an_event_across_the_night_the_clocks_change_lasts_its_real_length():
    # 00:30 GMT to 03:30 BST on 28 March 2027 is two hours, not three.
    starts = datetime(2027, 3, 28, 0, 30, tzinfo=LONDON)
    ends = datetime(2027, 3, 28, 3, 30, tzinfo=LONDON)
    event = EventFactory(starts_at=starts, ends_at=ends)

    _, vevent = parsed_event(event)

    assert vevent.decoded("dtend") - vevent.decoded("dtstart") == timedelta(hours=2) or (
        vevent.decoded("dtend").astimezone(UTC) - vevent.decoded("dtstart").astimezone(UTC) == timedelta(hours=2)
    )
    assert vevent.decoded("dtend").astimezone(UTC) == datetime(2027, 3, 28, 2, 30, tzinfo=UTC)


def test_the_reminder_email_carries_the_ics_and_the_invitation_carries_the_rsvp_link():
    invitation = InvitationFactory(guests=2, answer="going")
    message = OutboundMessage(
        customer=invitation.customer,
        kind="event_reminder",
        recipient_key=f"c:{invitation.customer_id}",
        occasion_key=f"event:{invitation.event_id}",
        planned_at=invitation.event.starts_at,
        context={"event_id": invitation.event_id, "invitation_id": invitation.pk},
    )

    reminder = render_event_reminder(message)
    invite = render_event_invitation(message)

    ((name, data, mimetype),) = reminder.attachments
    assert (name, mimetype) == ("event.ics", "text/calendar")
    assert Calendar.from_ical(data).walk("VEVENT")
    assert "your 2 guests" in reminder.text
    assert "/community/rsvp/" in invite.text and "/community/rsvp/" in invite.html
    assert invite.attachments == []


def test_the_moved_up_email_says_the_place_is_theirs_and_carries_the_ics():
    invitation = InvitationFactory(answer="going")
    message = OutboundMessage(
        customer=invitation.customer,
        kind="event_place",
        recipient_key=f"c:{invitation.customer_id}",
        occasion_key=f"event:{invitation.event_id}",
        planned_at=invitation.event.starts_at,
        context={"event_id": invitation.event_id, "invitation_id": invitation.pk},
    )

    email = render_event_place(message)

    assert email.subject.startswith("Good news")
    assert "first in line" in email.text and "/community/rsvp/" in email.text
    assert [a[0] for a in email.attachments] == ["event.ics"]


def test_the_invitation_gives_the_time_in_the_shops_zone():
    starts = datetime(2031, 7, 1, 17, 0, tzinfo=UTC)  # 18:00 in London (BST)
    invitation = InvitationFactory(event=EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2)))
    message = OutboundMessage(
        customer=invitation.customer,
        kind="event_invitation",
        recipient_key=f"c:{invitation.customer_id}",
        occasion_key=f"event:{invitation.event_id}",
        planned_at=starts,
        context={"event_id": invitation.event_id, "invitation_id": invitation.pk},
    )

    assert "Tuesday 1 July 2031, 18:00–20:00" in render_event_invitation(message).text
