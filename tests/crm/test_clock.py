"""crm.clock.shop_today: the shop's date, whatever UTC says."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.clock import shop_today
from crm.models import ShopSettings


def test_new_years_eve_in_utc_is_already_new_years_day_in_auckland():
    moment = datetime(2026, 12, 31, 12, 30, tzinfo=UTC)
    assert shop_today(moment, ZoneInfo("Pacific/Auckland")).isoformat() == "2027-01-01"
    assert shop_today(moment, ZoneInfo("Europe/London")).isoformat() == "2026-12-31"


def test_the_night_the_clocks_go_back_is_still_one_day_in_new_york():
    # 1 November 2026, 05:30 UTC is 01:30 in New York for the second time (EST again).
    assert (
        shop_today(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), ZoneInfo("America/New_York")).isoformat() == "2026-11-01"
    )
    assert (
        shop_today(datetime(2026, 11, 1, 3, 59, tzinfo=UTC), ZoneInfo("America/New_York")).isoformat() == "2026-10-31"
    )


@pytest.mark.django_db
def test_without_arguments_it_is_now_in_the_shops_own_zone():
    ShopSettings.objects.filter(pk=1).update(time_zone="Pacific/Kiritimati")  # UTC+14
    with time_machine.travel(datetime(2028, 2, 28, 11, 0, tzinfo=UTC), tick=False):
        assert shop_today().isoformat() == "2028-02-29"
