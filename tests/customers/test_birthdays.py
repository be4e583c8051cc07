from datetime import date

import pytest

from customers.birthdays import birthday_countdown, next_occurrence, yearly_dates_between_q
from customers.models import Customer
from tests.factories import CustomerFactory


def test_a_birthday_with_a_year_says_how_old_they_turn():
    assert birthday_countdown(day=20, month=6, year=1986, today=date(2026, 6, 8)) == "turns 40 in 12 days"


def test_a_birthday_without_a_year_counts_the_days():
    assert birthday_countdown(day=20, month=6, year=None, today=date(2026, 6, 8)) == "birthday in 12 days"


def test_a_birthday_today_says_so():
    assert birthday_countdown(day=8, month=6, year=None, today=date(2026, 6, 8)) == "birthday today!"
    assert birthday_countdown(day=8, month=6, year=1990, today=date(2026, 6, 8)) == "turns 36 today!"


def test_the_countdown_crosses_the_year_end():
    # 30 December -> 2 January is 3 days, and they turn a year older in the new year.
    assert birthday_countdown(day=2, month=1, year=2000, today=date(2026, 12, 30)) == "turns 27 in 3 days"
    assert birthday_countdown(day=31, month=12, year=None, today=date(2026, 12, 31)) == "birthday today!"
    assert birthday_countdown(day=30, month=12, year=None, today=date(2026, 12, 31)) == "birthday in 364 days"


def test_29_february_counts_to_28_february_in_a_non_leap_year():
    assert next_occurrence(day=29, month=2, today=date(2027, 2, 1)) == date(2027, 2, 28)
    assert birthday_countdown(day=29, month=2, year=None, today=date(2027, 2, 28)) == "birthday today!"
    assert birthday_countdown(day=29, month=2, year=2000, today=date(2027, 2, 18)) == "turns 27 in 10 days"


def test_29_february_is_29_february_in_a_leap_year():
    assert next_occurrence(day=29, month=2, today=date(2028, 2, 28)) == date(2028, 2, 29)
    assert birthday_countdown(day=29, month=2, year=None, today=date(2028, 2, 28)) == "birthday tomorrow"


def test_after_28_february_a_leap_day_birthday_counts_to_next_year():
    # 1 March 2027: the next one is 29 February 2028 (a leap year).
    assert next_occurrence(day=29, month=2, today=date(2027, 3, 1)) == date(2028, 2, 29)


def test_no_birthday_gives_no_countdown():
    assert birthday_countdown(day=None, month=None, year=None, today=date(2026, 1, 1)) == ""


@pytest.mark.django_db
def test_the_week_filter_wraps_the_year_end_and_includes_leap_day_birthdays_on_28_february():
    new_year = CustomerFactory(birthday_day=2, birthday_month=1)
    old_year = CustomerFactory(birthday_day=29, birthday_month=12)
    CustomerFactory(birthday_day=10, birthday_month=1)
    leap = CustomerFactory(birthday_day=29, birthday_month=2)
    CustomerFactory(birthday_day=1, birthday_month=3)

    around_new_year = Customer.objects.filter(yearly_dates_between_q(start=date(2026, 12, 28), days=7))
    assert set(around_new_year) == {new_year, old_year}

    on_28_feb_2027 = Customer.objects.filter(yearly_dates_between_q(start=date(2027, 2, 28), days=1))
    assert set(on_28_feb_2027) == {leap}
    on_28_feb_2028 = Customer.objects.filter(yearly_dates_between_q(start=date(2028, 2, 28), days=1))
    assert set(on_28_feb_2028) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start, expected",
    [
        # 2027 is not a leap year: 29 February is celebrated on the 28th, one day ahead of the 27th.
        (date(2027, 2, 26), {(26, 2): 0, (27, 2): 1, (28, 2): 2, (29, 2): 2, (1, 3): 3, (2, 3): 4}),
        (date(2028, 2, 26), {(26, 2): 0, (27, 2): 1, (28, 2): 2, (29, 2): 3, (1, 3): 4}),
        (date(2026, 12, 29), {(29, 12): 0, (31, 12): 2, (1, 1): 3, (2, 1): 4}),
    ],
)
def test_days_ahead_counts_across_month_and_year_ends_and_leap_days(start, expected):
    from customers.birthdays import days_ahead_expression

    for day, month in [(26, 2), (27, 2), (28, 2), (29, 2), (1, 3), (2, 3), (29, 12), (31, 12), (1, 1), (2, 1)]:
        CustomerFactory(birthday_day=day, birthday_month=month)

    found = Customer.objects.filter(yearly_dates_between_q(start=start, days=5)).annotate(
        ahead=days_ahead_expression(start=start, days=5)
    )

    assert {(c.birthday_day, c.birthday_month): c.ahead for c in found} == expected


def test_an_empty_window_matches_nobody_and_counts_no_days(db):
    from customers.birthdays import days_ahead_expression

    CustomerFactory(birthday_day=26, birthday_month=11)
    found = Customer.objects.annotate(ahead=days_ahead_expression(start=date(2026, 11, 26), days=0))

    assert not Customer.objects.filter(yearly_dates_between_q(start=date(2026, 11, 26), days=0)).exists()
    assert [c.ahead for c in found] == [0]
