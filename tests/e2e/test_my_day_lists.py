from datetime import timedelta

from django.utils import timezone

from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, FollowUpFactory


def _busy_day(staff) -> None:
    today = timezone.localdate()
    for i in range(14):
        customer = CustomerFactory(
            owner=staff, first_name=f"Busy{i:02d}", birthday_day=today.day, birthday_month=today.month
        )
        FollowUpFactory(
            customer=customer,
            assignee=staff,
            due_date=today - timedelta(days=14 - i),
            reason=f"Ask how the new flat is going ({i})",
        )


def test_my_day_links_to_every_follow_up_and_birthday_on_a_laptop_and_a_phone(page, phone_page, staff):
    _busy_day(staff)
    for current, size in [(page, "laptop"), (phone_page, "phone")]:
        log_in(current, staff)
        current.goto("/")
        screenshot(current, f"my_day_busy_{size}")
        assert current.locator("#my-followups .followup-row").count() == 10
        current.click("#more-followups")
        current.wait_for_url("**/my-day/follow-ups/")
        screenshot(current, f"my_followups_{size}")
        assert current.locator("#my-followups .followup-row").count() == 14
        assert has_no_sideways_scroll(current)
        current.goto("/")
        current.click("#more-birthdays")
        current.wait_for_url("**/my-day/birthdays/")
        screenshot(current, f"my_birthdays_{size}")
        assert current.locator("#my-birthdays li").count() == 14
        assert has_no_sideways_scroll(current)
