"""An event's start and end are sane: not before the shop opened, at most five years ahead, ending after it starts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from community.services import event_save
from crm.models import ShopSettings

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _save(owner, starts: datetime, ends: datetime):
    return event_save(saved_by=owner, title="Tasting", starts_at=starts, ends_at=ends, capacity=10, max_guests=2)


def test_an_event_before_the_day_the_shop_opened_is_refused_by_the_service(owner, time_machine):
    time_machine.move_to("2026-06-10 12:00:00+01:00", tick=False)
    ShopSettings.objects.filter(pk=1).update(opened_on="2020-03-01")
    with pytest.raises(ValidationError) as refused:
        _save(owner, datetime(2020, 2, 29, 18, tzinfo=LONDON), datetime(2020, 2, 29, 20, tzinfo=LONDON))
    assert "before the shop opened (1 March 2020" in refused.value.message_dict["starts_at"][0]
    assert _save(owner, datetime(2020, 3, 1, 0, 30, tzinfo=LONDON), datetime(2020, 3, 1, 2, tzinfo=LONDON)).pk


def test_the_opening_day_is_the_shops_date_not_utcs(owner, time_machine):
    time_machine.move_to("2026-06-10 12:00:00+01:00", tick=False)
    ShopSettings.objects.filter(pk=1).update(opened_on="2020-07-01", time_zone="Europe/London")
    # 00:30 on 1 July in London is still 30 June in UTC: the shop's date counts.
    starts = datetime(2020, 7, 1, 0, 30, tzinfo=LONDON)
    assert _save(owner, starts, datetime(2020, 7, 1, 2, tzinfo=LONDON)).pk


def test_five_years_ahead_from_29_february_ends_on_28_february(owner, time_machine):
    time_machine.move_to("2028-02-29 12:00:00+00:00", tick=False)
    assert _save(owner, datetime(2033, 2, 28, 10, tzinfo=LONDON), datetime(2033, 2, 28, 23, tzinfo=LONDON)).pk
    with pytest.raises(ValidationError) as refused:
        _save(owner, datetime(2033, 2, 28, 10, tzinfo=LONDON), datetime(2033, 3, 1, 1, tzinfo=LONDON))
    assert refused.value.message_dict["ends_at"] == [
        "Plan events at most 5 years ahead (until 28 February 2033): check the year."
    ]


def test_an_event_ending_when_it_starts_is_refused(owner, time_machine):
    time_machine.move_to("2026-06-10 12:00:00+01:00", tick=False)
    moment = datetime(2026, 7, 1, 10, tzinfo=LONDON)
    with pytest.raises(ValidationError) as refused:
        _save(owner, moment, moment)
    assert refused.value.message_dict == {"ends_at": ["The event must end after it starts."]}
