"""Birthdays and other yearly dates, counted in the shop's time zone.

The one rule for 29 February: in a year without it, the day is celebrated on 28 February.
"""

import calendar
from datetime import date, timedelta

from django.db.models import Case, F, IntegerField, Q, Value, When


def occurrence_in(*, day: int, month: int, year: int) -> date:
    """The date a yearly (day, month) falls on in `year`; 29 February becomes 28 February in other years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_occurrence(*, day: int, month: int, today: date) -> date:
    """The next time (today included) the yearly date comes round."""
    this_year = occurrence_in(day=day, month=month, year=today.year)
    if this_year >= today:
        return this_year
    return occurrence_in(day=day, month=month, year=today.year + 1)


def birthday_countdown(*, day: int | None, month: int | None, year: int | None, today: date) -> str:
    """"turns 40 in 12 days", "birthday in 12 days", "birthday today!" — or "" without a birthday."""
    if not day or not month:
        return ""
    upcoming = next_occurrence(day=day, month=month, today=today)
    days = (upcoming - today).days
    if year:
        age = upcoming.year - year
        if days == 0:
            return f"turns {age} today!"
        return f"turns {age} tomorrow" if days == 1 else f"turns {age} in {days} days"
    if days == 0:
        return "birthday today!"
    return "birthday tomorrow" if days == 1 else f"birthday in {days} days"


def days_until(*, day: int, month: int, today: date) -> int:
    return (next_occurrence(day=day, month=month, today=today) - today).days


def yearly_pairs(*, start: date, days: int) -> list[tuple[int, int, int]]:
    """(days ahead, day, month) for each yearly date celebrated in [start, start + days).

    Wraps across the year end; 29 February is celebrated on 28 February in a non-leap year.
    """
    pairs = []
    for offset in range(days):
        current = start + timedelta(days=offset)
        pairs.append((offset, current.day, current.month))
        if current.month == 2 and current.day == 28 and not calendar.isleap(current.year):
            pairs.append((offset, 29, 2))
    return pairs


def yearly_runs(*, start: date, days: int) -> list[tuple[int, int, int, int, int | None]]:
    """The window as runs of consecutive days within one month: (month, first day, last day, days
    ahead of the first day, days ahead of a 29 February celebrated on the 28th or None).

    A week is one or two runs, so the SQL has a handful of range conditions instead of one per day
    (building and compiling that query was a large share of My day's time).
    """
    runs: list[list] = []
    for offset, d, m in yearly_pairs(start=start, days=days):
        if runs and runs[-1][0] == m and d == 29 and m == 2 and runs[-1][2] == 28 and runs[-1][4] is None \
                and offset == runs[-1][3] + 28 - runs[-1][1]:
            runs[-1][2], runs[-1][4] = 29, offset  # 29 February, celebrated on the 28th
        elif runs and runs[-1][0] == m and d == runs[-1][2] + 1 and runs[-1][4] is None:
            runs[-1][2] = d
        else:
            runs.append([m, d, d, offset, None])
    return [tuple(run) for run in runs]


def yearly_dates_between_q(*, start: date, days: int, prefix: str = "birthday") -> Q:
    """A filter for rows whose yearly date (`<prefix>_day`/`_month`) falls in [start, start + days).

    One OR of (month, day range) runs, served by the (month, day) index.
    """
    q = Q(pk__in=[])
    for m, first, last, _, _ in yearly_runs(start=start, days=days):
        q |= Q(**{f"{prefix}_month": m, f"{prefix}_day__gte": first, f"{prefix}_day__lte": last})
    return q


def days_ahead_expression(*, start: date, days: int, prefix: str = "birthday") -> Case:
    """SQL for "days until the yearly date" within the window, so the database can sort and limit."""
    whens = []
    for m, first, last, offset, leap_offset in yearly_runs(start=start, days=days):
        if leap_offset is not None:
            whens.append(When(Q(**{f"{prefix}_month": 2, f"{prefix}_day": 29}), then=Value(leap_offset)))
        whens.append(When(
            Q(**{f"{prefix}_month": m, f"{prefix}_day__gte": first, f"{prefix}_day__lte": last}),
            then=F(f"{prefix}_day") + Value(offset - first),
        ))
    return Case(*whens, default=Value(days), output_field=IntegerField())
