"""The "From the till" inbox in a real browser: a purchase nobody matched goes onto a card in two clicks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from tests.e2e.conftest import has_no_sideways_scroll, log_in
from tests.factories import CustomerFactory, StaffFactory
from tills.models import TillPurchase
from touchpoints.models import Touchpoint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _parked(**fields) -> TillPurchase:
    return TillPurchase.objects.create(
        **{
            "vendor": "shopify",
            "external_id": "450789469",
            "amount": Decimal("18.50"),
            "currency": "EUR",
            "products": ["Gift box"],
            "happened_at": timezone.now() - timedelta(hours=1),
            **fields,
        }
    )


def test_staff_add_the_buyer_as_a_new_customer_with_one_click(page):
    _parked(buyer_name="Élodie Martin", buyer_email="elodie@mail.example", buyer_phone="+33612345678")
    log_in(page, StaffFactory())

    page.click("nav >> text=Till")
    page.wait_for_url("**/till/inbox/")
    page.click("text=New customer")

    page.wait_for_selector("text=Added Élodie Martin")
    elodie = Customer.objects.get(email="elodie@mail.example")
    purchase = Touchpoint.objects.get(customer=elodie)
    assert (purchase.amount, purchase.currency, purchase.product_names) == (Decimal("18.50"), "EUR", ["Gift box"])
    assert "Nothing waiting" in page.inner_text("main")


def test_on_a_phone_staff_find_the_customer_and_attach_the_purchase(phone_page):
    page = phone_page
    _parked(buyer_name="", buyer_email="", buyer_phone="")
    ann = CustomerFactory(first_name="Ann", last_name="Martin")
    log_in(page, StaffFactory())

    page.goto("/till/inbox/")
    page.fill("main input[id^=attach-q-]", "martin")
    page.click("main button:has-text('Find')")
    page.click("button[aria-label='Attach to Ann Martin']")

    page.wait_for_selector("text=on Ann Martin's card")
    assert Touchpoint.objects.get(customer=ann).amount == Decimal("18.50")
    assert has_no_sideways_scroll(page)
