"""A staff member gets their calendar address in a real browser, subscribes (fetches it), and revokes it."""

import re

import pytest
from icalendar import Calendar

from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_staff_make_their_calendar_address_from_the_account_menu_and_revoke_it(page):
    staff = StaffFactory(first_name="Sam")
    CustomerFactory(first_name="Ann", last_name="Lee", owner=staff, birthday_day=3, birthday_month=1)
    log_in(page, staff)

    page.get_by_role("button", name=re.compile(r"^Account")).click()
    page.click("text=My calendar")
    page.wait_for_url("**/calendar/")
    page.click("button:has-text('Make my address')")
    page.locator("#feed-url").wait_for()
    address = page.input_value("#feed-url")
    screenshot(page, "calendar-settings-laptop")

    # What a phone does when it subscribes: fetch the address, with no login.
    fetched = page.context.request.get(address, headers={"Cookie": ""})
    assert fetched.status == 200
    entries = [str(e["summary"]) for e in Calendar.from_ical(fetched.body()).walk("VEVENT")]
    assert entries == ["Birthday: Ann Lee"]

    page.click("button:has-text('Revoke this address')")
    page.locator("text=Calendar address revoked").wait_for()
    assert page.context.request.get(address).status == 404


def test_the_calendar_page_fits_a_phone(phone_page):
    staff = StaffFactory()
    log_in(phone_page, staff)
    phone_page.goto("/calendar/")
    phone_page.click("button:has-text('Make my address')")
    phone_page.locator("#feed-url").wait_for()
    assert has_no_sideways_scroll(phone_page)
    screenshot(phone_page, "calendar-settings-phone")
