"""The staff calendar feed: valid iCalendar, the 29 February rule, the shop's dates, and revoking it."""

from datetime import date

import pytest
from django.urls import reverse
from icalendar import Calendar

from automations.services import automation_get
from mailevents.models import CalendarFeed
from mailevents.services import calendar_feed_create
from tests.automations.conftest import at, shop_zone  # noqa: F401  (the fixture)
from tests.factories import (
    CustomerFactory,
    FollowUpFactory,
    ImportantDateFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def feed_entries(client, feed: CalendarFeed) -> dict[str, date]:
    response = client.get(reverse("mailevents:calendar_feed", args=[feed.token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)  # the icalendar parser: raises on an invalid feed
    return {str(e["summary"]): e.decoded("dtstart") for e in calendar.walk("VEVENT")}


@pytest.fixture
def december_2026(time_machine):
    time_machine.move_to(at("2026-12-02 09:00"), tick=False)


def test_a_29_february_birthday_shows_on_28_february_in_2027(client, staff, december_2026):
    CustomerFactory(
        first_name="Leap", last_name="Day", owner=staff, birthday_day=29, birthday_month=2, birthday_year=1996
    )
    feed = calendar_feed_create(user=staff)

    entries = feed_entries(client, feed)

    assert entries == {"Birthday: Leap Day (turns 31)": date(2027, 2, 28)}


def test_the_shop_may_keep_29_february_on_1_march_instead(client, staff, december_2026):
    birthday = automation_get("birthday")
    birthday.leap_day_on_march_1 = True
    birthday.save()
    CustomerFactory(first_name="Leap", last_name="Day", owner=staff, birthday_day=29, birthday_month=2)

    assert feed_entries(client, calendar_feed_create(user=staff)) == {"Birthday: Leap Day": date(2027, 3, 1)}


def test_it_lists_my_customers_birthdays_important_dates_and_open_follow_ups_only(client, staff, december_2026):
    mine = CustomerFactory(first_name="Ann", last_name="Lee", owner=staff, birthday_day=3, birthday_month=1)
    ImportantDateFactory(customer=mine, label="Wedding anniversary", date_day=14, date_month=6)
    FollowUpFactory(customer=mine, assignee=staff, reason="Ask about the shoes", due_date=date(2026, 12, 9))
    FollowUpFactory(customer=mine, assignee=staff, reason="Long overdue", due_date=date(2026, 11, 1))
    FollowUpFactory(customer=mine, assignee=staff, reason="Done already", due_date=date(2026, 12, 9), status="done")
    someone_elses = CustomerFactory(owner=StaffFactory(), birthday_day=4, birthday_month=1)
    FollowUpFactory(customer=someone_elses, assignee=someone_elses.owner, reason="Not mine")

    entries = feed_entries(client, calendar_feed_create(user=staff))

    assert entries == {
        "Birthday: Ann Lee": date(2027, 1, 3),
        "Wedding anniversary: Ann Lee": date(2027, 6, 14),
        "Ask about the shoes: Ann Lee": date(2026, 12, 9),
        # Overdue follow-ups sit on today (in the shop's zone) until they are done.
        "Overdue: Long overdue: Ann Lee": date(2026, 12, 2),
    }


def test_today_is_the_shops_today_not_utcs(client, staff, time_machine, shop_zone):  # noqa: F811
    shop_zone("Pacific/Auckland")  # 2 December 20:00 UTC is already 3 December there
    time_machine.move_to(at("2026-12-02 20:00"), tick=False)
    mine = CustomerFactory(owner=staff)
    FollowUpFactory(customer=mine, assignee=staff, reason="Overdue", due_date=date(2026, 11, 1))

    [day] = feed_entries(client, calendar_feed_create(user=staff)).values()

    assert day == date(2026, 12, 3)


def test_the_owner_can_have_the_whole_shops_calendar(client, owner, december_2026):
    staff_member = StaffFactory(first_name="Sam", last_name="Staff")
    customer = CustomerFactory(first_name="Bo", last_name="Bell", owner=staff_member)
    FollowUpFactory(customer=customer, assignee=staff_member, reason="Call back", due_date=date(2026, 12, 5))

    entries = feed_entries(client, calendar_feed_create(user=owner, scope="shop"))

    assert entries == {"Call back: Bo Bell [Sam Staff]": date(2026, 12, 5)}


def test_a_revoked_or_replaced_url_answers_404(client, staff):
    first = calendar_feed_create(user=staff)
    second = calendar_feed_create(user=staff)  # "make a new address"

    assert client.get(reverse("mailevents:calendar_feed", args=[first.token])).status_code == 404
    assert client.get(reverse("mailevents:calendar_feed", args=[second.token])).status_code == 200

    staff_client = client
    staff_client.force_login(staff)
    assert staff_client.post(reverse("mailevents:calendar_revoke")).status_code == 302
    staff_client.logout()
    assert client.get(reverse("mailevents:calendar_feed", args=[second.token])).status_code == 404
    assert client.get(reverse("mailevents:calendar_feed", args=["made-up"])).status_code == 404


def test_a_deactivated_staff_members_feed_stops(client, staff):
    feed = calendar_feed_create(user=staff)
    staff.is_active = False
    staff.save()
    assert client.get(reverse("mailevents:calendar_feed", args=[feed.token])).status_code == 404


def test_the_feed_costs_the_same_queries_for_1_and_30_customers(client, staff, django_assert_max_num_queries):
    feed = calendar_feed_create(user=staff)
    for n in range(30):
        customer = CustomerFactory(owner=staff, birthday_day=1 + n % 28, birthday_month=1 + n % 12)
        ImportantDateFactory(customer=customer)
        FollowUpFactory(customer=customer, assignee=staff)
    with django_assert_max_num_queries(8):
        feed_entries(client, feed)


def test_the_settings_page_shows_makes_and_revokes_the_address(staff_client, staff):
    page = staff_client.get(reverse("mailevents:calendar_settings"))
    assert page.status_code == 200 and "Make my address" in page.content.decode()

    assert staff_client.post(reverse("mailevents:calendar_settings"), {"scope": "mine"}).status_code == 302
    feed = CalendarFeed.objects.get(user=staff, revoked_at__isnull=True)
    page = staff_client.get(reverse("mailevents:calendar_settings")).content.decode()
    assert feed.token in page and "webcal://" in page

    staff_client.post(reverse("mailevents:calendar_revoke"))
    assert not CalendarFeed.objects.filter(user=staff, revoked_at__isnull=True).exists()


def test_staff_cannot_take_the_whole_shops_calendar(staff_client, staff):
    response = staff_client.post(reverse("mailevents:calendar_settings"), {"scope": "shop"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not CalendarFeed.objects.exists()


def test_the_settings_page_needs_a_login(client):
    response = client.get(reverse("mailevents:calendar_settings"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_calendar_app_may_check_the_feed_with_head(client, staff):
    feed = calendar_feed_create(user=staff)
    assert client.head(reverse("mailevents:calendar_feed", args=[feed.token])).status_code == 200
