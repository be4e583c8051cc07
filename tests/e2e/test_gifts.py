"""Gift codes in a real browser: the counter and the friend-card panel, at laptop and phone size."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from gifts.models import GiftCode
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, GiftCodeFactory, ProductFactory, StaffFactory
from touchpoints.models import Touchpoint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~1 s per user (and per log-in) on a busy 2-core machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _card_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def test_at_the_counter_staff_type_a_code_see_whose_it_is_and_redeem_it_in_one_click(page):
    staff = StaffFactory(first_name="Sam")
    gift = GiftCodeFactory(
        customer__first_name="Amara", customer__last_name="Okafor", kind="amount", value=Decimal("5")
    )
    log_in(page, staff)
    page.click("text=Redeem a gift")
    page.wait_for_url("**/gifts/redeem/")
    # Typed the way a customer reads it out: small letters, a space in the middle.
    page.fill("#id_code", f"{gift.code[:4].lower()} {gift.code[4:].lower()}")
    page.locator("#preview-card").wait_for()
    assert "Amara Okafor" in page.inner_text("#preview-card")
    assert "£5 off" in page.inner_text("#preview-card")
    screenshot(page, "gifts-redeem-preview-laptop")
    page.click("#redeem-button")
    page.locator("#redeem-confirmation").wait_for()
    assert f"Redeemed {gift.display_code}: £5 off" in page.inner_text("#redeem-confirmation")
    assert page.input_value("#id_code") == ""  # ready for the next customer
    screenshot(page, "gifts-redeem-done-laptop")
    gift.refresh_from_db()
    assert gift.redeemed_by == staff
    assert Touchpoint.objects.filter(customer=gift.customer, kind="gift").count() == 1

    # The same code again: a clear message, shown in place, and nothing changes.
    page.fill("#id_code", gift.code)
    page.click("#redeem-button")
    page.locator("#redeem-error").wait_for()
    assert "already redeemed" in page.inner_text("#redeem-error")
    assert "by Sam" in page.inner_text("#redeem-error")
    screenshot(page, "gifts-redeem-refused-laptop")
    assert Touchpoint.objects.filter(customer=gift.customer, kind="gift").count() == 1


def test_the_redeem_page_fits_a_phone_and_says_why_an_expired_code_will_not_work(phone_page):
    gift = GiftCodeFactory(
        customer__first_name="Beatriz",
        customer__last_name="Nascimento-Oliveira",
        expires_on=timezone.localdate() - timedelta(days=2),
    )
    log_in(phone_page, StaffFactory())
    phone_page.goto(reverse("gifts:redeem"))
    phone_page.fill("#id_code", gift.code)
    phone_page.locator("#preview-card").wait_for()
    assert "has expired" in phone_page.inner_text("#preview-card")
    assert has_no_sideways_scroll(phone_page)
    screenshot(phone_page, "gifts-redeem-expired-phone")
    phone_page.click("#redeem-button")
    phone_page.locator("#redeem-error").wait_for()
    assert has_no_sideways_scroll(phone_page)
    gift.refresh_from_db()
    assert gift.redeemed_at is None


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_staff_issue_a_gift_from_the_friend_card_and_see_it_in_the_panel(request, size):
    page = request.getfixturevalue("page" if size == "laptop" else "phone_page")
    staff = StaffFactory()
    customer = CustomerFactory(first_name="Amara", last_name="Okafor")
    ProductFactory(name="Flat white")
    GiftCodeFactory(customer=customer, kind="percent", value=Decimal("10"), source="birthday")
    GiftCodeFactory(customer=customer, expires_on=timezone.localdate() - timedelta(days=40))
    GiftCodeFactory(customer=customer, redeemed_at=timezone.now() - timedelta(days=3), redeemed_by=staff)
    log_in(page, staff)
    page.goto(_card_url(customer))
    panel = page.locator(f"#gift-panel-{customer.pk}")
    panel.wait_for()
    panel.locator("summary", has_text="Issue a gift").click()
    # Bad input first: the message shows in the panel and nothing is issued.
    panel.locator("select[name=gift-kind]").select_option("percent")
    panel.locator("input[name=gift-value]").fill("150")
    panel.locator("button", has_text="Issue the code").click()
    page.locator(f"#gift-panel-{customer.pk} .invalid-feedback").wait_for()
    assert "at most 100" in page.locator(f"#gift-panel-{customer.pk}").inner_text()
    # What they typed is still there, marked invalid, so it can be corrected.
    assert page.locator(f"#gift-panel-{customer.pk} input[name=gift-value].is-invalid").input_value() == "150"
    assert GiftCode.objects.filter(customer=customer).count() == 3
    screenshot(page, f"gifts-card-panel-issue-error-{size}")
    panel = page.locator(f"#gift-panel-{customer.pk}")
    panel.locator("select[name=gift-kind]").select_option("product")
    panel.locator("select[name=gift-product]").select_option(label="Flat white")
    panel.locator("button", has_text="Issue the code").click()
    page.locator(f"#gift-panel-{customer.pk} .alert-success").wait_for()
    assert "a free Flat white" in page.locator(f"#gift-panel-{customer.pk} .alert-success").inner_text()
    assert GiftCode.objects.filter(customer=customer, kind="product").count() == 1
    page.locator(f"#gift-panel-{customer.pk} details summary", has_text="Used and expired").click()
    assert has_no_sideways_scroll(page)
    screenshot(page, f"gifts-card-panel-{size}")


def test_the_redeem_button_on_the_card_redeems_after_a_confirm(page):
    staff = StaffFactory()
    gift = GiftCodeFactory(customer__first_name="Amara")
    log_in(page, staff)
    page.goto(_card_url(gift.customer))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#gift-panel-{gift.customer_id} button", has_text="Redeem").click()
    page.locator(f"#gift-panel-{gift.customer_id} .alert-success").wait_for()
    gift.refresh_from_db()
    assert gift.redeemed_by == staff
