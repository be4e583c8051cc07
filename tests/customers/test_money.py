from decimal import Decimal

import pytest

from customers.templatetags.customer_tags import money


@pytest.mark.parametrize("amount, currency, shown", [
    (Decimal("12.5"), "GBP", "£12.50"),
    (Decimal("94818.2"), "GBP", "£94,818.20"),
    (Decimal("1234567.891"), "EUR", "€1,234,567.89"),
    (0, "USD", "$0.00"),
    ("999.99", "gbp", "£999.99"),
    (Decimal("12.5"), "CHF", "CHF 12.50"),
    (None, "GBP", ""),
    ("", "GBP", ""),
])
def test_money_shows_two_decimals_thousands_and_the_currency(amount, currency, shown):
    assert money(amount, currency) == shown
