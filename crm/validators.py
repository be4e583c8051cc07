"""Limits every app shares, declared once: the numbers, and the validators that enforce them.

Models put these on their fields (so ModelForms and full_clean() say why) and, where the
database can hold the rule, in a CHECK constraint too. A limit that the owner sets (the
largest amount, the day the shop opened) lives on ShopSettings and is checked by the
service that takes the value.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

# A keep-in-touch cadence longer than ten years means "never"; a billion days overflowed the date maths.
CADENCE_MIN_DAYS, CADENCE_MAX_DAYS = 1, 3650
# The earliest year a birthday (or other important date) may carry.
YEAR_MIN = 1900
# CSV imports: wider or larger files are refused at upload, before any row is read.
CSV_MAX_COLUMNS = 200
CSV_MAX_BYTES = 50 * 1024 * 1024
# Longest free text kept on a row (notes, newsletter bodies, event descriptions, templates).
TEXT_MAX_LENGTH = 10_000
NOTE_MAX_LENGTH = 2_000
# Events: planned at most this many years ahead (a typo in the year, not a real plan), never before the shop opened.
EVENT_MAX_YEARS_AHEAD = 5
# The ceiling of the owner's "largest amount" setting: what DecimalField(max_digits=10, decimal_places=2) holds.
AMOUNT_CEILING = 99_999_999


def cadence_validators() -> list:
    message = f"Give a number of days between {CADENCE_MIN_DAYS} and {CADENCE_MAX_DAYS:,} (ten years)."
    return [MinValueValidator(CADENCE_MIN_DAYS, message), MaxValueValidator(CADENCE_MAX_DAYS, message)]


def validate_header_line(value: str) -> None:
    """No line break: this text goes into an email header (a subject), where one starts a new header."""
    if any(ch in value for ch in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        raise ValidationError(
            "Keep this on one line: it goes into the email's subject, where a line break is not allowed.",
            code="line_break",
        )


def validate_single_line(value: str) -> None:
    """No line break in a name or a title typed in a one-line box (a crafted form could send one)."""
    if any(ch in value for ch in "\r\n"):
        raise ValidationError("Keep this on one line: a line break is not allowed here.", code="line_break")


def event_dates_errors(*, starts_at: datetime, ends_at: datetime, opened_on: date, today: date) -> dict[str, str]:
    """Why an event's start and end (shop-local dates and instants) are not sane; empty when they are.

    Not before the day the shop opened, at most EVENT_MAX_YEARS_AHEAD years after `today` (29 February
    becomes 28 February), and ending after it starts.
    """
    try:
        last = today.replace(year=today.year + EVENT_MAX_YEARS_AHEAD)
    except ValueError:  # 29 February, and the year five on is not a leap year
        last = today.replace(year=today.year + EVENT_MAX_YEARS_AHEAD, day=28)
    errors: dict[str, str] = {}
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment.date() < opened_on:
            errors[name] = (
                f"That is before the shop opened ({opened_on:%-d %B %Y}, in the shop settings): check the year."
            )
        elif moment.date() > last:
            errors[name] = (
                f"Plan events at most {EVENT_MAX_YEARS_AHEAD} years ahead (until {last:%-d %B %Y}): check the year."
            )
    if "ends_at" not in errors and ends_at <= starts_at:
        errors["ends_at"] = "The event must end after it starts."
    return errors
