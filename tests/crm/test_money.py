"""crm.money.money_format: the one way amounts are shown (the |money filter and gift values use it)."""

from decimal import Decimal

import pytest

from crm.money import money_format
from customers.templatetags.customer_tags import money
from gifts.services import gift_code_value_display
from tests.factories import GiftCodeFactory


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        (Decimal("12.5"), "GBP", "£12.50"),
        (Decimal("94818.2"), "GBP", "£94,818.20"),
        (Decimal("1234567.891"), "EUR", "€1,234,567.89"),
        (0, "USD", "$0.00"),
        ("999.99", "gbp", "£999.99"),
        (Decimal("12.5"), "CHF", "CHF 12.50"),
        (None, "GBP", ""),
        ("", "GBP", ""),
    ],
)
def test_money_shows_two_decimals_thousands_and_the_currency(amount, currency, shown):
    assert money_format(amount, currency) == shown
    assert money(amount, currency) == shown  # the template filter is the same function


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        (Decimal("5"), "GBP", "£5"),
        (Decimal("5.00"), "EUR", "€5"),
        (Decimal("7.5"), "GBP", "£7.50"),
        (Decimal("2500"), "CHF", "CHF 2,500"),
    ],
)
def test_a_whole_amount_may_drop_its_pence(amount, currency, shown):
    assert money_format(amount, currency, whole=True) == shown


@pytest.mark.django_db
def test_a_gift_codes_value_uses_the_same_format():
    gift = GiftCodeFactory(kind="amount", value=Decimal("2500"))
    assert gift_code_value_display(gift, currency="GBP") == "£2,500 off"
    assert gift_code_value_display(gift, currency="CHF") == "CHF 2,500 off"
