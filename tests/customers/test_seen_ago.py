from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.humanize.templatetags.humanize import naturaltime

from customers.templatetags.customer_tags import seen_ago


@pytest.mark.parametrize("ago", [
    timedelta(seconds=0), timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=3), timedelta(days=1),
    timedelta(days=1, hours=5), timedelta(days=9), timedelta(days=40), timedelta(days=59, hours=23),
    timedelta(days=400), timedelta(days=800, hours=1), -timedelta(days=2),
])
def test_seen_ago_reads_exactly_like_naturaltime(ago):
    with time_machine.travel(datetime(2026, 3, 31, 10, 30, tzinfo=UTC), tick=False):
        moment = datetime.now(UTC) - ago

        assert seen_ago(moment) == naturaltime(moment)


def test_seen_ago_of_nothing_is_nothing():
    assert seen_ago(None) is None and seen_ago("") == ""
