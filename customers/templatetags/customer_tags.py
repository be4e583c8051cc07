"""Small display helpers for customer pages."""

import calendar
from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import number_format

register = template.Library()

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "JPY": "¥", "INR": "₹"}


@register.filter
def money(amount, currency: str = "GBP") -> str:
    """12.5, "GBP" -> "£12.50"; unknown currencies keep their code ("CHF 12.50")."""
    if amount in (None, ""):
        return ""
    value = number_format(Decimal(amount), 2, use_l10n=False, force_grouping=True)
    symbol = SYMBOLS.get((currency or "").upper())
    return f"{symbol}{value}" if symbol else f"{currency} {value}"


@register.filter
def month_name(month) -> str:
    try:
        return calendar.month_name[int(month)]
    except (TypeError, ValueError, IndexError):
        return ""


@register.filter
def join_names(value) -> str:
    """A NamesField value (a list after validation, text before) back into "a, b"."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value or ""


@register.filter
def datetime_local(value) -> str:
    """A datetime (or the text typed) as a datetime-local input value, in the active (shop) zone."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%dT%H:%M")
    return value or ""


@register.inclusion_tag("customers/includes/_badges.html")
def relationship_badges(customer, small: bool = False) -> dict:
    return {"customer": customer, "small": small}
