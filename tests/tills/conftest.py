import pytest

from tests.tills.helpers import SHOPIFY_SECRET, SQUARE_KEY, SQUARE_URL
from tills.models import TillConnection


@pytest.fixture
def square(db):
    return TillConnection.objects.create(vendor="square", secret=SQUARE_KEY, notification_url=SQUARE_URL)


@pytest.fixture
def shopify(db):
    return TillConnection.objects.create(vendor="shopify", secret=SHOPIFY_SECRET)


@pytest.fixture
def at_square_time(time_machine):
    """The clock when the recorded Square payment was sent (its retries are accepted for 25 hours)."""
    time_machine.move_to("2026-11-30T10:15:05Z", tick=False)


@pytest.fixture
def at_shopify_time(time_machine):
    time_machine.move_to("2026-11-30T15:10:00Z", tick=False)
