"""Birthdays and other yearly dates, counted in the shop's time zone.

The one rule for 29 February: in a year without it, the day is celebrated on 28 February.
"""

import calendar
from datetime import date, timedelta

from django.db.models import BooleanField, Expression, F, IntegerField


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
    """ "turns 40 in 12 days", "birthday in 12 days", "birthday today!" — or "" without a birthday."""
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


# A birthday this close is news (a badge on the card); a later one is a plain fact.
BIRTHDAY_NEAR_DAYS = 14


def days_until(*, day: int, month: int, today: date) -> int:
    return (next_occurrence(day=day, month=month, today=today) - today).days


def birthday_is_near(*, day: int | None, month: int | None, today: date) -> bool:
    """Within BIRTHDAY_NEAR_DAYS (today included); False without a birthday."""
    if not day or not month:
        return False
    return days_until(day=day, month=month, today=today) <= BIRTHDAY_NEAR_DAYS


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
        if (
            runs
            and runs[-1][0] == m
            and d == 29
            and m == 2
            and runs[-1][2] == 28
            and runs[-1][4] is None
            and offset == runs[-1][3] + 28 - runs[-1][1]
        ):
            runs[-1][2], runs[-1][4] = 29, offset  # 29 February, celebrated on the 28th
        elif runs and runs[-1][0] == m and d == runs[-1][2] + 1 and runs[-1][4] is None:
            runs[-1][2] = d
        else:
            runs.append([m, d, d, offset, None])
    return [tuple(run) for run in runs]


class _YearlyRunsSQL(Expression):
    """SQL over a yearly date's (month, day) columns, written straight from the window's runs.

    My day runs two such queries per view: building them as Q objects and When/Case expressions
    and compiling those cost several times the queries' own time in the database.
    """

    def __init__(self, *, start: date, days: int, prefix: str):
        super().__init__()
        self.runs, self.days = yearly_runs(start=start, days=days), days
        self.month, self.day = F(f"{prefix}_month"), F(f"{prefix}_day")

    def get_source_expressions(self):
        return [self.month, self.day]

    def set_source_expressions(self, exprs):
        self.month, self.day = exprs

    def _columns(self, compiler) -> tuple[str, str]:
        return compiler.compile(self.month)[0], compiler.compile(self.day)[0]


class YearlyDatesBetween(_YearlyRunsSQL):
    """True for rows whose yearly date falls in the window: an OR of (month, day range) runs, which the
    (month, day) indexes serve."""

    output_field = BooleanField()
    conditional = True

    def as_sql(self, compiler, connection):
        if not self.runs:
            return "1 = 0", []
        month, day = self._columns(compiler)
        sql = " OR ".join(f"({month} = %s AND {day} BETWEEN %s AND %s)" for _ in self.runs)
        return f"({sql})", [value for m, first, last, _, _ in self.runs for value in (m, first, last)]


class YearlyDaysAhead(_YearlyRunsSQL):
    """How many days until the yearly date, for rows in the window (else `days`)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection):
        if not self.runs:
            return "%s", [self.days]
        month, day = self._columns(compiler)
        whens, params = [], []
        for m, first, last, offset, leap_offset in self.runs:
            if leap_offset is not None:  # 29 February, celebrated on the 28th
                whens.append(f"WHEN {month} = 2 AND {day} = 29 THEN %s")
                params.append(leap_offset)
            whens.append(f"WHEN {month} = %s AND {day} BETWEEN %s AND %s THEN {day} + %s")
            params += [m, first, last, offset - first]
        return f"CASE {' '.join(whens)} ELSE %s END", [*params, self.days]


def yearly_dates_between_q(*, start: date, days: int, prefix: str = "birthday") -> YearlyDatesBetween:
    """A filter for rows whose yearly date (`<prefix>_day`/`_month`) falls in [start, start + days)."""
    return YearlyDatesBetween(start=start, days=days, prefix=prefix)


def days_ahead_expression(*, start: date, days: int, prefix: str = "birthday") -> YearlyDaysAhead:
    """SQL for "days until the yearly date" within the window, so the database can sort and limit."""
    return YearlyDaysAhead(start=start, days=days, prefix=prefix)
