"""Shop-time arithmetic for the automations: days, quiet hours, working days (zoneinfo)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The planners and the sender ask for the shop's date of a moment as local_today(now, tz): one implementation.
from crm.clock import shop_today as local_today  # noqa: F401

# Customer emails go out only between these times, shop time.
QUIET_END = time(9, 0)  # sending may start
QUIET_START = time(19, 0)  # sending stops
# When a planner picks the time of day for a customer email.
GREETING_TIME = time(10, 0)
DIGEST_TIME = time(8, 0)


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in the shop's zone, as an aware datetime (UTC when stored)."""
    return datetime.combine(day, at, tzinfo=tz)


def in_sending_hours(moment: datetime, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    return QUIET_END <= local < QUIET_START


def next_sending_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` itself if within 09:00–19:00 shop time, else the next 09:00."""
    if in_sending_hours(moment, tz):
        return moment
    local = moment.astimezone(tz)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return local_datetime(day, QUIET_END, tz)


def clamp_to_sending_hours(moment: datetime, tz: ZoneInfo) -> datetime:
    """Keep the day, move the time of day into 09:00–19:00 (early → 09:00, late → 18:00)."""
    local = moment.astimezone(tz)
    if local.time() < QUIET_END:
        return local_datetime(local.date(), QUIET_END, tz)
    if local.time() >= QUIET_START:
        return local_datetime(local.date(), time(18, 0), tz)
    return moment


def next_working_day(day: date) -> date:
    """The next Monday–Friday after `day`."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
