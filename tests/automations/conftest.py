from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm.models import ShopSettings

UTC = ZoneInfo("UTC")


def at(text: str, zone: str = "UTC") -> datetime:
    """'2027-06-13 12:00' in `zone`, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


@pytest.fixture
def shop_zone(db):
    """shop_zone("America/New_York") sets the shop's time zone."""

    def set_zone(name: str) -> ShopSettings:
        shop = ShopSettings.load()
        shop.time_zone = name
        shop.save()
        return shop

    return set_zone
