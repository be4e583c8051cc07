from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.humanize.templatetags.humanize import naturaltime

from customers.templatetags.customer_tags import seen_ago


@pytest.mark.parametrize(
    "ago",
    [
        timedelta(seconds=0),
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(hours=3),
        timedelta(days=1),
        timedelta(days=1, hours=5),
        timedelta(days=9),
        timedelta(days=40),
        timedelta(days=59, hours=23),
        timedelta(days=400),
        timedelta(days=800, hours=1),
        -timedelta(days=2),
    ],
)
def test_seen_ago_reads_exactly_like_naturaltime(ago):
    with time_machine.travel(datetime(2026, 3, 31, 10, 30, tzinfo=UTC), tick=False):
        moment = datetime.now(UTC) - ago

        assert seen_ago(moment) == naturaltime(moment)


@pytest.mark.parametrize(
    "now, seen",
    [
        (datetime(2026, 3, 31, 10, 30, tzinfo=UTC), datetime(2026, 1, 31, 11, 0, tzinfo=UTC)),  # a 31st, short months
        (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2024, 2, 29, 9, 0, tzinfo=UTC)),  # from 29 February
        (datetime(2027, 1, 2, 0, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, tzinfo=UTC)),  # over the year end
        (
            datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
            datetime(2025, 7, 15, 12, 0, 1, tzinfo=UTC),
        ),  # a second short of a year
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), datetime(2016, 7, 1, 3, 0, tzinfo=UTC)),
    ],
)
def test_seen_ago_reads_like_naturaltime_across_month_ends_and_leap_days(now, seen):
    with time_machine.travel(now, tick=False):
        assert seen_ago(seen) == naturaltime(seen)


def test_seen_ago_of_nothing_is_nothing():
    assert seen_ago(None) is None and seen_ago("") == ""
