"""The counter flow in a real browser: find, open the card, log, add a customer; phone sizes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer, ImportantDate
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory, TagFactory
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _friend(staff) -> Customer:
    """A customer with something in every part of the card."""
    referrer = CustomerFactory(first_name="Rita", last_name="Okafor")
    today = timezone.localdate()
    customer = CustomerFactory(
        first_name="Margaret",
        last_name="Thistlewood",
        preferred_name="Peggy",
        owner=staff,
        referred_by=referrer,
        birthday_day=(today + timedelta(days=12)).day,
        birthday_month=(today + timedelta(days=12)).month,
        birthday_year=1986,
        notes="Has a spaniel called Biscuit. Training for the Bath half marathon.",
        how_we_met="Came to the Christmas market",
        cadence_days=30,
        email="peggy.thistlewood@example.com",
        phone="+447700900123",
    )
    customer.favourite_products.add(ProductFactory(name="Oat latte"), ProductFactory(name="Almond croissant"))
    customer.tags.add(TagFactory(name="regular"), TagFactory(name="dog owner"))
    ImportantDate.objects.create(customer=customer, label="Wedding anniversary", date_day=14, date_month=9)
    FollowUpFactory(customer=customer, assignee=staff, reason="Ask how the half marathon went")
    now = timezone.now()
    touchpoint_log(
        customer=customer, logged_by=staff, kind="visit", note="Brought the dog", happened_at=now - timedelta(days=3)
    )
    touchpoint_log(
        customer=customer,
        logged_by=staff,
        kind="feedback",
        feedback_kind="praise",
        sentiment=1,
        note="Loved the new sourdough",
        happened_at=now - timedelta(days=10),
    )
    return customer


def test_staff_find_a_customer_open_the_card_and_log_a_purchase(page, staff):
    customer = _friend(staff)
    ProductFactory(name="Sourdough loaf")
    log_in(page, staff)

    page.fill("#nav-search-q", "thistle")
    page.wait_for_selector("#nav-search-results a:has-text('Peggy')")
    screenshot(page, "search_dropdown_laptop")
    page.click("#nav-search-results a:has-text('Peggy')")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert "turns 40 in 12 days" in page.inner_text("body")
    screenshot(page, "friend_card_laptop")

    page.click("label[for=kind-purchase]")
    page.fill("#tp-amount", "7.40")
    page.fill("#tp-products", "Sourdough loaf, Lemon tart")
    page.fill("#tp-note", "For the picnic")
    page.press("#tp-note", "Enter")

    first = page.locator("#timeline-entries li").first
    first.filter(has_text="For the picnic").wait_for()
    assert "£7.40" in first.inner_text() and "Lemon tart" in first.inner_text()
    touchpoint = Touchpoint.objects.get(kind="purchase")
    assert touchpoint.amount == Decimal("7.40") and touchpoint.logged_by == staff
    assert page.input_value("#tp-note") == ""  # a fresh form, ready for the next one
    assert "£7.40" in page.inner_text("#card-figures")  # the figures follow without a reload
    screenshot(page, "friend_card_after_purchase_laptop")


def test_a_plain_visit_is_one_click_a_note_and_enter(page, staff):
    customer = CustomerFactory(first_name="Vic")
    log_in(page, staff)
    page.goto(f"/customers/{customer.pk}/")

    page.click("label[for=kind-visit]")
    page.keyboard.type("Popped in to say hi")
    page.keyboard.press("Enter")

    page.locator("#timeline-entries li").filter(has_text="Popped in to say hi").wait_for()
    assert Touchpoint.objects.get().kind == "visit"


def test_a_bad_purchase_shows_an_error_in_place_and_saves_nothing(page, staff):
    customer = CustomerFactory()
    log_in(page, staff)
    page.goto(f"/customers/{customer.pk}/")

    page.click("label[for=kind-purchase]")
    page.press("#tp-note", "Enter")

    page.wait_for_selector("text=Give the amount or the products bought.")
    assert not Touchpoint.objects.exists()


def test_staff_add_a_customer(page, staff):
    referrer = CustomerFactory(first_name="Charles", last_name="Babbage")
    log_in(page, staff)
    page.goto("/customers/new/")
    screenshot(page, "customer_add_laptop")

    page.fill("#id_first_name", "Ada")
    page.fill("#id_last_name", "Lovelace")
    page.fill("#id_birthday_day", "30")
    page.select_option("#id_birthday_month", "2")
    page.click("button:has-text('Add customer')")
    page.wait_for_selector("text=February has no day 30.")
    screenshot(page, "customer_add_error_laptop")
    assert Customer.objects.count() == 1

    page.fill("#id_birthday_day", "29")
    page.fill("#id_favourite_products", "Flat white")
    page.fill("#referred-search", "babb")  # referred-by is chosen by searching
    page.click("#referred-results [data-pick-id]")
    assert page.inner_text("#referred-label") == "Charles Babbage"
    page.click("button:has-text('Add customer')")
    page.wait_for_selector("h1:has-text('Ada')")
    customer = Customer.objects.get(first_name="Ada")
    assert (customer.birthday_day, customer.birthday_month, customer.owner) == (29, 2, staff)
    assert customer.referred_by == referrer


def test_the_card_and_pages_fit_a_phone_without_sideways_scrolling(phone_page, staff):
    customer = _friend(staff)
    log_in(phone_page, staff)

    for path, name in [
        (f"/customers/{customer.pk}/", "friend_card_phone"),
        ("/", "my_day_phone"),
        ("/customers/", "customer_list_phone"),
        ("/customers/new/", "customer_add_phone"),
        (f"/customers/{customer.pk}/edit/", "customer_edit_phone"),
        ("/customers/search/?q=peg", "search_results_phone"),
    ]:
        phone_page.goto(path)
        screenshot(phone_page, name)
        assert has_no_sideways_scroll(phone_page), path

    phone_page.goto(f"/customers/{customer.pk}/")
    phone_page.fill("#nav-search-q", "peg")
    phone_page.wait_for_selector("#nav-search-results a")
    screenshot(phone_page, "search_dropdown_phone")
    assert has_no_sideways_scroll(phone_page)


def test_laptop_screenshots_of_the_other_pages(page, staff, owner):
    customer = _friend(staff)
    CustomerFactory.create_batch(5, owner=staff)
    log_in(page, staff)
    for path, name in [
        ("/", "my_day_laptop"),
        ("/customers/", "customer_list_laptop"),
        (f"/customers/{customer.pk}/edit/", "customer_edit_laptop"),
        ("/customers/search/?q=a", "search_results_laptop"),
    ]:
        page.goto(path)
        screenshot(page, name)

    page.context.clear_cookies()
    log_in(page, owner)
    page.goto("/settings/shop/")
    screenshot(page, "shop_settings_laptop")
    assert page.locator("h1").inner_text() == "Shop settings"


def test_shop_settings_on_a_phone(phone_page, owner):
    log_in(phone_page, owner)
    phone_page.goto("/settings/shop/")
    screenshot(phone_page, "shop_settings_phone")
    assert has_no_sideways_scroll(phone_page)


def test_my_day_ticks_a_follow_up_off_in_one_click(page, staff):
    customer = CustomerFactory(owner=staff, first_name="Tick")
    followup = FollowUpFactory(customer=customer, assignee=staff, reason="Ring about the cake order")
    log_in(page, staff)

    page.click(f"#followup-{followup.pk} button:has-text('Done')")

    page.wait_for_selector(f"#followup-{followup.pk}:has-text('Done.')")
    followup.refresh_from_db()
    assert followup.status == "done"


def test_older_appends_the_next_page_of_the_timeline_under_the_first(page, staff):
    customer = CustomerFactory(first_name="Ivo", owner=staff)
    now = timezone.now()
    for n in range(14):
        touchpoint_log(
            customer=customer,
            logged_by=staff,
            kind="visit",
            note=f"entry {n:02d}",
            happened_at=now - timedelta(hours=n),
        )
    log_in(page, staff)
    page.goto(f"/customers/{customer.pk}/")
    entries = page.locator("#timeline-entries .timeline-note")
    assert entries.count() == 10

    page.click("#timeline-older a:has-text('Older')")

    entries.nth(13).wait_for()
    assert entries.all_inner_texts() == [f"entry {n:02d}" for n in range(14)]
    assert page.locator("#timeline-older a").count() == 0  # the last page: no more "Older"
    assert page.url.endswith(f"/customers/{customer.pk}/")  # appended in place, not a new page
    screenshot(page, "friend_card_older_appended_laptop")
