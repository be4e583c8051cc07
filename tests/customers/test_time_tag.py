from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from customers.templatetags.customer_tags import time_tag

DJANGO = Template(
    '<time class="small text-body-secondary" datetime="{{ when|date:\'c\' }}">{{ when|date:"D j M Y, H:i" }}</time>'
)


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Pacific/Auckland", "UTC"])
@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # London: the moment before the clocks go forward
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, 15, 123456, tzinfo=UTC),  # New York: the autumn change
        datetime(2027, 1, 1, 0, 5, tzinfo=UTC),  # a new year somewhere, not yet elsewhere
        datetime(2028, 2, 29, 23, 59, tzinfo=UTC),
    ],
)
def test_time_tag_reads_like_djangos_date_filters_in_every_zone(zone, when):
    # Whole seconds in the datetime attribute: HTML allows at most three digits of a fraction.
    with timezone.override(zone):
        assert time_tag(when) == DJANGO.render(Context({"when": when.replace(microsecond=0)}))
        assert "." not in time_tag(when).split('datetime="')[1].split('"')[0]


@pytest.mark.parametrize("language", ["en-gb", "en-us", "fr", "de"])
def test_time_tag_names_days_and_months_in_the_active_language(language):
    # Every month and every weekday: English names are the filter's own, other languages Django's.
    with translation.override(language):
        for month in range(1, 13):
            when = datetime(2026, month, month + 3, 9, 30, tzinfo=UTC)
            assert time_tag(when) == DJANGO.render(Context({"when": when}))


def test_time_tag_of_nothing_is_nothing():
    assert time_tag(None) == "" and time_tag("") == ""
